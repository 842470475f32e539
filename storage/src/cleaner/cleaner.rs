//! `Cleaner`: one compaction pass over a log (Kafka's `Cleaner.doClean`).
//!
//! 1. Scan the dirty section into the [`OffsetMap`] (key -> last offset) until it is full.
//! 2. Recopy every segment below the mapped end, in groups that fit in one segment, keeping a
//!    record iff its offset is past the map's range, or it has a key, its offset is the latest
//!    for the key (or the key is not in the map) and it is not a tombstone past the delete
//!    horizon. A batch left without records is dropped unless it is the last batch of its
//!    producer, which stays as an empty batch (producer sequence state).
//! 3. Each group is written to `<base>.log.cleaned` (+ indexes), renamed `.swap`, swapped into
//!    the log in place of the group and renamed to its final name ([`Log::replace_segments`]).
//!
//! Compressed batches are decompressed, filtered and recompressed with the same codec when the
//! broker supplied a [`RecordsCodec`] (the storage crate has no codecs of its own); without one
//! they are kept whole and not mapped. Control and transactional batches are always kept whole
//! and not mapped (there is no aborted-transaction index). Keeping more than needed never loses
//! the latest value of a key.

use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::cleaner::batch_filter::{self, FilteredBatch, RecordsCodec};
use crate::cleaner::manager::{segments_overlapping, LogToClean};
use crate::cleaner::offset_map::OffsetMap;
use crate::cleaner::CleanerError;
use crate::error::{IoContext, StorageError};
use crate::log::{wall_clock_ms, Log};
use crate::log_segment::LogSegment;
use crate::record_batch::{self, RecordBatchHeader, HEADER_SIZE};

/// Suffix of segment files being written by the cleaner.
pub const CLEANED_FILE_SUFFIX: &str = ".cleaned";
/// Suffix of cleaned segment files being swapped into the log.
pub const SWAP_FILE_SUFFIX: &str = ".swap";

/// What one cleaning did (Kafka's `CleanerStats`); logged and used for throughput figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CleanerStats {
    /// Bytes scanned to build the offset map.
    pub map_bytes_read: u64,
    /// Records put into the offset map.
    pub map_messages_read: u64,
    /// Bytes of the segments recopied.
    pub bytes_read: u64,
    /// Bytes written to the cleaned segments.
    pub bytes_written: u64,
    /// Records read while recopying.
    pub messages_read: u64,
    /// Records written.
    pub messages_written: u64,
    /// Wall-clock seconds of the whole cleaning.
    pub elapsed_secs: f64,
    /// Share of the offset map in use.
    pub buffer_utilization: f64,
}

impl CleanerStats {
    /// Recopy throughput: MB (2^20 bytes) of log processed per second.
    pub fn mb_per_sec(&self) -> f64 {
        if self.elapsed_secs <= 0.0 {
            return 0.0;
        }
        (self.bytes_read as f64 / 1_048_576.0) / self.elapsed_secs
    }
}

/// Reads whole batches of a segment: `(position, header, bytes)` from `start` up to the segment's
/// size, one I/O of up to `chunk` bytes at a time (more when a single batch is bigger).
fn for_each_batch<F>(seg: &LogSegment, chunk: usize, mut f: F) -> Result<(), StorageError>
where
    F: FnMut(&RecordBatchHeader, &[u8]) -> Result<bool, StorageError>,
{
    let size = seg.size();
    let mut pos = 0u64;
    let mut buf = vec![0u8; (chunk as u64).min(size).max(HEADER_SIZE as u64) as usize];
    while pos < size {
        let want = (buf.len() as u64).min(size - pos) as usize;
        seg.file().read_exact_at(&mut buf[..want], pos).ctx(|| format!("reading {}", seg.log_path().display()))?;
        let mut off = 0usize;
        while let Some((h, n)) = complete_batch(&buf[off..want]) {
            if !f(&h, &buf[off..off + n])? {
                return Ok(());
            }
            off += n;
        }
        if off == 0 {
            // A batch larger than the buffer: grow it (Kafka grows its I/O buffers the same way).
            let need = record_batch::peek_offset_and_length(&buf[..want]).map_or(0, |(_, l)| l as usize + record_batch::LOG_OVERHEAD);
            if need <= buf.len() || pos + need as u64 > size {
                return Err(StorageError::CorruptRecord(format!("invalid batch at position {pos} of {}", seg.log_path().display())));
            }
            buf.resize(need, 0);
            continue;
        }
        pos += off as u64;
    }
    Ok(())
}

