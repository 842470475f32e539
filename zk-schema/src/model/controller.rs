//! `/controller` and `/controller_epoch`.

use serde::{Deserialize, Serialize};

use super::{decode_json, encode_json};
use crate::error::{Result, ZkError};
use crate::paths;

/// Content of the ephemeral `/controller` node: `{"version":1,"brokerid":3,"timestamp":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerZNode {
    /// Always 1 in 2.8 (3.x writes 2 with `kraftControllerEpoch`; accepted on read).
    pub version: i32,
    /// The id of the broker acting as controller.
    pub brokerid: i32,
    /// Election time in ms, as a JSON string.
    pub timestamp: String,
}

impl ControllerZNode {
    /// The node a broker writes when it wins the election.
    pub fn new(broker_id: i32, timestamp_ms: i64) -> Self {
        ControllerZNode { version: 1, brokerid: broker_id, timestamp: timestamp_ms.to_string() }
    }

    /// JSON bytes as Kafka writes them.
    pub fn encode(&self) -> Vec<u8> {
        encode_json(self)
    }

    /// Parse; very old Kafka wrote a bare integer, which is accepted too.
    pub fn decode(data: &[u8]) -> Result<Self> {
        if let Ok(text) = std::str::from_utf8(data) {
            if let Ok(id) = text.trim().parse::<i32>() {
                return Ok(ControllerZNode { version: 0, brokerid: id, timestamp: String::new() });
            }
        }
        decode_json(paths::CONTROLLER, data)
    }
}

/// `/controller_epoch`: the epoch as decimal text, plus the node's zkVersion used for fencing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControllerEpoch {
    /// The epoch value.
    pub epoch: i32,
    /// zkVersion of `/controller_epoch`; every controller write is checked against it.
    pub zk_version: i32,
}

impl ControllerEpoch {
    /// Decimal text, e.g. `7`.
    pub fn encode(epoch: i32) -> Vec<u8> {
        epoch.to_string().into_bytes()
    }

    /// Parse the decimal text.
    pub fn decode_epoch(data: &[u8]) -> Result<i32> {
        std::str::from_utf8(data)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| ZkError::malformed(paths::CONTROLLER_EPOCH, "not a decimal integer"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_golden() {
        let node = ControllerZNode::new(3, 1623456789012);
        assert_eq!(
            String::from_utf8(node.encode()).unwrap(),
            r#"{"version":1,"brokerid":3,"timestamp":"1623456789012"}"#
        );
        let parsed =
            ControllerZNode::decode(br#"{"brokerid":3,"timestamp":"1623456789012","version":1}"#).unwrap();
        assert_eq!(parsed, node);
        // 3.x form with kraftControllerEpoch.
        let v2 = ControllerZNode::decode(br#"{"version":2,"brokerid":1,"timestamp":"1","kraftControllerEpoch":-1}"#)
            .unwrap();
        assert_eq!(v2.brokerid, 1);
        assert_eq!(ControllerZNode::decode(b"5").unwrap().brokerid, 5);
    }

    #[test]
    fn epoch_text() {
        assert_eq!(ControllerEpoch::encode(7), b"7");
        assert_eq!(ControllerEpoch::decode_epoch(b"7").unwrap(), 7);
        assert!(ControllerEpoch::decode_epoch(b"x").is_err());
    }
}
