//! `/brokers/topics/<T>/partitions/<p>/state`: leader, leader epoch and ISR of a partition.

use serde::{Deserialize, Serialize};

use super::{decode_json, encode_json};
use crate::error::Result;

/// `{"controller_epoch":5,"leader":1,"version":1,"leader_epoch":12,"isr":[1,3]}`.
///
/// The node's zkVersion is the partition epoch used by conditional updates; it is carried separately
/// by callers (see [`crate::ZkStat`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionStateZNode {
    /// Epoch of the controller that made the last leadership decision.
    pub controller_epoch: i32,
    /// Leader broker id, -1 when there is none.
    pub leader: i32,
    /// Always 1.
    pub version: i32,
    /// Incremented on every leader election.
    pub leader_epoch: i32,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// 3.2+ leader recovery state; written only when not 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub leader_recovery_state: i8,
}

fn is_zero(v: &i8) -> bool {
    *v == 0
}

impl PartitionStateZNode {
    /// A state as the controller writes it.
    pub fn new(leader: i32, leader_epoch: i32, isr: Vec<i32>, controller_epoch: i32) -> Self {
        PartitionStateZNode { controller_epoch, leader, version: 1, leader_epoch, isr, leader_recovery_state: 0 }
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
    fn state_golden() {
        let json = r#"{"controller_epoch":5,"leader":1,"version":1,"leader_epoch":12,"isr":[1,3]}"#;
        let s = PartitionStateZNode::new(1, 12, vec![1, 3], 5);
        assert_eq!(String::from_utf8(s.encode()).unwrap(), json);
        assert_eq!(PartitionStateZNode::decode("p", json.as_bytes()).unwrap(), s);
        let any_order = br#"{"isr":[2],"leader_epoch":0,"version":1,"leader":-1,"controller_epoch":1}"#;
        assert_eq!(PartitionStateZNode::decode("p", any_order).unwrap().leader, -1);
    }
}
