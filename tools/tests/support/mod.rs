//! Shared helpers for the tools integration tests.

pub mod fake_broker;
