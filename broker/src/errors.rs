//! The one place where internal errors become Kafka error codes.
//!
//! Handlers never pick numeric codes themselves: they convert typed errors (`StorageError`,
//! `ZkError`, `BrokerError`) through the functions here, so the mapping is reviewed in one file.

use storage::StorageError;
use wire::ResponseError;
use zk_schema::ZkError;

/// Errors raised by the broker's own logic (not storage, not ZooKeeper).
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The topic or partition is not known to this broker.
    #[error("unknown topic or partition {0}")]
    UnknownTopicOrPartition(String),
    /// This broker is not the leader (or follower, when one is required) of the partition.
    #[error("this broker is not the leader for {0}")]
    NotLeaderOrFollower(String),
    /// The request's leader epoch is older than ours.
    #[error("fenced leader epoch for {0}")]
    FencedLeaderEpoch(String),
    /// The request's leader epoch is newer than ours.
    #[error("unknown leader epoch for {0}")]
    UnknownLeaderEpoch(String),
    /// `acks` was not -1, 0 or 1.
    #[error("invalid required acks {0}")]
    InvalidRequiredAcks(i16),
    /// Fewer in-sync replicas than `min.insync.replicas` for an `acks=all` produce.
    #[error("not enough in-sync replicas for {0}")]
    NotEnoughReplicas(String),
    /// Produce to an internal topic by a client.
    #[error("cannot append to internal topic {0}")]
    InvalidTopic(String),
    /// A request that needs the active controller reached another broker.
    #[error("this broker is not the active controller")]
    NotController,
    /// The request is malformed in a way the handler detected.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A stale controller epoch in a controller request.
    #[error("stale controller epoch")]
    StaleControllerEpoch,
    /// A stale broker epoch in a controller request.
    #[error("stale broker epoch")]
    StaleBrokerEpoch,
    /// The request timed out (e.g. waiting for replication).
    #[error("request timed out")]
    RequestTimedOut,
    /// The partition's log dir failed on this broker (Kafka's offline partition).
    #[error("the log dir of {0} is offline on this broker")]
    LogDirOffline(String),
}

/// Kafka error for a broker error.
pub fn broker_error(e: &BrokerError) -> ResponseError {
    match e {
        BrokerError::UnknownTopicOrPartition(_) => ResponseError::UnknownTopicOrPartition,
        BrokerError::NotLeaderOrFollower(_) => ResponseError::NotLeaderOrFollower,
        BrokerError::FencedLeaderEpoch(_) => ResponseError::FencedLeaderEpoch,
        BrokerError::UnknownLeaderEpoch(_) => ResponseError::UnknownLeaderEpoch,
        BrokerError::InvalidRequiredAcks(_) => ResponseError::InvalidRequiredAcks,
        BrokerError::NotEnoughReplicas(_) => ResponseError::NotEnoughReplicas,
        BrokerError::InvalidTopic(_) => ResponseError::InvalidTopicException,
        BrokerError::NotController => ResponseError::NotController,
        BrokerError::InvalidRequest(_) => ResponseError::InvalidRequest,
        BrokerError::StaleControllerEpoch => ResponseError::StaleControllerEpoch,
        BrokerError::StaleBrokerEpoch => ResponseError::StaleBrokerEpoch,
        BrokerError::RequestTimedOut => ResponseError::RequestTimedOut,
        BrokerError::LogDirOffline(_) => ResponseError::KafkaStorageError,
    }
}

/// Kafka error for a storage error.
pub fn storage_error(e: &StorageError) -> ResponseError {
    match e {
        StorageError::CorruptRecord(_) => ResponseError::CorruptMessage,
        StorageError::InvalidRecord(_) => ResponseError::InvalidRecord,
        StorageError::MessageTooLarge { .. } => ResponseError::MessageTooLarge,
        StorageError::RecordListTooLarge { .. } => ResponseError::RecordListTooLarge,
        StorageError::InvalidTimestamp(_) => ResponseError::InvalidTimestamp,
        StorageError::UnsupportedForMessageFormat(_) => ResponseError::UnsupportedForMessageFormat,
        StorageError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        StorageError::InvalidConfig { .. } => ResponseError::InvalidConfig,
        _ => ResponseError::KafkaStorageError,
    }
}

/// Kafka error for a ZooKeeper error met while serving an admin request.
pub fn zk_error(e: &ZkError) -> ResponseError {
    match e {
        ZkError::NodeExists(_) => ResponseError::TopicAlreadyExists,
        ZkError::NoNode(_) => ResponseError::UnknownTopicOrPartition,
        ZkError::Invalid(_) => ResponseError::InvalidRequest,
        ZkError::ControllerMoved => ResponseError::NotController,
        _ => ResponseError::UnknownServerError,
    }
}

/// The wire code of "no error".
pub const NONE: i16 = 0;

/// Shorthand: the wire code of a `ResponseError`.
pub fn code(e: ResponseError) -> i16 {
    e.code()
}
