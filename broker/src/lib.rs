//! The Kafka broker (ZooKeeper mode).
//!
//! Layout follows Kafka's `core` so a Kafka engineer finds their way:
//! * [`config`] — `KafkaConfig`: `server.properties` with Kafka 2.8's keys and defaults.
//! * [`server`] — `KafkaServer`: the startup and shutdown sequence (ZooKeeper, registration, log
//!   manager, controller, socket server).
//! * [`network`] — `SocketServer`: listeners, framing, per-connection ordering, zero-copy responses.
//! * [`apis`] — `KafkaApis`: one module per request type.
//! * [`replica_manager`], [`partition`], [`purgatory`] — the data path: produce, fetch, leadership.
//! * [`metadata_cache`] — what UpdateMetadata told this broker about the cluster.
//! * [`dynamic_config`] — `/config/changes` processing (topic overrides).
//! * [`errors`] — the one place where internal errors become Kafka error codes.

pub mod alter_isr_manager;
pub mod apis;
pub mod config;
pub mod coordinator;
pub mod dynamic_config;
pub mod dynamic_config_broker;
pub mod errors;
pub mod log_codec;
pub mod metadata_cache;
pub mod network;
pub mod partition;
pub mod purgatory;
pub mod replica_fetcher;
pub mod replica_manager;
pub mod replication_quota;
pub mod server;
pub mod topic_configs;
