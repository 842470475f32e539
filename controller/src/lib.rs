//! Kafka 2.8's ZooKeeper-mode controller.
//!
//! One broker at a time wins the `/controller` election and becomes the active controller. It keeps
//! an in-memory [`ControllerContext`] of the cluster, drives every partition and replica through
//! Kafka's state machines, writes leadership decisions to ZooKeeper fenced by the controller epoch,
//! and tells brokers what to do with LeaderAndIsr, UpdateMetadata and StopReplica requests.
//!
//! Layout (one concept per module, named after Kafka's classes):
//! * [`KafkaController`] — the handle the broker holds; a single event loop task behind it.
//! * [`ControllerEvent`] — everything the loop reacts to.
//! * [`ControllerCore`] — election, failover, resignation and event dispatch (`KafkaController.scala`),
//!   with broker membership, topic events and topic deletion in their own modules.
//! * [`ControllerContext`] — the controller's view of the cluster.
//! * [`PartitionStateMachine`], [`ReplicaStateMachine`], [`TopicDeletionManager`] — pure decisions
//!   plus drivers that do the fenced ZooKeeper writes through [`zk_executor`].
//! * [`ControllerBrokerRequestBatch`] and [`ControllerChannelManager`] — requests to brokers.
//! * Operations (issue #3): [`controlled_shutdown`] (ControlledShutdown RPC), [`alter_isr`] (AlterIsr
//!   and `/isr_change_notification`), [`leader_election`] (ElectLeaders, `/admin/preferred_replica_election`,
//!   auto leader rebalance), [`reassignment`] (`/admin/reassign_partitions`, AlterPartitionReassignments,
//!   ListPartitionReassignments); their request/answer types and Kafka error codes are in [`requests_api`].

#![warn(missing_docs)]

pub mod alter_isr;
pub mod broker_membership;
pub mod channel_manager;
pub mod config;
pub mod context;
pub mod controlled_shutdown;
pub mod controller_core;
pub mod election;
pub mod error;
pub mod event;
pub mod kafka_controller;
pub mod leader_election;
pub mod log_dir_event;
pub mod partition_state_machine;
pub mod reassignment;
pub mod replica_state_machine;
pub mod request_batch;
pub mod requests;
pub mod requests_api;
pub mod topic_deletion_manager;
pub mod topic_events;
pub mod zk_backend;
pub mod zk_executor;

#[cfg(test)]
mod test_support;

pub use channel_manager::{BrokerRequestSink, ControllerChannelManager};
pub use config::ControllerConfig;
pub use context::{ControllerContext, LeaderAndIsr, LeaderIsrAndControllerEpoch, PartitionAndReplica, TopicPartition};
pub use controller_core::ControllerCore;
pub use error::ControllerError;
pub use event::ControllerEvent;
pub use kafka_controller::KafkaController;
pub use partition_state_machine::{PartitionState, PartitionStateMachine};
pub use replica_state_machine::{ReplicaState, ReplicaStateMachine};
pub use requests_api::{ApiError, ControlledShutdownError, ElectionTrigger, ElectionType, PartitionResults};
pub use request_batch::{ControllerBrokerRequestBatch, ControllerRequest};
pub use topic_deletion_manager::TopicDeletionManager;
pub use zk_backend::{ControllerZk, WatchTarget, ZkBackend};

#[cfg(test)]
mod scale_tests;
