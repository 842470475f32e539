//! `/config/<type>/<name>` and `/config/changes/config_change_N`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{decode_json, encode_json};
use crate::error::{Result, ZkError};

/// `{"version":1,"config":{"k":"v"}}` — dynamic config overrides of one entity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigEntityZNode {
    /// Always 1.
    pub version: i32,
    /// Overrides, all values as strings.
    pub config: BTreeMap<String, String>,
}

impl ConfigEntityZNode {
    /// A version-1 node with these overrides.
    pub fn new(config: BTreeMap<String, String>) -> Self {
        ConfigEntityZNode { version: 1, config }
    }
    /// JSON bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode_json(self)
    }
    /// Parse; an empty node (Kafka's `null`) is an empty config.
    pub fn decode(path: &str, data: &[u8]) -> Result<Self> {
        if data.is_empty() || data == b"null" {
            return Ok(ConfigEntityZNode::new(BTreeMap::new()));
        }
        decode_json(path, data)
    }
}

/// A config change notification. Version 2 carries `entity_path` (`topics/foo`, `users/u/clients/c`);
/// version 1 (`entity_type` + `entity_name`) is still accepted on read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChangeNotification {
    /// Entity type (`topics`, `brokers`, ...).
    pub entity_type: String,
    /// Entity name (may contain `/` for user+client entities).
    pub entity_name: String,
}

#[derive(Serialize, Deserialize)]
struct RawNotification {
    version: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entity_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entity_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entity_name: Option<String>,
}

impl ConfigChangeNotification {
    /// Notification for `/config/<entity_type>/<entity_name>`.
    pub fn new(entity_type: &str, entity_name: &str) -> Self {
        ConfigChangeNotification { entity_type: entity_type.into(), entity_name: entity_name.into() }
    }
    /// Version-2 JSON: `{"version":2,"entity_path":"topics/foo"}`.
    pub fn encode(&self) -> Vec<u8> {
        encode_json(&RawNotification {
            version: 2,
            entity_path: Some(format!("{}/{}", self.entity_type, self.entity_name)),
            entity_type: None,
            entity_name: None,
        })
    }
    /// Parse version 1 or 2.
    pub fn decode(path: &str, data: &[u8]) -> Result<Self> {
        let raw: RawNotification = decode_json(path, data)?;
        match raw.version {
            1 => match (raw.entity_type, raw.entity_name) {
                (Some(t), Some(n)) => Ok(ConfigChangeNotification { entity_type: t, entity_name: n }),
                _ => Err(ZkError::malformed(path, "version 1 notification without entity_type/entity_name")),
            },
            2 => {
                let p = raw.entity_path.ok_or_else(|| ZkError::malformed(path, "no entity_path"))?;
                let (t, n) = p.split_once('/').ok_or_else(|| ZkError::malformed(path, "bad entity_path"))?;
                Ok(ConfigChangeNotification { entity_type: t.into(), entity_name: n.into() })
            }
            v => Err(ZkError::malformed(path, format!("unknown notification version {v}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_golden() {
        let mut m = BTreeMap::new();
        m.insert("max.message.bytes".to_string(), "64000".to_string());
        let n = ConfigEntityZNode::new(m);
        assert_eq!(String::from_utf8(n.encode()).unwrap(), r#"{"version":1,"config":{"max.message.bytes":"64000"}}"#);
        assert!(ConfigEntityZNode::decode("p", b"").unwrap().config.is_empty());
    }

    #[test]
    fn notification_versions() {
        let n = ConfigChangeNotification::new("topics", "foo");
        assert_eq!(String::from_utf8(n.encode()).unwrap(), r#"{"version":2,"entity_path":"topics/foo"}"#);
        assert_eq!(ConfigChangeNotification::decode("p", &n.encode()).unwrap(), n);
        let v1 = br#"{"version":1,"entity_type":"topics","entity_name":"foo"}"#;
        assert_eq!(ConfigChangeNotification::decode("p", v1).unwrap(), n);
        let user_client = ConfigChangeNotification::decode("p", br#"{"version":2,"entity_path":"users/u/clients/c"}"#)
            .unwrap();
        assert_eq!(user_client.entity_name, "u/clients/c");
    }
}
