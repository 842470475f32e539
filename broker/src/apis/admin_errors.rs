//! Errors of the admin request handlers (CreateTopics, DeleteTopics, CreatePartitions,
//! DescribeConfigs, AlterConfigs, Metadata auto-creation) and their Kafka error codes.
//!
//! Kafka's admin paths throw a specific exception per validation step (`InvalidPartitionsException`,
//! `InvalidReplicationFactorException`, ...); the same `ZkError::Invalid` from `AdminZkClient` can mean
//! any of them, so the handlers classify failures into [`AdminError`] at the step where they happen
//! and this file maps them to wire errors in one place.

use storage::StorageError;
use wire::ResponseError;
use zk_schema::ZkError;

/// A failed admin operation on one resource, with the message Kafka would send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    InvalidTopic(String),
    #[error("{0}")]
    TopicAlreadyExists(String),
    #[error("{0}")]
    UnknownTopicOrPartition(String),
    #[error("{0}")]
    UnknownTopicId(String),
    #[error("{0}")]
    InvalidPartitions(String),
    #[error("{0}")]
    InvalidReplicationFactor(String),
    #[error("{0}")]
    InvalidReplicaAssignment(String),
    #[error("{0}")]
    InvalidConfig(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("This is not the correct controller for this cluster.")]
    NotController,
    #[error("Topic deletion is disabled.")]
    TopicDeletionDisabled,
    #[error("{0}")]
    RequestTimedOut(String),
    #[error("{0}")]
    Unknown(String),
}

impl AdminError {
    /// The wire error.
    pub fn code(&self) -> ResponseError {
        match self {
            AdminError::InvalidTopic(_) => ResponseError::InvalidTopicException,
            AdminError::TopicAlreadyExists(_) => ResponseError::TopicAlreadyExists,
            AdminError::UnknownTopicOrPartition(_) => ResponseError::UnknownTopicOrPartition,
            AdminError::UnknownTopicId(_) => ResponseError::UnknownTopicId,
            AdminError::InvalidPartitions(_) => ResponseError::InvalidPartitions,
            AdminError::InvalidReplicationFactor(_) => ResponseError::InvalidReplicationFactor,
            AdminError::InvalidReplicaAssignment(_) => ResponseError::InvalidReplicaAssignment,
            AdminError::InvalidConfig(_) => ResponseError::InvalidConfig,
            AdminError::InvalidRequest(_) => ResponseError::InvalidRequest,
            AdminError::NotController => ResponseError::NotController,
            AdminError::TopicDeletionDisabled => ResponseError::TopicDeletionDisabled,
            AdminError::RequestTimedOut(_) => ResponseError::RequestTimedOut,
            AdminError::Unknown(_) => ResponseError::UnknownServerError,
        }
    }

    /// The message for `error_message` fields (`None` when Kafka sends null).
    pub fn message(&self) -> Option<String> {
        let m = self.to_string();
        if m.is_empty() {
            None
        } else {
            Some(m)
        }
    }

    /// A ZooKeeper failure that is not a validation problem.
    pub fn from_zk(e: &ZkError) -> AdminError {
        match e {
            ZkError::NodeExists(m) if m.contains("already exists") => AdminError::TopicAlreadyExists(m.clone()),
            ZkError::ControllerMoved => AdminError::NotController,
            ZkError::Invalid(m) => AdminError::InvalidRequest(m.clone()),
            other => AdminError::Unknown(other.to_string()),
        }
    }

    /// An invalid topic config (`LogConfig::validate_overrides`).
    pub fn from_config(e: &StorageError) -> AdminError {
        match e {
            StorageError::InvalidConfig { reason, .. } => AdminError::InvalidConfig(reason.clone()),
            other => AdminError::InvalidConfig(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(AdminError::InvalidTopic("x".into()).code(), ResponseError::InvalidTopicException);
        assert_eq!(AdminError::TopicAlreadyExists("x".into()).code().code(), 36);
        assert_eq!(AdminError::InvalidPartitions("x".into()).code().code(), 37);
        assert_eq!(AdminError::InvalidReplicationFactor("x".into()).code().code(), 38);
        assert_eq!(AdminError::InvalidReplicaAssignment("x".into()).code().code(), 39);
        assert_eq!(AdminError::InvalidConfig("x".into()).code().code(), 40);
        assert_eq!(AdminError::NotController.code().code(), 41);
        assert_eq!(AdminError::TopicDeletionDisabled.code().code(), 73);
        assert_eq!(
            AdminError::from_zk(&ZkError::NodeExists("Topic 'a' already exists.".into())).message().as_deref(),
            Some("Topic 'a' already exists.")
        );
    }
}
