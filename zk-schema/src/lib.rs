//! Kafka 2.8's ZooKeeper schema.
//!
//! Everything the brokers, the controller and the admin tools read from or write to ZooKeeper goes
//! through this crate, so that the znode layout and the JSON payloads stay byte-compatible with
//! Apache Kafka 2.8 in one place:
//!
//! * [`paths`] — every znode path Kafka uses, as functions.
//! * [`model`] — serde types for every JSON payload, with golden tests against Kafka's own output.
//! * [`client::KafkaZkClient`] — a thin async layer over `zookeeper-client` that adds what Kafka needs:
//!   chroot creation, session-expiry recovery, one-shot watches and controller-epoch-fenced writes.
//! * [`admin`] — topic administration shared by the CLI tools and the broker's admin API handlers.
//! * [`util`] — Java-compatible hashing and Kafka's base64 UUID rendering.

pub mod admin;
pub mod client;
pub mod error;
pub mod model;
pub mod paths;
pub mod util;

pub use client::{KafkaZkClient, SessionEvent, ZkStat};
pub use error::ZkError;
