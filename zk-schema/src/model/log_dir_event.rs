//! `/log_dir_event_notification/log_dir_event_N`: a broker tells the controller that one of its log
//! dirs failed, so the controller re-probes the broker's replicas with LeaderAndIsr.

use serde::{Deserialize, Serialize};

use super::{decode_json, encode_json};
use crate::error::Result;

/// The only event type Kafka 2.8 defines: a log dir failed.
pub const LOG_DIR_FAILURE_EVENT: i32 = 1;

/// `{"version":1,"broker":<id>,"event":1}` (Kafka's `LogDirEventNotificationSequenceZNode`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogDirEventNotification {
    /// Always 1.
    pub version: i32,
    /// The broker whose log dir failed.
    pub broker: i32,
    /// [`LOG_DIR_FAILURE_EVENT`].
    pub event: i32,
}

impl LogDirEventNotification {
    /// A log-dir failure of `broker`.
    pub fn failure(broker: i32) -> Self {
        LogDirEventNotification { version: 1, broker, event: LOG_DIR_FAILURE_EVENT }
    }
    /// JSON bytes as Kafka writes them.
    pub fn encode(&self) -> Vec<u8> {
        encode_json(self)
    }
    /// Parse (the controller only needs `broker`; `event` defaults to a failure).
    pub fn decode(path: &str, data: &[u8]) -> Result<Self> {
        #[derive(Deserialize)]
        struct Lenient {
            #[serde(default = "one")]
            version: i32,
            broker: i32,
            #[serde(default = "one")]
            event: i32,
        }
        fn one() -> i32 {
            1
        }
        let l: Lenient = decode_json(path, data)?;
        Ok(LogDirEventNotification { version: l.version, broker: l.broker, event: l.event })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden() {
        let json = r#"{"version":1,"broker":3,"event":1}"#;
        assert_eq!(String::from_utf8(LogDirEventNotification::failure(3).encode()).unwrap(), json);
        assert_eq!(LogDirEventNotification::decode("p", json.as_bytes()).unwrap(), LogDirEventNotification::failure(3));
        assert_eq!(LogDirEventNotification::decode("p", br#"{"event":1,"broker":7,"version":1}"#).unwrap().broker, 7);
        assert!(LogDirEventNotification::decode("p", b"{}").is_err());
    }
}
