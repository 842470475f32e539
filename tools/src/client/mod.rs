//! A small Kafka client over `wire`, just enough for the console tools: cluster metadata,
//! a batching producer with Kafka's partitioner, and a direct-assignment fetcher.

pub mod murmur2;
pub mod cluster;
pub mod error;
pub mod log;
pub mod produce_request;
pub mod producer;
pub mod props;
pub mod consumer;
pub mod formatter;
pub mod records;
pub mod group_protocol;
pub mod group_assignor;
pub mod group_admin;
pub mod group;
pub mod group_legacy;
pub mod group_consumer;
pub mod group_heartbeat;
pub mod group_list_offsets;
