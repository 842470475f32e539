//! `/brokers/ids/<id>`: a broker's registration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{decode_json, encode_json};
use crate::error::{Result, ZkError};

/// The registration JSON (version 5 in 2.8): endpoints, listener map, features.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistration {
    /// Per-listener feature ranges (always `{}` in 2.8).
    #[serde(default)]
    pub features: BTreeMap<String, serde_json::Value>,
    /// listener name -> security protocol (version >= 4).
    #[serde(default)]
    pub listener_security_protocol_map: Option<BTreeMap<String, String>>,
    /// `LISTENER://host:port` strings.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// JMX port, -1 without JMX.
    #[serde(default = "minus_one")]
    pub jmx_port: i32,
    /// Rack, present only when `broker.rack` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack: Option<String>,
    /// Host of the first PLAINTEXT endpoint, or null.
    pub host: Option<String>,
    /// Registration time in ms as a JSON string.
    pub timestamp: String,
    /// Port of the first PLAINTEXT endpoint, or -1.
    #[serde(default = "minus_one")]
    pub port: i32,
    /// Schema version (5 in 2.8).
    pub version: i32,
}

fn minus_one() -> i32 {
    -1
}

/// One parsed endpoint of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerEndpoint {
    /// Listener name, e.g. `PLAINTEXT`.
    pub listener: String,
    /// Security protocol the listener map gives it.
    pub security_protocol: String,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
}

impl BrokerRegistration {
    /// Build a version-5 registration from advertised endpoints (listener map included).
    pub fn new(endpoints: &[BrokerEndpoint], rack: Option<String>, jmx_port: i32, timestamp_ms: i64) -> Self {
        let plaintext = endpoints.iter().find(|e| e.security_protocol == "PLAINTEXT");
        BrokerRegistration {
            features: BTreeMap::new(),
            listener_security_protocol_map: Some(
                endpoints.iter().map(|e| (e.listener.clone(), e.security_protocol.clone())).collect(),
            ),
            endpoints: endpoints.iter().map(|e| format!("{}://{}:{}", e.listener, e.host, e.port)).collect(),
            jmx_port,
            rack,
            host: plaintext.map(|e| e.host.clone()),
            timestamp: timestamp_ms.to_string(),
            port: plaintext.map(|e| e.port).unwrap_or(-1),
            version: 5,
        }
    }

    /// JSON bytes as Kafka writes them.
    pub fn encode(&self) -> Vec<u8> {
        encode_json(self)
    }

    /// Parse a registration of any version (1-5).
    pub fn decode(path: &str, data: &[u8]) -> Result<Self> {
        decode_json(path, data)
    }

    /// Endpoints with their security protocols. Versions < 4 have no listener map: the listener name is
    /// then the protocol itself, as in Kafka.
    pub fn parsed_endpoints(&self, path: &str) -> Result<Vec<BrokerEndpoint>> {
        let mut out = Vec::new();
        for ep in &self.endpoints {
            let (listener, rest) = ep
                .split_once("://")
                .ok_or_else(|| ZkError::malformed(path, format!("bad endpoint {ep}")))?;
            let (host, port) = rest
                .rsplit_once(':')
                .ok_or_else(|| ZkError::malformed(path, format!("bad endpoint {ep}")))?;
            let port = port.parse().map_err(|_| ZkError::malformed(path, format!("bad port in {ep}")))?;
            let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
            let security_protocol = self
                .listener_security_protocol_map
                .as_ref()
                .and_then(|m| m.get(listener).cloned())
                .unwrap_or_else(|| listener.to_string());
            out.push(BrokerEndpoint { listener: listener.to_string(), security_protocol, host, port });
        }
        if out.is_empty() {
            if let Some(host) = &self.host {
                out.push(BrokerEndpoint {
                    listener: "PLAINTEXT".into(),
                    security_protocol: "PLAINTEXT".into(),
                    host: host.clone(),
                    port: self.port,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_EXAMPLE: &str = r#"{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://kafka1:9092"],"jmx_port":-1,"host":"kafka1","timestamp":"1623456789012","port":9092,"version":5}"#;

    #[test]
    fn registration_golden() {
        let ep = BrokerEndpoint {
            listener: "PLAINTEXT".into(),
            security_protocol: "PLAINTEXT".into(),
            host: "kafka1".into(),
            port: 9092,
        };
        let reg = BrokerRegistration::new(std::slice::from_ref(&ep), None, -1, 1623456789012);
        assert_eq!(String::from_utf8(reg.encode()).unwrap(), SPEC_EXAMPLE);
        let back = BrokerRegistration::decode("/brokers/ids/1", SPEC_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(back, reg);
        assert_eq!(back.parsed_endpoints("p").unwrap(), vec![ep]);
    }

    #[test]
    fn rack_only_when_set() {
        let ep = BrokerEndpoint {
            listener: "INTERNAL".into(),
            security_protocol: "SSL".into(),
            host: "h".into(),
            port: 1,
        };
        let reg = BrokerRegistration::new(&[ep], Some("r1".into()), -1, 1);
        let json = String::from_utf8(reg.encode()).unwrap();
        assert!(json.contains(r#""rack":"r1""#));
        assert!(json.contains(r#""host":null"#));
        assert!(json.contains(r#""port":-1"#));
    }

    #[test]
    fn reads_old_version_2() {
        let old = br#"{"jmx_port":-1,"timestamp":"1","endpoints":["PLAINTEXT://h:9092"],"host":"h","version":2,"port":9092}"#;
        let reg = BrokerRegistration::decode("p", old).unwrap();
        let eps = reg.parsed_endpoints("p").unwrap();
        assert_eq!(eps[0].security_protocol, "PLAINTEXT");
        assert_eq!(eps[0].port, 9092);
    }
}
