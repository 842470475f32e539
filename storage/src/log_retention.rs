//! Removing data from a [`Log`]: retention (time, size, log start offset — spec §4.4),
//! truncation for replication, log start offset moves (DeleteRecords) and closing.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::error::StorageError;
use crate::log::{wall_clock_ms, Log, LogInner};
use crate::log_segment::LogSegment;

impl Log {
    /// Retention pass: with a `delete` cleanup policy, segments past `retention.ms` (by largest
    /// timestamp, else mtime) and beyond `retention.bytes`; always, segments entirely below the
    /// log start offset. Only segments entirely below the high watermark are eligible, oldest
    /// first, stopping at the first ineligible one. Returns the number deleted.
    pub(crate) fn delete_old_segments_unguarded(&self, now_ms: i64) -> Result<usize, StorageError> {
        let config = self.config_arc();
        let mut deleted = 0;
        if config.cleanup_policy.is_delete() {
            if config.retention_ms >= 0 {
                let retention_ms = config.retention_ms;
                deleted += self.delete_segments_while(|seg, _next, _| now_ms - seg.largest_timestamp() > retention_ms)?;
            }
            if config.retention_bytes >= 0 {
                let total = self.size_in_bytes() as i64;
                if total >= config.retention_bytes {
                    let mut diff = total - config.retention_bytes;
                    deleted += self.delete_segments_while(move |seg, _next, _| {
                        let sz = seg.size() as i64;
                        if diff - sz >= 0 {
                            diff -= sz;
                            true
                        } else {
                            false
                        }
                    })?;
                }
            }
        }
        deleted += self.delete_segments_while(|_seg, next, log_start| next.is_some_and(|n| n.base_offset() <= log_start))?;
        Ok(deleted)
    }

    /// Deletes the longest prefix of segments satisfying `pred` that lies below the high
    /// watermark. If every segment goes, a new active segment is rolled first.
    fn delete_segments_while<F>(&self, mut pred: F) -> Result<usize, StorageError>
    where
        F: FnMut(&LogSegment, Option<&LogSegment>, i64) -> bool,
    {
        let config = self.config_arc();
        let mut inner = self.lock();
        let hw = self.high_watermark();
        let leo = self.log_end_offset();
        let log_start = self.log_start_offset();
        let segs: Vec<Arc<LogSegment>> = inner.segments.values().cloned().collect();
        let mut deletable = Vec::new();
        for (i, seg) in segs.iter().enumerate() {
            let next = segs.get(i + 1);
            let (upper, last_and_empty) = match next {
                Some(n) => (n.base_offset(), false),
                None => (leo, seg.size() == 0),
            };
            if hw >= upper && !last_and_empty && pred(seg, next.map(|n| n.as_ref()), log_start) {
                deletable.push(seg.clone());
            } else {
                break;
            }
        }
        if deletable.is_empty() {
            return Ok(0);
        }
        if deletable.len() == inner.segments.len() {
            self.roll(&mut inner, &config, leo, wall_clock_ms())?;
        }
        let n = deletable.len();
        self.remove_and_delete_segments(&mut inner, &deletable, config.file_delete_delay_ms)?;
        if let Some(first) = inner.segments.keys().next().copied() {
            self.raise_log_start_offset(first)?;
        }
        Ok(n)
    }

    /// Removes segments from the map, renames their files `.deleted` and schedules removal.
    pub(crate) fn remove_and_delete_segments(&self, inner: &mut LogInner, segs: &[Arc<LogSegment>], delay_ms: i64) -> Result<(), StorageError> {
        for seg in segs {
            inner.segments.remove(&seg.base_offset());
            tracing::info!("scheduling deletion of segment {} of {}", seg.base_offset(), self.tp);
            for p in seg.rename_to_deleted()? {
                self.deleter.schedule(p, delay_ms);
            }
        }
        Ok(())
    }

    fn raise_log_start_offset(&self, offset: i64) -> Result<(), StorageError> {
        let prev = self.log_start_offset.fetch_max(offset, Ordering::AcqRel);
        if offset > prev {
            self.high_watermark.fetch_max(offset, Ordering::AcqRel);
            self.recovery_point.fetch_max(offset, Ordering::AcqRel);
            self.epoch_cache.truncate_from_start(offset)?;
        }
        Ok(())
    }

