//! Integration-style tests of Log and LogManager.
