//! Serde types for every JSON payload Kafka 2.8 stores in ZooKeeper.
//!
//! Field names, JSON types (numbers vs. strings) and versions follow Kafka exactly; readers accept any
//! key order and older versions. Each type has `encode()`/`decode()` so callers never touch serde_json
//! directly and decoding errors always name the znode.

mod admin_nodes;
mod broker;
mod cluster;
mod config;
mod controller;
mod log_dir_event;
mod partition_state;
mod topic;

pub use admin_nodes::{PartitionRef, PartitionsZNode, ReassignPartitionsZNode, ReassignmentEntry};
pub use broker::{BrokerEndpoint, BrokerRegistration};
pub use cluster::{ClusterIdZNode, FeatureZNode, ProducerIdBlockZNode};
pub use config::{ConfigChangeNotification, ConfigEntityZNode};
pub use controller::{ControllerEpoch, ControllerZNode};
pub use log_dir_event::{LogDirEventNotification, LOG_DIR_FAILURE_EVENT};
pub use partition_state::PartitionStateZNode;
pub use topic::TopicZNode;

use crate::error::{Result, ZkError};

/// Decode JSON stored at `path`, naming the path on failure.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(path: &str, data: &[u8]) -> Result<T> {
    serde_json::from_slice(data).map_err(|e| ZkError::malformed(path, e))
}

/// Encode compact JSON (Kafka's Jackson output has no whitespace).
pub(crate) fn encode_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Serializing plain structs and maps of strings/numbers cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}