    /// Advance the log start offset (DeleteRecords, follower), bounded by the high watermark.
    /// Segments entirely below it are removed by the next retention pass.
    pub(crate) fn maybe_increment_log_start_offset_unguarded(&self, offset: i64) -> Result<(), StorageError> {
        let hw = self.high_watermark();
        if offset > hw {
            return Err(StorageError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset(),
                log_end_offset: hw,
            });
        }
        let _inner = self.lock();
        self.raise_log_start_offset(offset)
    }

    /// Truncation (replication, Kafka's `Log.truncateTo`): drops batches, segments, index and
    /// epoch entries at and beyond `offset`; returns whether any data went.
    ///
    /// At or past the log end nothing is cut, but the leader epoch cache is still truncated at
    /// the log end: this broker may have led an epoch briefly and recorded its start without
    /// appending to it, and that entry (for an epoch the leader does not have) must go or every
    /// fetch would diverge on it again. Below the first segment the log restarts empty at
    /// `offset`; otherwise the log start offset drops to `offset` if it was past it.
    pub(crate) fn truncate_to_unguarded(&self, offset: i64) -> Result<bool, StorageError> {
        if offset < 0 {
            return Err(StorageError::OffsetOutOfRange { offset, log_start_offset: self.log_start_offset(), log_end_offset: self.log_end_offset() });
        }
        let config = self.config_arc();
        let mut inner = self.lock();
        let leo = self.log_end_offset();
        if offset >= leo {
            self.epoch_cache.truncate_from_end(leo)?;
            return Ok(false);
        }
        if inner.segments.keys().next().is_none_or(|&first| first > offset) {
            drop(inner);
            self.truncate_fully_and_start_at(offset)?;
            return Ok(true);
        }
        let doomed: Vec<Arc<LogSegment>> = inner.segments.range(offset + 1..).map(|(_, s)| s.clone()).collect();
        self.remove_and_delete_segments(&mut inner, &doomed, config.file_delete_delay_ms)?;
        let mut new_leo = offset;
        if let Some(active) = inner.active().cloned() {
            active.truncate_to(offset)?;
            new_leo = active
                .read_next_offset()
                .map_err(|e| StorageError::io(format!("reading {}", active.log_path().display()), e))?
                .max(active.base_offset());
            active.resize_indexes(config.segment_index_bytes.max(0) as usize)?;
        }
        self.log_end_offset.store(new_leo, Ordering::Release);
        self.epoch_cache.truncate_from_end(new_leo)?;
        if self.log_start_offset() > new_leo {
            self.log_start_offset.store(new_leo, Ordering::Release);
        }
        if self.high_watermark() > new_leo {
            self.high_watermark.store(new_leo, Ordering::Release);
        }
        if self.recovery_point() > new_leo {
            self.recovery_point.store(new_leo, Ordering::Release);
        }
        Ok(true)
    }

    /// Deletes every segment and restarts the log empty at `offset` (log start = LEO = HW = offset).
    pub(crate) fn truncate_fully_and_start_at_unguarded(&self, offset: i64) -> Result<(), StorageError> {
        let config = self.config_arc();
        let mut inner = self.lock();
        let all: Vec<Arc<LogSegment>> = inner.segments.values().cloned().collect();
        self.remove_and_delete_segments(&mut inner, &all, config.file_delete_delay_ms)?;
        let seg = Arc::new(LogSegment::open(
            &self.dir,
            offset,
            Some(config.segment_index_bytes.max(0) as usize),
            wall_clock_ms(),
            crate::log::random_jitter(&config),
        )?);
        inner.segments.insert(offset, seg);
        self.epoch_cache.clear()?;
        self.log_start_offset.store(offset, Ordering::Release);
        self.log_end_offset.store(offset, Ordering::Release);
        self.high_watermark.store(offset, Ordering::Release);
        self.recovery_point.store(offset, Ordering::Release);
        Ok(())
    }

    /// Clean close: flush, final time index entry and trimmed indexes for the active segment.
    pub(crate) fn close_unguarded(&self) -> Result<(), StorageError> {
        self.flush()?;
        let inner = self.lock();
        for seg in inner.segments.values() {
            seg.on_become_inactive()?;
            seg.flush()?;
        }
        Ok(())
    }
}
