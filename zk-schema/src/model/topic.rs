//! `/brokers/topics/<T>`: the replica assignment of a topic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{decode_json, encode_json};
use crate::error::Result;

/// `{"version":3,"partitions":{"0":[1,2]},"adding_replicas":{},"removing_replicas":{},"topic_id":"..."}`.
///
/// The first replica of each list is the preferred leader. `adding_replicas`/`removing_replicas` list
/// only partitions under reassignment. Versions 1 and 2 (without the optional keys) are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicZNode {
    /// 3 when a topic id is present, else 2.
    pub version: i32,
    /// partition -> ordered replica list.
    pub partitions: BTreeMap<i32, Vec<i32>>,
    /// Replicas being added by a reassignment, per partition.
    #[serde(default)]
    pub adding_replicas: BTreeMap<i32, Vec<i32>>,
    /// Replicas being removed by a reassignment, per partition.
    #[serde(default)]
    pub removing_replicas: BTreeMap<i32, Vec<i32>>,
    /// The topic's 22-character base64 id (IBP >= 2.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_id: Option<String>,
}

impl TopicZNode {
    /// A new topic's node with the given assignment and id.
    pub fn new(partitions: BTreeMap<i32, Vec<i32>>, topic_id: Option<String>) -> Self {
        let version = if topic_id.is_some() { 3 } else { 2 };
        TopicZNode {
            version,
            partitions,
            adding_replicas: BTreeMap::new(),
            removing_replicas: BTreeMap::new(),
            topic_id,
        }
    }

    /// JSON bytes as Kafka writes them (the version follows the presence of a topic id).
    pub fn encode(&self) -> Vec<u8> {
        let mut node = self.clone();
        node.version = if node.topic_id.is_some() { 3 } else { 2 };
        encode_json(&node)
    }

    /// Parse any version (1-3).
    pub fn decode(path: &str, data: &[u8]) -> Result<Self> {
        decode_json(path, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_golden() {
        let json = r#"{"version":3,"partitions":{"0":[1,2,3],"1":[2,3,1]},"adding_replicas":{},"removing_replicas":{},"topic_id":"AAAAAAAAAAAAAAAAAAAAAQ"}"#;
        let node = TopicZNode::decode("p", json.as_bytes()).unwrap();
        assert_eq!(node.partitions[&1], vec![2, 3, 1]);
        assert_eq!(String::from_utf8(node.encode()).unwrap(), json);
    }

    #[test]
    fn numeric_partition_order() {
        let mut parts = BTreeMap::new();
        for p in 0..12 {
            parts.insert(p, vec![1]);
        }
        let json = String::from_utf8(TopicZNode::new(parts, None).encode()).unwrap();
        assert!(json.starts_with(r#"{"version":2,"partitions":{"0":[1],"1":[1],"2":[1]"#));
        assert!(json.contains(r#""10":[1],"11":[1]}"#));
    }

    #[test]
    fn reads_version_1() {
        let node = TopicZNode::decode("p", br#"{"version":1,"partitions":{"0":[0,1,3]}}"#).unwrap();
        assert_eq!(node.partitions[&0], vec![0, 1, 3]);
        assert!(node.adding_replicas.is_empty());
        assert_eq!(node.topic_id, None);
    }
}
