//! The group coordinator: consumer-group membership and committed offsets, persisted in
//! `__consumer_offsets` (Kafka's `kafka.coordinator.group`).
//!
//! * [`records`] — the byte layout of `__consumer_offsets` keys and values (pure).
//! * [`metadata`] — `GroupMetadata`/`MemberMetadata`: one group's state and its rules (pure).
//! * [`membership`] — JoinGroup and the join phase; [`session`] — SyncGroup, Heartbeat,
//!   LeaveGroup and the timers. Both are pure transitions on a locked group.
//! * [`manager`] — `GroupMetadataManager`: partition ownership, loading/unloading, writes.
//! * [`coordinator`] — `GroupCoordinator`: what the API handlers call; [`offsets`] — its
//!   OffsetCommit/OffsetFetch/OffsetDelete half and offset expiry.

pub mod coordinator;
pub mod manager;
pub mod membership;
pub mod metadata;
pub mod offsets;
pub mod records;
pub mod session;

pub use coordinator::GroupCoordinator;
pub use manager::{GroupMetadataManager, GROUP_METADATA_TOPIC};
