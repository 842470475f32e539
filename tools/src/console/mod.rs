//! Argument handling and line parsing of the console producer and consumer, kept in the
//! library so it can be unit-tested; the binaries only wire these to stdin/stdout.

pub mod consumer_args;
pub mod line_reader;
pub mod producer_args;
pub mod usage;
