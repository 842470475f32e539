//! Result types of appends and timestamp lookups, consumed by the broker's Produce and
//! ListOffsets handlers.

/// What an append did; the broker builds its Produce response from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogAppendInfo {
    /// First offset assigned (-1 if nothing was appended).
    pub first_offset: i64,
    /// Last offset assigned (-1 if nothing was appended).
    pub last_offset: i64,
    /// Largest timestamp among the appended batches (-1 if none).
    pub max_timestamp: i64,
    /// Offset of the record with `max_timestamp`.
    pub offset_of_max_timestamp: i64,
    /// Broker append time when the topic uses LogAppendTime, else -1.
    pub log_append_time: i64,
    /// Log start offset after the append.
    pub log_start_offset: i64,
    /// Number of records appended.
    pub num_messages: i64,
    /// Bytes appended.
    pub valid_bytes: usize,
}

/// The answer to ListOffsets by timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampAndOffset {
    /// Timestamp of the record found.
    pub timestamp: i64,
    /// Its offset.
    pub offset: i64,
    /// Leader epoch of the batch holding it, if known.
    pub leader_epoch: Option<i32>,
}
