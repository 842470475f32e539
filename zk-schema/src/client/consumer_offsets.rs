//! Legacy ZooKeeper-stored consumer offsets, `/consumers/<group>/offsets/<topic>/<partition>`
//! (`ConsumerOffset` in Kafka's `ZkData.scala`, `KafkaZkClient.getConsumerOffset` and
//! `setOrCreateConsumerOffset`).
//!
//! Pre-0.9 consumers wrote their offsets there, and Kafka 2.8 still serves OffsetCommit and
//! OffsetFetch **v0** from these nodes instead of `__consumer_offsets`. The data is the offset as
//! decimal UTF-8 text, nothing else (e.g. `42`).

use super::KafkaZkClient;
use crate::error::{Result, ZkError};
use crate::paths;

/// The znode data for `offset`: its decimal text (`ConsumerOffset.encode`).
pub fn encode_consumer_offset(offset: i64) -> Vec<u8> {
    offset.to_string().into_bytes()
}

/// Parse a consumer offset node's data (`ConsumerOffset.decode`, Java's `Long.parseLong`).
///
/// Empty data is `None`: ZooKeeper clients cannot tell it from the null data Kafka maps to
/// `None`. Anything that is not a decimal `i64` is [`ZkError::Malformed`] (Kafka throws).
pub fn decode_consumer_offset(path: &str, data: &[u8]) -> Result<Option<i64>> {
    if data.is_empty() {
        return Ok(None);
    }
    let text = std::str::from_utf8(data).map_err(|e| ZkError::malformed(path, e))?;
    text.parse::<i64>().map(Some).map_err(|e| ZkError::malformed(path, format!("offset {text:?}: {e}")))
}

impl KafkaZkClient {
    /// The offset `group` committed for `topic`/`partition` in ZooKeeper, `None` if it never did.
    pub async fn get_consumer_offset(&self, group: &str, topic: &str, partition: i32) -> Result<Option<i64>> {
        let path = paths::consumer_offset(group, topic, partition);
        match self.get_data(&path).await? {
            Some((data, _)) => decode_consumer_offset(&path, &data),
            None => Ok(None),
        }
    }

    /// Store `offset` as `group`'s committed offset for `topic`/`partition` (Kafka's
    /// `setOrCreateConsumerOffset`): overwrite the node, or create it and any missing parents.
    pub async fn set_consumer_offset(&self, group: &str, topic: &str, partition: i32, offset: i64) -> Result<()> {
        let path = paths::consumer_offset(group, topic, partition);
        self.set_or_create(&path, &encode_consumer_offset(offset)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_decimal_text() {
        assert_eq!(encode_consumer_offset(42), b"42");
        assert_eq!(encode_consumer_offset(-1), b"-1");
        assert_eq!(encode_consumer_offset(i64::MAX), b"9223372036854775807");
        assert_eq!(decode_consumer_offset("/p", b"42").unwrap(), Some(42));
        assert_eq!(decode_consumer_offset("/p", b"+7").unwrap(), Some(7));
        assert_eq!(decode_consumer_offset("/p", b"-1").unwrap(), Some(-1));
        assert_eq!(decode_consumer_offset("/p", b"").unwrap(), None);
    }

    #[test]
    fn anything_else_is_malformed() {
        for bad in [&b"4 2"[..], b" 42", b"42\n", b"x", b"9223372036854775808", &[0xff, b'1']] {
            assert!(matches!(decode_consumer_offset("/p", bad), Err(ZkError::Malformed { .. })), "{bad:?}");
        }
    }

    #[test]
    fn path_is_kafkas_layout() {
        assert_eq!(paths::consumer_offset("g", "t", 3), "/consumers/g/offsets/t/3");
    }
}