fn complete_batch(buf: &[u8]) -> Option<(RecordBatchHeader, usize)> {
    let (_, len) = record_batch::peek_offset_and_length(buf)?;
    let n = len as usize + record_batch::LOG_OVERHEAD;
    if len < (HEADER_SIZE - record_batch::LOG_OVERHEAD) as i32 || n > buf.len() {
        return None;
    }
    record_batch::parse_header(buf).ok().map(|h| (h, n))
}

/// Producer id -> last offset of its last batch in the log, read (batch headers only) the first
/// time a producer's batch would be dropped. Stands in for the producer state Kafka consults so
/// that the last batch of every producer survives cleaning, possibly empty.
struct LastBatchOfProducer<'a> {
    segs: &'a [Arc<LogSegment>],
    map: Option<HashMap<i64, i64>>,
}

impl LastBatchOfProducer<'_> {
    fn is_last(&mut self, h: &RecordBatchHeader) -> Result<bool, StorageError> {
        if self.map.is_none() {
            let mut m = HashMap::new();
            for seg in self.segs {
                let (size, mut pos) = (seg.size(), 0u64);
                while let Some(b) = seg.read_header_at(pos, size).ctx(|| format!("reading {}", seg.log_path().display()))? {
                    if b.producer_id >= 0 {
                        m.insert(b.producer_id, b.last_offset());
                    }
                    pos += b.size_in_bytes() as u64;
                }
            }
            self.map = Some(m);
        }
        Ok(self.map.as_ref().and_then(|m| m.get(&h.producer_id)) == Some(&h.last_offset()))
    }
}

/// True for batches the cleaner keeps whole and does not map (see the module doc).
fn opaque(h: &RecordBatchHeader, codec: Option<&dyn RecordsCodec>) -> bool {
    (h.compression_codec() != 0 && codec.is_none()) || h.is_control() || h.is_transactional()
}

/// The batch with its records readable: itself, or decompressed into `scratch`.
fn plain<'b>(bytes: &'b [u8], h: &RecordBatchHeader, codec: Option<&dyn RecordsCodec>, scratch: &'b mut Vec<u8>) -> Result<&'b [u8], StorageError> {
    match codec {
        Some(c) if h.compression_codec() != 0 => {
            *scratch = batch_filter::decompress_batch(bytes, h, c)?;
            Ok(scratch)
        }
        _ => Ok(bytes),
    }
}

/// The file's last-modified time in ms (Kafka's `segment.lastModified`).
pub fn last_modified_ms(seg: &LogSegment) -> i64 {
    seg.file()
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64)
}

/// Groups consecutive segments so each group fits in one segment (`segment.bytes`,
/// `segment.index.bytes` for both indexes) and its offsets fit in 32-bit deltas
/// (Kafka's `groupSegmentsBySize`).
pub fn group_segments_by_size(segs: &[Arc<LogSegment>], max_size: u64, max_index_size: u64, next_offset_after: i64) -> Vec<Vec<Arc<LogSegment>>> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < segs.len() {
        let first = &segs[i];
        let mut group = vec![first.clone()];
        let (mut log_size, mut index_size, mut time_size) =
            (first.size(), first.offset_index_entries() as u64 * 8, first.time_index_entries() as u64 * 12);
        i += 1;
        while i < segs.len() {
            let s = &segs[i];
            let last_offset = segs.get(i + 1).map_or(next_offset_after, |n| n.base_offset()) - 1;
            let fits = log_size + s.size() <= max_size
                && index_size + s.offset_index_entries() as u64 * 8 <= max_index_size
                && time_size + s.time_index_entries() as u64 * 12 <= max_index_size
                && (first.size() == 0 || last_offset - first.base_offset() <= i32::MAX as i64);
            if !fits {
                break;
            }
            log_size += s.size();
            index_size += s.offset_index_entries() as u64 * 8;
            time_size += s.time_index_entries() as u64 * 12;
            group.push(s.clone());
            i += 1;
        }
        groups.push(group);
    }
    groups
}

/// One cleaner thread's working state: its offset map and I/O buffer size.
pub struct Cleaner {
    /// The dedupe map (memory `dedupe.buffer.size / threads`).
    pub map: OffsetMap,
    /// Fill ratio of the map beyond which scanning stops (`log.cleaner.io.buffer.load.factor`).
    pub load_factor: f64,
    /// Read chunk size (`log.cleaner.io.buffer.size`).
    pub io_buffer_size: usize,
    /// Codecs for compressed batches; without one they are kept whole and not mapped.
    pub codec: Option<Arc<dyn RecordsCodec>>,
}

