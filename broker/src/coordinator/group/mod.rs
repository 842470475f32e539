//! The group coordinator: consumer-group membership and committed offsets, persisted in
//! `__consumer_offsets` (Kafka's `kafka.coordinator.group`).
//!
//! * [`records`] — the byte layout of `__consumer_offsets` keys and values (pure).

pub mod records;
