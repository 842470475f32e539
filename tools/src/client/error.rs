//! Errors of the console tools' client, with the Java exception names Kafka's tools print,
//! so failure output reads like Kafka's (`org.apache.kafka.common.errors.XxxException: ...`).

use wire::ResponseError;

/// A failure of a client operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientToolError {
    /// A broker answered with a Kafka error code.
    #[error("{}", java_exception(*.0))]
    Kafka(ResponseError),
    /// Metadata for a topic never became available within `max.block.ms`.
    #[error("org.apache.kafka.common.errors.TimeoutException: Topic {topic} not present in metadata after {ms} ms.")]
    MetadataTimeout {
        /// Topic waited for.
        topic: String,
        /// How long we waited.
        ms: u64,
    },
    /// A request could not be completed in time.
    #[error("org.apache.kafka.common.errors.TimeoutException: {0}")]
    Timeout(String),
    /// No broker could be reached.
    #[error("org.apache.kafka.common.errors.NetworkException: {0}")]
    Network(String),
    /// Anything else (bad data, invalid configuration).
    #[error("org.apache.kafka.common.KafkaException: {0}")]
    Other(String),
}

impl From<wire::ClientError> for ClientToolError {
    fn from(e: wire::ClientError) -> Self {
        match e {
            wire::ClientError::Timeout { .. } => ClientToolError::Timeout(e.to_string()),
            other => ClientToolError::Network(other.to_string()),
        }
    }
}

impl ClientToolError {
    /// Whether retrying (after a metadata refresh) may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientToolError::Kafka(e) => e.is_retriable(),
            ClientToolError::Network(_) | ClientToolError::Timeout(_) => true,
            _ => false,
        }
    }
}

/// Upper-snake Kafka error name (e.g. `NOT_LEADER_OR_FOLLOWER`), as Kafka's clients log it.
pub fn error_name(e: ResponseError) -> String {
    let camel = format!("{e:?}");
    if let ResponseError::Unknown(code) = e {
        return format!("UNKNOWN({code})");
    }
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// `org.apache.kafka.common.errors.<Name>Exception: <message>` for an error code.
pub fn java_exception(e: ResponseError) -> String {
    let (class, message): (&str, &str) = match e {
        ResponseError::UnknownTopicOrPartition => (
            "UnknownTopicOrPartitionException",
            "This server does not host this topic-partition.",
        ),
        ResponseError::NotLeaderOrFollower => (
            "NotLeaderOrFollowerException",
            "For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition.",
        ),
        ResponseError::LeaderNotAvailable => (
            "LeaderNotAvailableException",
            "There is no leader for this topic-partition as we are in the middle of a leadership election.",
        ),
        ResponseError::MessageTooLarge => (
            "RecordTooLargeException",
            "The request included a message larger than the max message size the server will accept.",
        ),
        ResponseError::RequestTimedOut => ("TimeoutException", "The request timed out."),
        ResponseError::NotEnoughReplicas => (
            "NotEnoughReplicasException",
            "Messages are rejected since there are fewer in-sync replicas than required.",
        ),
        ResponseError::NotEnoughReplicasAfterAppend => (
            "NotEnoughReplicasAfterAppendException",
            "Messages are written to the log, but to fewer in-sync replicas than required.",
        ),
        ResponseError::TopicAuthorizationFailed => (
            "TopicAuthorizationException",
            "Topic authorization failed.",
        ),
        ResponseError::InvalidTopicException => (
            "InvalidTopicException",
            "The request attempted to perform an operation on an invalid topic.",
        ),
        ResponseError::CorruptMessage => (
            "CorruptRecordException",
            "This message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt.",
        ),
        ResponseError::InvalidRecord => (
            "InvalidRecordException",
            "This record has failed the validation on broker and hence will be rejected.",
        ),
        ResponseError::OffsetOutOfRange => (
            "OffsetOutOfRangeException",
            "The requested offset is not within the range of offsets maintained by the server.",
        ),
        ResponseError::UnsupportedVersion => (
            "UnsupportedVersionException",
            "The version of API is not supported.",
        ),
        _ => {
            return format!(
                "org.apache.kafka.common.errors.ApiException: {}",
                error_name(e)
            )
        }
    };
    format!("org.apache.kafka.common.errors.{class}: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(error_name(ResponseError::NotLeaderOrFollower), "NOT_LEADER_OR_FOLLOWER");
        assert_eq!(error_name(ResponseError::LeaderNotAvailable), "LEADER_NOT_AVAILABLE");
        assert_eq!(error_name(ResponseError::Unknown(999)), "UNKNOWN(999)");
        assert!(java_exception(ResponseError::MessageTooLarge).contains("RecordTooLargeException"));
    }
}
