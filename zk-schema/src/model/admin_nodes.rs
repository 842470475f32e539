//! `/admin/reassign_partitions`, `/admin/preferred_replica_election` and ISR change notifications.

use serde::{Deserialize, Serialize};

use super::{decode_json, encode_json};
use crate::error::Result;

/// One target replica list of `/admin/reassign_partitions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReassignmentEntry {
    /// Topic name.
    pub topic: String,
    /// Partition id.
    pub partition: i32,
    /// Target replicas.
    pub replicas: Vec<i32>,
    /// Optional log dirs (tool input only; Kafka never writes them to the znode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_dirs: Option<Vec<String>>,
}

/// `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[4,5,6]}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReassignPartitionsZNode {
    /// Always 1.
    pub version: i32,
    /// Target assignments.
    pub partitions: Vec<ReassignmentEntry>,
}

impl ReassignPartitionsZNode {
    /// JSON bytes as Kafka writes them.
    pub fn encode(&self) -> Vec<u8> {
        encode_json(self)
    }
    /// Parse.
    pub fn decode(path: &str, data: &[u8]) -> Result<Self> {
        decode_json(path, data)
    }
}

/// A `{"topic":..,"partition":..}` reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PartitionRef {
    /// Topic name.
    pub topic: String,
    /// Partition id.
    pub partition: i32,
}

/// `{"version":1,"partitions":[{"topic":"t","partition":0}]}` — used by
/// `/admin/preferred_replica_election` and `/isr_change_notification/isr_change_N`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionsZNode {
    /// Always 1.
    #[serde(default = "one")]
    pub version: i32,
    /// The partitions concerned.
    pub partitions: Vec<PartitionRef>,
}

fn one() -> i32 {
    1
}

impl PartitionsZNode {
    /// A version-1 node for these partitions.
    pub fn new(partitions: Vec<PartitionRef>) -> Self {
        PartitionsZNode { version: 1, partitions }
    }
    /// JSON bytes as Kafka writes them.
    pub fn encode(&self) -> Vec<u8> {
        encode_json(self)
    }
    /// Parse.
    pub fn decode(path: &str, data: &[u8]) -> Result<Self> {
        decode_json(path, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reassign_golden() {
        let json = r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[4,5,6]}]}"#;
        let node = ReassignPartitionsZNode::decode("p", json.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(node.encode()).unwrap(), json);
    }

    #[test]
    fn partitions_golden() {
        let json = r#"{"version":1,"partitions":[{"topic":"t","partition":0},{"topic":"t","partition":1}]}"#;
        let node = PartitionsZNode::decode("p", json.as_bytes()).unwrap();
        assert_eq!(node.partitions.len(), 2);
        assert_eq!(String::from_utf8(node.encode()).unwrap(), json);
        // The preferred-election tool's input file has no version.
        assert!(PartitionsZNode::decode("p", br#"{"partitions":[{"topic":"t","partition":0}]}"#).is_ok());
    }
}
