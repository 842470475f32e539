//! Typed errors of the storage layer.
//!
//! Each variant corresponds to one Kafka error code so the broker can map a
//! failed append/read straight onto the wire (see [`StorageError::kafka_error_code`]).

use std::io;

/// Everything that can go wrong in the storage layer. The broker maps each
/// variant to a Kafka protocol error code with [`StorageError::kafka_error_code`].
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A batch failed its CRC or its structure is broken (Kafka `CORRUPT_MESSAGE`, code 2).
    #[error("corrupt record: {0}")]
    CorruptRecord(String),
    /// A batch is well formed but not acceptable, e.g. a control batch from a
    /// client or inconsistent offsets (Kafka `INVALID_RECORD`, code 87).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// A batch is larger than `max.message.bytes` (Kafka `MESSAGE_TOO_LARGE`, code 10).
    #[error("message too large: batch of {size} bytes exceeds max.message.bytes {max}")]
    MessageTooLarge {
        /// Size of the offending batch in bytes.
        size: usize,
        /// The effective `max.message.bytes`.
        max: i32,
    },
    /// An append is larger than `segment.bytes` (Kafka `RECORD_LIST_TOO_LARGE`, code 18).
    #[error("record batch too large: {size} bytes exceeds segment.bytes {max}")]
    RecordListTooLarge {
        /// Size of the append in bytes.
        size: usize,
        /// The effective `segment.bytes`.
        max: i32,
    },
    /// A record timestamp is outside `message.timestamp.difference.max.ms` (Kafka `INVALID_TIMESTAMP`, code 32).
    #[error("invalid timestamp: {0}")]
    InvalidTimestamp(String),
    /// The batch uses a magic other than 2 (Kafka `UNSUPPORTED_FOR_MESSAGE_FORMAT`, code 43).
    #[error("unsupported message format: magic {0}")]
    UnsupportedForMessageFormat(i8),
    /// A requested offset is outside `[log start, log end]` (Kafka `OFFSET_OUT_OF_RANGE`, code 1).
    #[error("offset {offset} out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        /// The offset that was requested.
        offset: i64,
        /// Log start offset at the time of the request.
        log_start_offset: i64,
        /// Log end offset at the time of the request.
        log_end_offset: i64,
    },
    /// Any file-system failure (Kafka `KAFKA_STORAGE_ERROR`, code 56).
    #[error("storage I/O error: {context}: {source}")]
    Io {
        /// What the storage layer was doing (usually with a path).
        context: String,
        /// The underlying OS error.
        #[source]
        source: io::Error,
    },
    /// The log dir is offline after an earlier I/O error: the log refuses every write (Kafka's
    /// `KafkaStorageException`, `KAFKA_STORAGE_ERROR`, code 56).
    #[error("the log dir {} is offline due to a previous I/O error", dir.display())]
    LogDirOffline {
        /// The offline log dir.
        dir: std::path::PathBuf,
    },
    /// At startup, none of `log.dirs` could be created, locked or loaded (Kafka halts the broker).
    #[error("Shutdown broker because none of the specified log dirs from {dirs} can be created or validated")]
    NoUsableLogDirs {
        /// The configured dirs, comma separated.
        dirs: String,
    },
    /// The last live log dir went offline (Kafka halts the broker).
    #[error("Shutdown broker because all log dirs in {dirs} have failed")]
    AllLogDirsFailed {
        /// The configured dirs, comma separated.
        dirs: String,
    },
    /// A partition that is not new (it may have data in an offline dir) cannot be created in a
    /// live dir (Kafka's `KafkaStorageException` from `getOrCreateLog`, code 56).
    #[error("Can not create log for {tp} because log directories {dirs} are offline")]
    CannotCreateLog {
        /// The partition, as `topic-partition`.
        tp: String,
        /// The offline dirs, comma separated.
        dirs: String,
    },
    /// A topic config value is unknown or invalid (Kafka `INVALID_CONFIG`, code 40).
    #[error("invalid value for config {key}: {reason}")]
    InvalidConfig {
        /// The config key, e.g. `segment.bytes`.
        key: String,
        /// Human-readable reason, shown to the client.
        reason: String,
    },
}

impl StorageError {
    /// The Kafka protocol error code the broker should answer with.
    pub fn kafka_error_code(&self) -> i16 {
        match self {
            StorageError::CorruptRecord(_) => 2,
            StorageError::InvalidRecord(_) => 87,
            StorageError::MessageTooLarge { .. } => 10,
            StorageError::RecordListTooLarge { .. } => 18,
            StorageError::InvalidTimestamp(_) => 32,
            StorageError::UnsupportedForMessageFormat(_) => 43,
            StorageError::OffsetOutOfRange { .. } => 1,
            StorageError::Io { .. }
            | StorageError::LogDirOffline { .. }
            | StorageError::NoUsableLogDirs { .. }
            | StorageError::AllLogDirsFailed { .. }
            | StorageError::CannotCreateLog { .. } => 56,
            StorageError::InvalidConfig { .. } => 40,
        }
    }

    /// Whether the error comes from the file system (so the log dir must go offline).
    pub fn is_io(&self) -> bool {
        matches!(self, StorageError::Io { .. })
    }

    /// Wraps an `io::Error` with a description of what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> StorageError {
        StorageError::Io { context: context.into(), source }
    }
}

/// Adds context to `io::Result`s so they become [`StorageError::Io`].
pub(crate) trait IoContext<T> {
    /// Converts the error into `StorageError::Io` with the lazily built context.
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, StorageError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, StorageError> {
        self.map_err(|e| StorageError::io(f(), e))
    }
}