impl Cleaner {
    /// A cleaner with a map of `map_memory` bytes.
    pub fn new(map_memory: usize, load_factor: f64, io_buffer_size: usize) -> Cleaner {
        Cleaner { map: OffsetMap::new(map_memory), load_factor, io_buffer_size: io_buffer_size.max(4096), codec: None }
    }

    /// Cleans `to_clean`; returns the offset up to which the log is now clean (the next
    /// checkpoint) and the stats. `aborted` is polled between segments.
    pub fn clean(&mut self, to_clean: &LogToClean, aborted: &dyn Fn() -> bool) -> Result<(i64, CleanerStats), CleanerError> {
        let start = Instant::now();
        let log = &to_clean.log;
        let mut stats = CleanerStats::default();
        let (first_dirty, upper) = (to_clean.first_dirty_offset, to_clean.first_uncleanable_offset);
        let segs = log.segments();
        let leo = log.log_end_offset();

        // 1. Offset map of the dirty section.
        self.map.clear();
        let max_entries = ((self.map.slots() as f64 * self.load_factor) as usize).max(1);
        let mut full = false;
        for seg in segments_overlapping(&segs, leo, first_dirty, upper) {
            if aborted() {
                return Err(CleanerError::Aborted);
            }
            stats.map_bytes_read += seg.size();
            let map = &mut self.map;
            let codec = self.codec.as_deref();
            let mut scratch = Vec::new();
            for_each_batch(&seg, self.io_buffer_size, |h, bytes| {
                if h.base_offset >= upper {
                    return Ok(false);
                }
                if !opaque(h, codec) {
                    let bytes = plain(bytes, h, codec, &mut scratch)?;
                    let recs = batch_filter::read_records(bytes, h)?;
                    if map.size() + recs.len() > max_entries && map.size() > 0 {
                        full = true;
                        return Ok(false);
                    }
                    for r in recs.iter().filter(|r| r.offset >= first_dirty) {
                        if let Some(k) = r.key {
                            map.put(k, r.offset);
                            stats.map_messages_read += 1;
                        }
                    }
                }
                if h.last_offset() >= first_dirty {
                    map.update_latest_offset(h.last_offset());
                }
                Ok(true)
            })?;
            if full {
                break;
            }
        }
        let end_offset = if full { self.map.latest_offset() + 1 } else { upper };
        if end_offset <= first_dirty && full {
            return Err(CleanerError::Storage(StorageError::InvalidRecord(format!(
                "offset map of {} slots cannot hold one batch of {}",
                self.map.slots(),
                log.topic_partition()
            ))));
        }
        stats.buffer_utilization = self.map.utilization();

        // 2. Delete horizon from the last clean segment (Kafka 2.8: its mtime - delete.retention.ms).
        let config = log.config_arc();
        let delete_horizon_ms = segments_overlapping(&segs, leo, 0, first_dirty)
            .last()
            .map_or(0, |s| last_modified_ms(s) - config.delete_retention_ms);

        // 3. Recopy group by group.
        let to_recopy = segments_overlapping(&segs, leo, 0, end_offset);
        let active_base = segs.last().map_or(i64::MAX, |s| s.base_offset());
        let to_recopy: Vec<_> = to_recopy.into_iter().filter(|s| s.base_offset() < active_base).collect();
        let next_after = segs
            .iter()
            .find(|s| to_recopy.last().is_some_and(|l| s.base_offset() > l.base_offset()))
            .map_or(leo, |s| s.base_offset());
        let mut last_batch_of_producer = LastBatchOfProducer { segs: &segs, map: None };
        for group in group_segments_by_size(&to_recopy, config.segment_bytes.max(0) as u64, config.segment_index_bytes.max(0) as u64, next_after) {
            if aborted() {
                return Err(CleanerError::Aborted);
            }
            self.clean_segments(log, &group, &mut last_batch_of_producer, delete_horizon_ms, &mut stats)?;
        }
        stats.elapsed_secs = start.elapsed().as_secs_f64();
        Ok((end_offset, stats))
    }

