//! `Log`: one partition's log — an ordered set of [`LogSegment`]s plus the offsets the broker
//! cares about (log start, log end, high watermark, recovery point) and the leader epoch cache.
//!
//! Concurrency: appends and segment-list changes take `inner` (one mutex); reads take it only
//! to pick a segment (an `Arc` clone) and do their preads without it. Offsets are atomics so
//! the broker can read them without locking.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::append_info::{LogAppendInfo, TimestampAndOffset};
use crate::config::LogConfig;
use crate::error::{IoContext, StorageError};
use crate::file_slice::{FetchDataInfo, FileSlice};
use crate::leader_epoch::LeaderEpochFileCache;
use crate::log_segment::{segment_file, LogSegment, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use crate::log_dir_failure_channel::LogDirFailureChannel;
use crate::log_validator;
use crate::scheduler::DelayedDeleter;
use crate::TopicPartition;

/// Milliseconds since the Unix epoch (the clock used when the caller gives none).
pub fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A random jitter in `[0, min(jitter, segment.ms))` for a new segment.
pub(crate) fn random_jitter(config: &LogConfig) -> i64 {
    let bound = config.segment_jitter_ms.min(config.segment_ms);
    if bound <= 0 {
        return 0;
    }
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(wall_clock_ms());
    (h.finish() % bound as u64) as i64
}

/// Segments by base offset; guarded by `Log::inner`.
pub(crate) struct LogInner {
    pub(crate) segments: BTreeMap<i64, Arc<LogSegment>>,
}

impl LogInner {
    pub(crate) fn active(&self) -> Option<&Arc<LogSegment>> {
        self.segments.values().next_back()
    }
}

/// One partition's log on disk.
pub struct Log {
    pub(crate) tp: TopicPartition,
    pub(crate) dir: PathBuf,
    pub(crate) config: RwLock<Arc<LogConfig>>,
    pub(crate) inner: Mutex<LogInner>,
    pub(crate) log_start_offset: AtomicI64,
    pub(crate) log_end_offset: AtomicI64,
    pub(crate) high_watermark: AtomicI64,
    pub(crate) recovery_point: Arc<AtomicI64>,
    pub(crate) last_flush_ms: AtomicI64,
    pub(crate) epoch_cache: LeaderEpochFileCache,
    pub(crate) deleter: Arc<DelayedDeleter>,
    pub(crate) flush_lock: Mutex<()>,
    /// The log dir holding `dir` (one entry of `log.dirs`): what goes offline on an I/O error.
    pub(crate) log_dir: PathBuf,
    /// Where an I/O error marks `log_dir` offline (see [`crate::log_io_guard`]).
    pub(crate) failure_channel: Arc<LogDirFailureChannel>,
}

impl Log {
    pub(crate) fn lock(&self) -> MutexGuard<'_, LogInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn config_arc(&self) -> Arc<LogConfig> {
        self.config.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The partition this log belongs to.
    pub fn topic_partition(&self) -> &TopicPartition {
        &self.tp
    }
    /// The partition directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// The log dir (entry of `log.dirs`) holding the partition directory (Kafka's `parentDir`).
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }
    /// The effective config (a copy).
    pub fn config(&self) -> LogConfig {
        (*self.config_arc()).clone()
    }
    /// Replaces the config (dynamic topic config change); takes effect for the next append/roll.
    pub fn update_config(&self, config: LogConfig) {
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config);
    }
    /// First offset still readable.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset.load(Ordering::Acquire)
    }
    /// Offset the next appended record will get.
    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset.load(Ordering::Acquire)
    }
    /// High watermark as last set by the broker.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.load(Ordering::Acquire)
    }
    /// Set by the broker's ReplicaManager; clamped to [log_start, LEO]; returns the value stored.
    pub fn update_high_watermark(&self, hw: i64) -> i64 {
        let v = hw.clamp(self.log_start_offset(), self.log_end_offset());
        self.high_watermark.store(v, Ordering::Release);
        v
    }
    /// Offset up to which everything is fsync'd.
    pub fn recovery_point(&self) -> i64 {
        self.recovery_point.load(Ordering::Acquire)
    }
    /// Sum of segment sizes.
    pub fn size_in_bytes(&self) -> u64 {
        self.lock().segments.values().map(|s| s.size()).sum()
    }
    /// Number of segments.
    pub fn num_segments(&self) -> usize {
        self.lock().segments.len()
    }
    /// Base offsets of all segments, oldest first (tests and tools).
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.lock().segments.keys().copied().collect()
    }
    /// All segments, oldest first (tools and tests).
    pub fn segments(&self) -> Vec<Arc<LogSegment>> {
        self.lock().segments.values().cloned().collect()
    }
    /// The partition's leader epoch cache.
    pub fn leader_epoch_cache(&self) -> &LeaderEpochFileCache {
        &self.epoch_cache
    }
    /// Wall-clock time of the last flush.
    pub fn last_flush_ms(&self) -> i64 {
        self.last_flush_ms.load(Ordering::Acquire)
    }

    /// Leader append of the raw bytes of one Produce partition's `records` field (one or more v2
    /// batches). Validates (see `log_validator`: magic, length, CRC, count vs lastOffsetDelta,
    /// record framing of uncompressed batches — compressed batches are checked at header level
    /// only, never decompressed), assigns offsets and stamps `leader_epoch` by rewriting copies
    /// of the 61-byte headers and writes headers + untouched bodies with one pwritev.
    pub(crate) fn append_as_leader_unguarded(&self, records: &[u8], leader_epoch: i32, now_ms: i64) -> Result<LogAppendInfo, StorageError> {
        let config = self.config_arc();
        let validated = log_validator::validate_for_leader(records, &config, now_ms)?;
        if validated.batches.is_empty() {
            return Ok(self.empty_append_info());
        }
        let mut inner = self.lock();
        let first_offset = self.log_end_offset();
        let mut next = first_offset;
        let mut headers = Vec::with_capacity(validated.batches.len());
        let (mut max_ts, mut offset_of_max_ts) = (-1i64, first_offset);
        for plan in &validated.batches {
            headers.push(log_validator::rewrite_header(records, plan, next, leader_epoch, now_ms));
            if plan.max_timestamp > max_ts {
                max_ts = plan.max_timestamp;
                offset_of_max_ts = next + plan.offset_delta_of_max_timestamp as i64;
            }
            next += plan.header.last_offset_delta as i64 + 1;
        }
        let last_offset = next - 1;
        let mut pieces: Vec<&[u8]> = Vec::with_capacity(2 * headers.len());
        for (hdr, plan) in headers.iter().zip(&validated.batches) {
            pieces.push(&hdr[..]);
            pieces.push(&records[plan.pos + crate::record_batch::HEADER_SIZE..plan.pos + plan.size]);
        }
        let seg = self.maybe_roll(&mut inner, &config, validated.total_size, max_ts, first_offset, last_offset, now_ms)?;
        seg.append(last_offset, max_ts, offset_of_max_ts, &pieces, config.index_interval_bytes)?;
        self.epoch_cache.assign(leader_epoch, first_offset)?;
        self.log_end_offset.store(next, Ordering::Release);
        drop(inner);
        self.maybe_flush_after_append(&config, now_ms)?;
        let lat = config.message_timestamp_type == crate::TimestampType::LogAppendTime;
        Ok(LogAppendInfo {
            first_offset,
            last_offset,
            max_timestamp: max_ts,
            offset_of_max_timestamp: offset_of_max_ts,
            log_append_time: if lat { now_ms } else { -1 },
            log_start_offset: self.log_start_offset(),
            num_messages: validated.num_messages,
            valid_bytes: validated.total_size,
        })
    }

    /// Follower/replication append: batches already carry offsets & epochs; validates structure
    /// and CRC and that offsets are monotonic and >= LEO; nothing is rewritten.
    pub(crate) fn append_as_follower_unguarded(&self, records: &[u8]) -> Result<LogAppendInfo, StorageError> {
        let config = self.config_arc();
        let batches = log_validator::split_batches(records)?;
        if batches.is_empty() {
            return Ok(self.empty_append_info());
        }
        if records.len() > config.segment_bytes.max(0) as usize {
            return Err(StorageError::RecordListTooLarge { size: records.len(), max: config.segment_bytes });
        }
        let mut inner = self.lock();
        let leo = self.log_end_offset();
        let mut prev_last: Option<i64> = None;
        let (mut max_ts, mut offset_of_max_ts, mut num) = (-1i64, -1i64, 0i64);
        for (_, h, _) in &batches {
            if prev_last.is_some_and(|p| h.base_offset <= p) {
                return Err(StorageError::InvalidRecord(format!("out of order offsets: batch at {} after {:?}", h.base_offset, prev_last)));
            }
            prev_last = Some(h.last_offset());
            if h.max_timestamp > max_ts {
                max_ts = h.max_timestamp;
                offset_of_max_ts = h.last_offset();
            }
            num += h.records_count as i64;
        }
        let first_offset = batches[0].1.base_offset;
        let last_offset = prev_last.unwrap_or(first_offset);
        if first_offset < leo {
            return Err(StorageError::InvalidRecord(format!(
                "unexpected append offset {first_offset} for {}: log end offset is {leo}",
                self.tp
            )));
        }
        let now_ms = wall_clock_ms();
        let seg = self.maybe_roll(&mut inner, &config, records.len(), max_ts, first_offset, last_offset, now_ms)?;
        seg.append(last_offset, max_ts, offset_of_max_ts, &[records], config.index_interval_bytes)?;
        // Kafka's `maybeAssignEpochStartOffset` for every batch: an entry of this log that the
        // leader's batches contradict (an epoch this broker led without appending) goes.
        for (_, h, _) in &batches {
            self.epoch_cache.assign(h.partition_leader_epoch, h.base_offset)?;
        }
        self.log_end_offset.store(last_offset + 1, Ordering::Release);
        drop(inner);
        self.maybe_flush_after_append(&config, now_ms)?;
        Ok(LogAppendInfo {
            first_offset,
            last_offset,
            max_timestamp: max_ts,
            offset_of_max_timestamp: offset_of_max_ts,
            log_append_time: -1,
            log_start_offset: self.log_start_offset(),
            num_messages: num,
            valid_bytes: records.len(),
        })
    }

    fn empty_append_info(&self) -> LogAppendInfo {
        LogAppendInfo {
            first_offset: -1,
            last_offset: -1,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            log_append_time: -1,
            log_start_offset: self.log_start_offset(),
            num_messages: 0,
            valid_bytes: 0,
        }
    }

    fn maybe_flush_after_append(&self, config: &LogConfig, now_ms: i64) -> Result<(), StorageError> {
        if self.log_end_offset() - self.recovery_point() >= config.flush_messages {
            self.flush_at(now_ms)?;
        }
        Ok(())
    }

    /// Rolls if the active segment cannot take this append (spec §4.3); returns the segment to
    /// append to.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn maybe_roll(
        &self,
        inner: &mut LogInner,
        config: &LogConfig,
        append_size: usize,
        max_ts_in_append: i64,
        first_offset: i64,
        last_offset: i64,
        now_ms: i64,
    ) -> Result<Arc<LogSegment>, StorageError> {
        let Some(seg) = inner.active().cloned() else {
            return self.roll(inner, config, first_offset.max(self.log_end_offset()), now_ms);
        };
        let size = seg.size() as i64;
        let full_by_size = size > config.segment_bytes as i64 - append_size as i64;
        let full_by_time = size > 0
            && seg.time_waited_for_roll(now_ms, max_ts_in_append) > config.segment_ms - seg.roll_jitter_ms();
        let rel_ok = last_offset - seg.base_offset() >= 0 && last_offset - seg.base_offset() <= i32::MAX as i64;
        if full_by_size || full_by_time || seg.indexes_full() || !rel_ok {
            tracing::debug!(
                "rolling {}: size={size} full_by_size={full_by_size} full_by_time={full_by_time} rel_ok={rel_ok}",
                self.tp
            );
            self.roll(inner, config, first_offset.max(self.log_end_offset()), now_ms)
        } else {
            Ok(seg)
        }
    }

    /// Starts a new active segment at `new_base` (trimming the old one's indexes and flushing it
    /// in the background so the recovery point can advance).
    pub(crate) fn roll(&self, inner: &mut LogInner, config: &LogConfig, new_base: i64, now_ms: i64) -> Result<Arc<LogSegment>, StorageError> {
        if let Some(active) = inner.active().cloned() {
            if active.base_offset() == new_base && active.size() == 0 {
                return Ok(active);
            }
            active.on_become_inactive()?;
        }
        for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
            let p = segment_file(&self.dir, new_base, suffix);
            if p.exists() {
                tracing::warn!("deleting stale file {} before rolling", p.display());
                std::fs::remove_file(&p).ctx(|| format!("deleting {}", p.display()))?;
            }
        }
        let seg = Arc::new(LogSegment::open(
            &self.dir,
            new_base,
            Some(config.segment_index_bytes.max(0) as usize),
            now_ms,
            random_jitter(config),
        )?);
        inner.segments.insert(new_base, seg.clone());
        // Flush the segments below the new one in the background (Kafka's "flush-log" task).
        let rp_now = self.recovery_point();
        let from = inner.segments.range(..=rp_now).next_back().map_or(i64::MIN, |(b, _)| *b);
        let to_flush: Vec<Arc<LogSegment>> = inner.segments.range(from..new_base).map(|(_, s)| s.clone()).collect();
        let rp = self.recovery_point.clone();
        let tp = self.tp.clone();
        let (channel, log_dir) = (self.failure_channel.clone(), self.log_dir.clone());
        let spawn = std::thread::Builder::new().name(format!("flush-{tp}")).spawn(move || {
            for s in &to_flush {
                if let Err(e) = s.flush() {
                    let msg = format!("Error while flushing the rolled segments of {tp} in dir {}", log_dir.display());
                    channel.maybe_add_offline_log_dir(&log_dir, &msg, &e);
                    return;
                }
            }
            rp.fetch_max(new_base, Ordering::AcqRel);
        });
        if let Err(e) = spawn {
            tracing::warn!("could not start background flush for {}: {e}", self.tp);
        }
        Ok(seg)
    }

    /// Locate bytes to send for a fetch starting at `start_offset`: a file slice (nothing read
    /// into memory) starting at the batch containing `start_offset`, at most `max_bytes` long
    /// (or the whole first batch if `min_one_message`), never extending past the batch boundary
    /// at `max_offset` (exclusive). Offset outside [log_start, LEO] → OffsetOutOfRange.
    pub(crate) fn read_unguarded(&self, start_offset: i64, max_bytes: u32, max_offset: i64, min_one_message: bool) -> Result<FetchDataInfo, StorageError> {
        let (ls, leo) = (self.log_start_offset(), self.log_end_offset());
        if start_offset < ls || start_offset > leo {
            return Err(StorageError::OffsetOutOfRange { offset: start_offset, log_start_offset: ls, log_end_offset: leo });
        }
        let mut seg = {
            let inner = self.lock();
            match inner.segments.range(..=start_offset).next_back().or_else(|| inner.segments.iter().next()) {
                Some((_, s)) => s.clone(),
                None => return Err(StorageError::OffsetOutOfRange { offset: start_offset, log_start_offset: ls, log_end_offset: leo }),
            }
        };
        let empty = |seg: &Arc<LogSegment>, pos: u64| FetchDataInfo {
            fetch_offset: start_offset,
            records: FileSlice { file: seg.file().clone(), position: pos, len: 0 },
        };
        if start_offset >= max_offset {
            return Ok(empty(&seg, seg.size()));
        }
        loop {
            let size = seg.size();
            let ctx = || format!("reading {}", seg.log_path().display());
            if let Some(bp) = seg.translate_offset(start_offset, size).ctx(ctx)? {
                let max_pos = match seg.translate_offset(max_offset, size).ctx(ctx)? {
                    Some(m) => m.position,
                    None => size,
                };
                if bp.position >= max_pos {
                    return Ok(empty(&seg, bp.position));
                }
                let avail = max_pos - bp.position;
                let first = bp.header.size_in_bytes() as u64;
                let limit = if min_one_message { (max_bytes as u64).max(first) } else { max_bytes as u64 };
                let len = avail.min(limit).min(u32::MAX as u64) as u32;
                return Ok(FetchDataInfo {
                    fetch_offset: start_offset,
                    records: FileSlice { file: seg.file().clone(), position: bp.position, len },
                });
            }
            let next = {
                let inner = self.lock();
                inner.segments.range(seg.base_offset() + 1..).next().map(|(_, s)| s.clone())
            };
            match next {
                Some(n) => seg = n,
                None => return Ok(empty(&seg, size)),
            }
        }
    }

    /// ListOffsets by timestamp: first offset whose record timestamp >= `ts` (via the time index
    /// and a header scan), with its batch's leader epoch; `None` if no such record.
    pub(crate) fn fetch_offset_by_timestamp_unguarded(&self, ts: i64) -> Result<Option<TimestampAndOffset>, StorageError> {
        let segments = self.segments();
        let start = self.log_start_offset();
        for seg in segments.iter().filter(|s| s.max_timestamp_so_far() >= ts) {
            let found = seg.find_offset_by_timestamp(ts, start).ctx(|| format!("reading {}", seg.log_path().display()))?;
            if let Some((t, o, e)) = found {
                return Ok(Some(TimestampAndOffset { timestamp: t, offset: o, leader_epoch: (e >= 0).then_some(e) }));
            }
        }
        Ok(None)
    }

    /// fsyncs every segment holding data past the recovery point; the recovery point becomes LEO.
    pub(crate) fn flush_at_unguarded(&self, now_ms: i64) -> Result<(), StorageError> {
        let _g = self.flush_lock.lock().unwrap_or_else(|p| p.into_inner());
        let leo = self.log_end_offset();
        let rp = self.recovery_point();
        if leo > rp {
            let segs: Vec<Arc<LogSegment>> = {
                let inner = self.lock();
                let from = inner.segments.range(..=rp).next_back().map_or(i64::MIN, |(b, _)| *b);
                inner.segments.range(from..).map(|(_, s)| s.clone()).collect()
            };
            for s in segs {
                s.flush()?;
            }
            self.recovery_point.fetch_max(leo, Ordering::AcqRel);
        }
        self.last_flush_ms.store(now_ms, Ordering::Release);
        Ok(())
    }
}
