//! Kafka wire protocol plumbing shared by the broker, the controller and the tools.
//!
//! This crate exists so that every component frames, parses and encodes requests and
//! responses the same way (header versions, the ApiVersions exception, size limits),
//! and so that all of them use one pinned version of `kafka-protocol` for message bodies.

/// Re-exported so dependents use exactly the same `kafka-protocol` version as `wire`.
pub use kafka_protocol;

/// The single Kafka error-code enum used project-wide (`code()` gives the wire `i16`).
pub use kafka_protocol::error::ResponseError;

pub mod client;
pub mod compression;
pub mod frame;
pub mod header;

pub use client::{ClientError, KafkaConnection};
pub use frame::{read_frame, FrameError};
pub use header::{
    encode_response, encode_response_prefix, parse_request_header, response_header_version,
    EncodeError, HeaderError, RequestHeader,
};
