//! Kafka's `Log.maybeHandleIOException`: every public operation of a [`Log`] that touches its
//! files runs through [`Log::maybe_handle_io_exception`]. If the log dir is already offline the
//! operation is refused with [`StorageError::LogDirOffline`] before anything is written; if the
//! operation fails with an I/O error, the log dir is marked offline through the
//! [`LogDirFailureChannel`](crate::LogDirFailureChannel) and the error is returned. So after the
//! first I/O error nothing more is written to that dir: a half-written batch stays as a torn tail
//! that recovery truncates at the next start.
//!
//! The operations themselves are the `*_unguarded` methods next to their concern (`log.rs`,
//! `log_retention.rs`, `cleaner/swap.rs`); this module only wraps them.

use std::sync::Arc;

use crate::append_info::{LogAppendInfo, TimestampAndOffset};
use crate::error::StorageError;
use crate::file_slice::FetchDataInfo;
use crate::log::{wall_clock_ms, Log};
use crate::log_segment::LogSegment;

impl Log {
    /// Whether this log's dir is offline (every write is then refused).
    pub fn is_log_dir_offline(&self) -> bool {
        self.failure_channel.is_offline(&self.log_dir)
    }

    /// Runs `op` unless the log dir is offline; an I/O error from it marks the dir offline with
    /// the message `msg()` (what was being done).
    pub(crate) fn maybe_handle_io_exception<T>(
        &self,
        msg: impl FnOnce() -> String,
        op: impl FnOnce() -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        if self.is_log_dir_offline() {
            return Err(StorageError::LogDirOffline { dir: self.log_dir.clone() });
        }
        let result = op();
        if let Err(e) = &result {
            if e.is_io() {
                self.failure_channel.maybe_add_offline_log_dir(&self.log_dir, &msg(), e);
            }
        }
        result
    }

    fn in_dir(&self) -> String {
        format!("{} in dir {}", self.tp, self.log_dir.display())
    }

    /// Leader append (see `append_as_leader_unguarded`: validation, offsets, one pwritev).
    pub fn append_as_leader(&self, records: &[u8], leader_epoch: i32, now_ms: i64) -> Result<LogAppendInfo, StorageError> {
        self.maybe_handle_io_exception(
            || format!("Error while appending records to {}", self.in_dir()),
            || self.append_as_leader_unguarded(records, leader_epoch, now_ms),
        )
    }

    /// Follower append (see `append_as_follower_unguarded`).
    pub fn append_as_follower(&self, records: &[u8]) -> Result<LogAppendInfo, StorageError> {
        self.maybe_handle_io_exception(
            || format!("Error while appending replicated records to {}", self.in_dir()),
            || self.append_as_follower_unguarded(records),
        )
    }

    /// A file slice for a fetch (see `read_unguarded`); a failed read also takes the dir offline.
    pub fn read(&self, start_offset: i64, max_bytes: u32, max_offset: i64, min_one_message: bool) -> Result<FetchDataInfo, StorageError> {
        self.maybe_handle_io_exception(
            || format!("Error while reading from {}", self.in_dir()),
            || self.read_unguarded(start_offset, max_bytes, max_offset, min_one_message),
        )
    }

    /// ListOffsets by timestamp (see `fetch_offset_by_timestamp_unguarded`).
    pub fn fetch_offset_by_timestamp(&self, ts: i64) -> Result<Option<TimestampAndOffset>, StorageError> {
        self.maybe_handle_io_exception(
            || format!("Error while looking up timestamp {ts} in {}", self.in_dir()),
            || self.fetch_offset_by_timestamp_unguarded(ts),
        )
    }

    /// fsyncs every segment holding data past the recovery point; the recovery point becomes LEO.
    pub fn flush(&self) -> Result<(), StorageError> {
        self.flush_at(wall_clock_ms())
    }

    /// [`Log::flush`] stamped with `now_ms` as the last flush time.
    pub(crate) fn flush_at(&self, now_ms: i64) -> Result<(), StorageError> {
        self.maybe_handle_io_exception(|| format!("Error while flushing {}", self.in_dir()), || self.flush_at_unguarded(now_ms))
    }

    /// Retention pass (see `delete_old_segments_unguarded`).
    pub fn delete_old_segments(&self, now_ms: i64) -> Result<usize, StorageError> {
        self.maybe_handle_io_exception(
            || format!("Error while deleting old segments of {}", self.in_dir()),
            || self.delete_old_segments_unguarded(now_ms),
        )
    }

    /// Advance the log start offset (see `maybe_increment_log_start_offset_unguarded`).
    pub fn maybe_increment_log_start_offset(&self, offset: i64) -> Result<(), StorageError> {
        self.maybe_handle_io_exception(
            || format!("Error while moving the log start offset of {} to {offset}", self.in_dir()),
            || self.maybe_increment_log_start_offset_unguarded(offset),
        )
    }

    /// Truncation for replication (see `truncate_to_unguarded`).
    pub fn truncate_to(&self, offset: i64) -> Result<bool, StorageError> {
        self.maybe_handle_io_exception(
            || format!("Error while truncating {} to offset {offset}", self.in_dir()),
            || self.truncate_to_unguarded(offset),
        )
    }

    /// Empties the log and restarts it at `offset` (see `truncate_fully_and_start_at_unguarded`).
    pub fn truncate_fully_and_start_at(&self, offset: i64) -> Result<(), StorageError> {
        self.maybe_handle_io_exception(
            || format!("Error while truncating {} fully to start at offset {offset}", self.in_dir()),
            || self.truncate_fully_and_start_at_unguarded(offset),
        )
    }

    /// Clean close (see `close_unguarded`).
    pub fn close(&self) -> Result<(), StorageError> {
        self.maybe_handle_io_exception(|| format!("Error while closing {}", self.in_dir()), || self.close_unguarded())
    }

    /// The cleaner's segment swap (see `replace_segments_unguarded`).
    pub fn replace_segments(&self, new: &Arc<LogSegment>, old: &[Arc<LogSegment>]) -> Result<bool, StorageError> {
        self.maybe_handle_io_exception(
            || format!("Error while swapping cleaned segments into {}", self.in_dir()),
            || self.replace_segments_unguarded(new, old),
        )
    }

    /// Records that `epoch` starts at `start_offset` in the leader epoch cache (the broker does this
    /// when it becomes leader); a failed `leader-epoch-checkpoint` write takes the dir offline.
    pub fn assign_epoch_start_offset(&self, epoch: i32, start_offset: i64) -> Result<(), StorageError> {
        self.maybe_handle_io_exception(
            || format!("Error while writing the leader epoch checkpoint of {}", self.in_dir()),
            || self.epoch_cache.assign(epoch, start_offset),
        )
    }
}
