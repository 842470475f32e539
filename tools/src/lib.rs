//! Command-line tools of the Kafka re-implementation. The library part holds code shared
//! by the binaries in `src/bin/` (console producer/consumer today, admin tools later).

pub mod cli;
pub mod client;
pub mod console;
pub mod configs;
pub mod topics;
pub mod reassign;
pub mod election;
pub mod consumer_groups;
