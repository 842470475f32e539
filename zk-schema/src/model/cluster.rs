//! `/cluster/id`, `/feature` and `/latest_producer_id_block`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{decode_json, encode_json};
use crate::error::{Result, ZkError};

/// `{"version":"1","id":"<base64uuid>"}` — note the version is a JSON string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterIdZNode {
    /// Always the string "1".
    pub version: String,
    /// The cluster id.
    pub id: String,
}

impl ClusterIdZNode {
    /// A node for this id.
    pub fn new(id: &str) -> Self {
        ClusterIdZNode { version: "1".into(), id: id.into() }
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

/// `{"version":1,"status":1,"features":{}}` — status 1 = enabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureZNode {
    /// 1 in 2.8.
    pub version: i32,
    /// 1 enabled, 0 disabled.
    pub status: i32,
    /// Finalized feature ranges (none in 2.8).
    pub features: BTreeMap<String, serde_json::Value>,
}

impl FeatureZNode {
    /// The node a 2.8 controller creates: enabled, no features.
    pub fn enabled_empty() -> Self {
        FeatureZNode { version: 1, status: 1, features: BTreeMap::new() }
    }
    /// JSON bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode_json(self)
    }
    /// Parse.
    pub fn decode(path: &str, data: &[u8]) -> Result<Self> {
        decode_json(path, data)
    }
}

/// `{"version":1,"broker":2,"block_start":"1000","block_end":"1999"}` (bounds inclusive, strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerIdBlockZNode {
    /// Always 1.
    pub version: i32,
    /// Broker that claimed the block.
    pub broker: i32,
    /// First id of the block, as a string.
    pub block_start: String,
    /// Last id of the block, as a string.
    pub block_end: String,
}

impl ProducerIdBlockZNode {
    /// Block size Kafka uses.
    pub const BLOCK_SIZE: i64 = 1000;

    /// The block after `previous` (or the first block), claimed by `broker`.
    pub fn next_after(previous: Option<&ProducerIdBlockZNode>, broker: i32) -> Result<Self> {
        let start = match previous {
            None => 0,
            Some(p) => {
                let end: i64 = p
                    .block_end
                    .parse()
                    .map_err(|_| ZkError::malformed("/latest_producer_id_block", "block_end is not a number"))?;
                end.checked_add(1)
                    .filter(|s| s.checked_add(Self::BLOCK_SIZE).is_some())
                    .ok_or_else(|| ZkError::Invalid("producer id space exhausted".into()))?
            }
        };
        Ok(ProducerIdBlockZNode {
            version: 1,
            broker,
            block_start: start.to_string(),
            block_end: (start + Self::BLOCK_SIZE - 1).to_string(),
        })
    }
    /// JSON bytes.
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
    fn cluster_id_golden() {
        let n = ClusterIdZNode::new("AAAAAAAAAAAAAAAAAAAAAQ");
        assert_eq!(String::from_utf8(n.encode()).unwrap(), r#"{"version":"1","id":"AAAAAAAAAAAAAAAAAAAAAQ"}"#);
    }

    #[test]
    fn feature_golden() {
        assert_eq!(
            String::from_utf8(FeatureZNode::enabled_empty().encode()).unwrap(),
            r#"{"version":1,"status":1,"features":{}}"#
        );
    }

    #[test]
    fn producer_id_blocks() {
        let first = ProducerIdBlockZNode::next_after(None, 2).unwrap();
        assert_eq!(
            String::from_utf8(first.encode()).unwrap(),
            r#"{"version":1,"broker":2,"block_start":"0","block_end":"999"}"#
        );
        let second = ProducerIdBlockZNode::next_after(Some(&first), 1).unwrap();
        assert_eq!((second.block_start.as_str(), second.block_end.as_str()), ("1000", "1999"));
    }
}