    /// Recopies one group into a `.cleaned` segment and swaps it in (Kafka's `cleanSegments`).
    fn clean_segments(
        &mut self,
        log: &Log,
        group: &[Arc<LogSegment>],
        last_batch_of_producer: &mut LastBatchOfProducer<'_>,
        delete_horizon_ms: i64,
        stats: &mut CleanerStats,
    ) -> Result<(), CleanerError> {
        let Some(first) = group.first() else { return Ok(()) };
        let config = log.config_arc();
        let dir = log.dir();
        let cleaned_log = crate::log_segment::segment_file(dir, first.base_offset(), &format!("{}{CLEANED_FILE_SUFFIX}", crate::log_segment::LOG_SUFFIX));
        let _ = std::fs::remove_file(&cleaned_log);
        let cleaned = Arc::new(LogSegment::open_with_suffix(
            dir,
            first.base_offset(),
            CLEANED_FILE_SUFFIX,
            Some(config.segment_index_bytes.max(0) as usize),
            wall_clock_ms(),
            0,
        )?);
        let result = self.recopy_group(group, &cleaned, last_batch_of_producer, delete_horizon_ms, config.index_interval_bytes, stats);
        let swapped = result.and_then(|_| {
            cleaned.on_become_inactive()?;
            cleaned.flush()?;
            let modified = group.last().map_or(0, |s| last_modified_ms(s));
            cleaned.file().set_modified(system_time_ms(modified)).ctx(|| format!("setting mtime of {}", cleaned.log_path().display()))?;
            log.replace_segments(&cleaned, group)
        });
        match swapped {
            Ok(true) => Ok(()),
            Ok(false) => {
                cleaned.delete_files();
                Err(CleanerError::Aborted)
            }
            Err(e) => {
                cleaned.delete_files();
                Err(e.into())
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn recopy_group(
        &mut self,
        group: &[Arc<LogSegment>],
        dest: &LogSegment,
        last_batch_of_producer: &mut LastBatchOfProducer<'_>,
        delete_horizon_ms: i64,
        index_interval_bytes: i32,
        stats: &mut CleanerStats,
    ) -> Result<(), StorageError> {
        let flush_at = (index_interval_bytes.max(0) as usize).clamp(HEADER_SIZE, self.io_buffer_size);
        let mut out: Vec<u8> = Vec::with_capacity(flush_at * 2);
        // (largest offset, max timestamp, offset of max timestamp) of `out`.
        let mut meta = (-1i64, -1i64, -1i64);
        let latest_mapped = self.map.latest_offset();
        let map = &mut self.map;
        let codec = self.codec.as_deref();
        let mut scratch = Vec::new();
        for seg in group {
            let retain_deletes = last_modified_ms(seg) > delete_horizon_ms;
            stats.bytes_read += seg.size();
            for_each_batch(seg, self.io_buffer_size, |h, bytes| {
                stats.messages_read += h.records_count.max(0) as u64;
                let filtered = if opaque(h, codec) {
                    FilteredBatch::KeepWhole
                } else {
                    batch_filter::filter_batch(plain(bytes, h, codec, &mut scratch)?, h, |r| {
                        // Beyond the mapped range nothing is known yet: keep (Kafka's pastLatestOffset).
                        if r.offset > latest_mapped {
                            return true;
                        }
                        let Some(k) = r.key else { return false };
                        let latest = map.get(k).is_none_or(|o| r.offset >= o);
                        latest && (r.has_value || retain_deletes)
                    })?
                    .0
                };
                let filtered = match (filtered, codec) {
                    (FilteredBatch::Rebuilt(b), Some(c)) if h.compression_codec() != 0 => FilteredBatch::Rebuilt(batch_filter::recompress_batch(&b, h, c)?),
                    (f, _) => f,
                };
                let empty;
                let written: &[u8] = match &filtered {
                    FilteredBatch::KeepWhole => bytes,
                    FilteredBatch::Rebuilt(b) => b,
                    FilteredBatch::Drop if h.producer_id >= 0 && last_batch_of_producer.is_last(h)? => {
                        empty = batch_filter::empty_batch(bytes, h);
                        &empty
                    }
                    FilteredBatch::Drop => return Ok(true),
                };
                let nh = record_batch::parse_header(written)?;
                stats.messages_written += nh.records_count.max(0) as u64;
                out.extend_from_slice(written);
                meta.0 = meta.0.max(nh.last_offset());
                if nh.max_timestamp > meta.1 {
                    meta.1 = nh.max_timestamp;
                    meta.2 = nh.last_offset();
                }
                if out.len() >= flush_at {
                    dest.append(meta.0, meta.1, meta.2, &[&out], index_interval_bytes)?;
                    stats.bytes_written += out.len() as u64;
                    out.clear();
                    meta = (-1, -1, -1);
                }
                Ok(true)
            })?;
        }
        if !out.is_empty() {
            dest.append(meta.0, meta.1, meta.2, &[&out], index_interval_bytes)?;
            stats.bytes_written += out.len() as u64;
        }
        Ok(())
    }
}

/// Milliseconds since the epoch as a `SystemTime` (for setting segment mtimes).
pub fn system_time_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64)
}
