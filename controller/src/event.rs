//! `ControllerEvent`: everything the controller event loop reacts to.
//!
//! ZooKeeper watches, the session listener, broker responses and the public handle only enqueue
//! events; the single loop task processes them one at a time, so no controller state is shared.

use tokio::sync::oneshot;

use crate::context::TopicPartition;

/// One unit of controller work (Kafka's `ControllerEvent`). The enum is open: issue #3 adds
/// reassignment, preferred election, controlled shutdown and AlterIsr events.
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
            ControllerEvent::Shutdown(_) => "Shutdown",
        }
    }

    /// Whether the event survives the queue purge done on session expiry (Kafka clears the queue
    /// before `Expire`; events about the new session and shutdown must not be lost).
    pub fn survives_expiry_purge(&self) -> bool {
        matches!(self, ControllerEvent::RegisterBrokerAndReelect | ControllerEvent::Shutdown(_) | ControllerEvent::Expire)
    }
}
