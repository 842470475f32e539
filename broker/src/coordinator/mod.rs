//! Coordinators hosted by every broker. Only the group coordinator exists (Kafka's
//! `kafka.coordinator.group`); the transaction coordinator is not built.

pub mod group;
