//! `ControllerEvent`: everything the controller event loop reacts to.
//!
//! ZooKeeper watches, the session listener, broker responses and the public handle only enqueue
//! events; the single loop task processes them one at a time, so no controller state is shared.

use tokio::sync::oneshot;

use crate::context::{ReplicaAssignment, TopicPartition};
use crate::requests_api::{
    AlterIsrRequestData, ApiError, ControlledShutdownError, ElectionTrigger, ElectionType, PartitionResults,
};
use wire::kafka_protocol::messages::AlterPartitionResponse;

/// One unit of controller work (Kafka's `ControllerEvent`). Events carrying a `reply` answer a
/// broker request; if the event is dropped (session expiry, shutdown) the caller sees the sender
/// vanish and answers NOT_CONTROLLER / STALE_CONTROLLER_EPOCH.
#[derive(Debug)]
pub enum ControllerEvent {
    /// First event after start: watch `/controller` and try to become controller.
    Startup,
    /// `/controller` was created or changed: maybe another broker won (resign if we were active).
    ControllerChange,
    /// `/controller` was deleted: resign if needed and run an election.
    Reelect,
    /// The ZooKeeper session expired: resign (queued events are dropped first).
    Expire,
    /// A new session is up: re-register `/brokers/ids/<id>` (new broker epoch) and re-elect.
    RegisterBrokerAndReelect,
    /// Children of `/brokers/ids` changed.
    BrokerChange,
    /// Data of `/brokers/ids/<id>` changed (endpoints, features).
    BrokerModifications(i32),
    /// Children of `/brokers/topics` changed.
    TopicChange,
    /// Data of `/brokers/topics/<T>` changed (partitions added).
    PartitionModifications(String),
    /// Children of `/admin/delete_topics` changed.
    TopicDeletion,
    /// A broker answered a LeaderAndIsr request.
    LeaderAndIsrResponseReceived {
        /// The broker that answered.
        broker_id: i32,
        /// Top-level error code.
        error_code: i16,
        /// Per-partition error codes.
        partition_errors: Vec<(TopicPartition, i16)>,
    },
    /// A broker answered an UpdateMetadata request.
    UpdateMetadataResponseReceived {
        /// The broker that answered.
        broker_id: i32,
        /// Error code.
        error_code: i16,
    },
    /// A broker answered a StopReplica request that deleted partitions of topics being deleted.
    TopicDeletionStopReplicaResponseReceived {
        /// The broker that answered.
        broker_id: i32,
        /// Top-level error code.
        error_code: i16,
        /// Error code of every partition the request asked to delete.
        partition_errors: Vec<(TopicPartition, i16)>,
    },
    /// A broker asked to shut down in a controlled way; the reply lists the partitions it still leads.
    ControlledShutdown {
        /// The broker shutting down.
        broker_id: i32,
        /// Its broker epoch (-1 = unknown, ControlledShutdown v0-1).
        broker_epoch: i64,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Vec<TopicPartition>, ControlledShutdownError>>,
    },
    /// A leader asked to change ISRs (AlterIsr).
    AlterIsrReceived {
        /// The decoded request.
        request: AlterIsrRequestData,
        /// Where the answer goes.
        reply: oneshot::Sender<AlterPartitionResponse>,
    },
    /// Children of `/isr_change_notification` changed (brokers on the ZooKeeper ISR path).
    IsrChangeNotification,
    /// Children of `/log_dir_event_notification` changed: a broker reported a failed log dir.
    LogDirEventNotification,
    /// A leader election requested by an admin client, `/admin/preferred_replica_election`, or the
    /// auto-rebalance task. `partitions` is `None` for "read the znode" (ZooKeeper trigger) or "all
    /// partitions" (admin client).
    ReplicaLeaderElection {
        /// Partitions to elect.
        partitions: Option<Vec<TopicPartition>>,
        /// Preferred or unclean.
        election_type: ElectionType,
        /// Who asked.
        trigger: ElectionTrigger,
        /// Admin client answer.
        reply: Option<oneshot::Sender<PartitionResults>>,
    },
    /// The periodic auto leader rebalance check.
    AutoPreferredReplicaLeaderElection,
    /// `/admin/reassign_partitions` was created (or must be re-checked).
    ZkPartitionReassignment,
    /// AlterPartitionReassignments: target replicas per partition, `None` = cancel.
    ApiPartitionReassignment {
        /// Requested targets.
        reassignments: Vec<(TopicPartition, Option<Vec<i32>>)>,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<PartitionResults, ApiError>>,
    },
    /// ListPartitionReassignments (`None` = every ongoing reassignment).
    ListPartitionReassignments {
        /// Partitions asked about.
        partitions: Option<Vec<TopicPartition>>,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Vec<(TopicPartition, ReplicaAssignment)>, ApiError>>,
    },
    /// Stop: resign, stop the channel manager and end the loop; `done` is answered at the end.
    Shutdown(Option<oneshot::Sender<()>>),
}

impl ControllerEvent {
    /// Short name for logs and metrics (Kafka's `ControllerState`).
    pub fn name(&self) -> &'static str {
        match self {
            ControllerEvent::Startup => "Startup",
            ControllerEvent::ControllerChange => "ControllerChange",
            ControllerEvent::Reelect => "Reelect",
            ControllerEvent::Expire => "Expire",
            ControllerEvent::RegisterBrokerAndReelect => "RegisterBrokerAndReelect",
            ControllerEvent::BrokerChange => "BrokerChange",
            ControllerEvent::BrokerModifications(_) => "BrokerModifications",
            ControllerEvent::TopicChange => "TopicChange",
            ControllerEvent::PartitionModifications(_) => "PartitionModifications",
            ControllerEvent::TopicDeletion => "TopicDeletion",
            ControllerEvent::LeaderAndIsrResponseReceived { .. } => "LeaderAndIsrResponseReceived",
            ControllerEvent::UpdateMetadataResponseReceived { .. } => "UpdateMetadataResponseReceived",
            ControllerEvent::TopicDeletionStopReplicaResponseReceived { .. } => {
                "TopicDeletionStopReplicaResponseReceived"
            }
            ControllerEvent::ControlledShutdown { .. } => "ControlledShutdown",
            ControllerEvent::AlterIsrReceived { .. } => "AlterIsrReceived",
            ControllerEvent::IsrChangeNotification => "IsrChangeNotification",
            ControllerEvent::LogDirEventNotification => "LogDirEventNotification",
            ControllerEvent::ReplicaLeaderElection { .. } => "ReplicaLeaderElection",
            ControllerEvent::AutoPreferredReplicaLeaderElection => "AutoPreferredReplicaLeaderElection",
            ControllerEvent::ZkPartitionReassignment => "ZkPartitionReassignment",
            ControllerEvent::ApiPartitionReassignment { .. } => "ApiPartitionReassignment",
            ControllerEvent::ListPartitionReassignments { .. } => "ListPartitionReassignments",
            ControllerEvent::Shutdown(_) => "Shutdown",
        }
    }

    /// Whether the event survives the queue purge done on session expiry (Kafka clears the queue
    /// before `Expire`; events about the new session and shutdown must not be lost).
    pub fn survives_expiry_purge(&self) -> bool {
        matches!(self, ControllerEvent::RegisterBrokerAndReelect | ControllerEvent::Shutdown(_) | ControllerEvent::Expire)
    }
}
