//! Types of the admin/broker-facing controller operations (ControlledShutdown, AlterIsr,
//! ElectLeaders, partition reassignment) and Kafka's error codes for them.

use std::fmt;

use crate::context::TopicPartition;

/// Kafka error codes the controller answers with.
pub mod codes {
    /// UNKNOWN_SERVER_ERROR.
    pub const UNKNOWN_SERVER_ERROR: i16 = -1;
    /// NONE.
    pub const NONE: i16 = 0;
    /// UNKNOWN_TOPIC_OR_PARTITION.
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    /// BROKER_NOT_AVAILABLE.
    pub const BROKER_NOT_AVAILABLE: i16 = 8;
    /// STALE_CONTROLLER_EPOCH (Kafka's `ControllerMovedException`).
    pub const STALE_CONTROLLER_EPOCH: i16 = 11;
    /// INVALID_TOPIC_EXCEPTION.
    pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
    /// OPERATION_NOT_ATTEMPTED: an AlterIsr that would add a dead or shutting-down replica (KIP-841).
    pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
    /// INVALID_REPLICA_ASSIGNMENT.
    pub const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
    /// NOT_CONTROLLER.
    pub const NOT_CONTROLLER: i16 = 41;
    /// FENCED_LEADER_EPOCH.
    pub const FENCED_LEADER_EPOCH: i16 = 74;
    /// STALE_BROKER_EPOCH.
    pub const STALE_BROKER_EPOCH: i16 = 77;
    /// PREFERRED_LEADER_NOT_AVAILABLE.
    pub const PREFERRED_LEADER_NOT_AVAILABLE: i16 = 80;
    /// ELIGIBLE_LEADERS_NOT_AVAILABLE.
    pub const ELIGIBLE_LEADERS_NOT_AVAILABLE: i16 = 83;
    /// ELECTION_NOT_NEEDED.
    pub const ELECTION_NOT_NEEDED: i16 = 84;
    /// NO_REASSIGNMENT_IN_PROGRESS.
    pub const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;
    /// INVALID_UPDATE_VERSION.
    pub const INVALID_UPDATE_VERSION: i16 = 95;
}

/// An error code with an optional message (Kafka's `ApiError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Kafka error code.
    pub code: i16,
    /// Human-readable detail.
    pub message: Option<String>,
}

impl ApiError {
    /// An error without message.
    pub fn new(code: i16) -> Self {
        ApiError { code, message: None }
    }

    /// An error with a message.
    pub fn with_message(code: i16, message: impl Into<String>) -> Self {
        ApiError { code, message: Some(message.into()) }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error code {}", self.code)?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

/// Per-partition outcome of an election or reassignment request.
pub type PartitionResults = Vec<(TopicPartition, Result<(), ApiError>)>;

/// A requested reassignment: (topic, partition) and the target replicas, `None` = cancel.
pub type ReassignmentTarget = ((String, i32), Option<Vec<i32>>);

/// Why a controlled shutdown request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlledShutdownError {
    /// This broker is not the active controller (Kafka's `ControllerMovedException`).
    #[error("Controller moved to another broker. Aborting controlled shutdown")]
    NotController,
    /// The request's broker epoch is older than the registration the controller knows.
    #[error("Received controlled shutdown request from an old broker epoch")]
    StaleBrokerEpoch,
    /// The broker is not registered.
    #[error("Broker id {0} does not exist.")]
    BrokerNotAvailable(i32),
    /// Anything else (ZooKeeper failure, ...).
    #[error("{0}")]
    Other(String),
}

impl ControlledShutdownError {
    /// The error code Kafka answers with.
    pub fn code(&self) -> i16 {
        match self {
            ControlledShutdownError::NotController => codes::STALE_CONTROLLER_EPOCH,
            ControlledShutdownError::StaleBrokerEpoch => codes::STALE_BROKER_EPOCH,
            ControlledShutdownError::BrokerNotAvailable(_) => codes::BROKER_NOT_AVAILABLE,
            ControlledShutdownError::Other(_) => codes::UNKNOWN_SERVER_ERROR,
        }
    }
}

/// ElectLeaders election type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionType {
    /// Move leadership to the preferred replica.
    Preferred,
    /// Elect a leader for leaderless partitions, out-of-sync replicas allowed.
    Unclean,
}

impl ElectionType {
    /// From the wire value (0 = preferred, 1 = unclean).
    pub fn from_wire(v: i8) -> Option<Self> {
        match v {
            0 => Some(ElectionType::Preferred),
            1 => Some(ElectionType::Unclean),
            _ => None,
        }
    }
}

/// Who asked for an election (Kafka's `ElectionTrigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionTrigger {
    /// ElectLeaders from an admin client.
    AdminClient,
    /// `/admin/preferred_replica_election`.
    ZkTriggered,
    /// The auto leader rebalance task.
    AutoTriggered,
}

/// One partition of an AlterIsr request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterIsrPartition {
    /// The partition.
    pub tp: TopicPartition,
    /// Leader epoch the leader is at.
    pub leader_epoch: i32,
    /// Proposed ISR.
    pub new_isr: Vec<i32>,
    /// zkVersion of the state the leader last saw (the expected version of the write).
    pub partition_epoch: i32,
}

/// An AlterIsr request, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterIsrRequestData {
    /// The leader sending it.
    pub broker_id: i32,
    /// Its broker epoch.
    pub broker_epoch: i64,
    /// The ISR changes.
    pub partitions: Vec<AlterIsrPartition>,
}
