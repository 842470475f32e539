//! `LogSegment`: one `.log` file with its `.index` and `.timeindex`.
//!
//! Appends are serialized by the owning [`crate::Log`]; reads may run concurrently and only
//! take the index read-lock for the binary search. Positions are 32-bit as in Kafka.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::{IoContext, StorageError};
use crate::leader_epoch::LeaderEpochFileCache;
use crate::offset_index::OffsetIndex;
use crate::record_batch::{self, RecordBatchHeader, HEADER_SIZE, LOG_OVERHEAD};
use crate::time_index::TimeIndex;

/// Suffix of segment data files.
pub const LOG_SUFFIX: &str = ".log";
/// Suffix of offset index files.
pub const INDEX_SUFFIX: &str = ".index";
/// Suffix of time index files.
pub const TIME_INDEX_SUFFIX: &str = ".timeindex";
/// Suffix appended to files scheduled for deletion.
pub const DELETED_SUFFIX: &str = ".deleted";

/// `<dir>/<20-digit base offset><suffix>`, Kafka's segment file naming.
pub fn segment_file(dir: &Path, base_offset: i64, suffix: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}{suffix}"))
}

/// The mutable per-segment state guarded by the segment's lock.
struct SegmentState {
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    bytes_since_last_index_entry: u64,
    max_timestamp_so_far: i64,
    offset_of_max_timestamp_so_far: i64,
    rolling_based_timestamp: Option<i64>,
    log_path: PathBuf,
}

/// One segment of a partition log.
pub struct LogSegment {
    base_offset: i64,
    file: Arc<File>,
    size: AtomicU64,
    state: RwLock<SegmentState>,
    created_ms: i64,
    roll_jitter_ms: i64,
}

/// A batch found in a segment file: its position and header.
#[derive(Clone, Copy, Debug)]
pub struct BatchPosition {
    /// Byte position of the batch in the `.log` file.
    pub position: u64,
    /// Its decoded header.
    pub header: RecordBatchHeader,
}

/// Writes all `bufs` at `offset` with pwritev, handling short writes.
fn pwrite_all_vectored(file: &File, bufs: &[&[u8]], mut offset: u64) -> io::Result<()> {
    let mut idx = 0usize;
    let mut skip = 0usize; // bytes already written of bufs[idx]
    while idx < bufs.len() {
        let iov: Vec<libc::iovec> = bufs[idx..]
            .iter()
            .take(512)
            .enumerate()
            .map(|(i, b)| {
                let b = if i == 0 { &b[skip..] } else { b };
                libc::iovec { iov_base: b.as_ptr() as *mut libc::c_void, iov_len: b.len() }
            })
            .collect();
        // SAFETY: every iovec points into a live borrowed slice for the duration of the call.
        let n = unsafe { libc::pwritev(file.as_raw_fd(), iov.as_ptr(), iov.len() as libc::c_int, offset as libc::off_t) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "pwritev wrote 0 bytes"));
        }
        let mut n = n as usize;
        offset += n as u64;
        while n > 0 && idx < bufs.len() {
            let left = bufs[idx].len() - skip;
            if n >= left {
                n -= left;
                idx += 1;
                skip = 0;
            } else {
                skip += n;
                n = 0;
            }
        }
        while idx < bufs.len() && bufs[idx].len() == skip {
            idx += 1;
            skip = 0;
        }
    }
    Ok(())
}

impl LogSegment {
    /// Opens (or creates) the segment files at `base_offset` in `dir`. With `preallocate_index`
    /// the indexes are grown to that size (the active segment). `jitter_ms` is this segment's
    /// random reduction of `segment.ms`.
    pub fn open(
        dir: &Path,
        base_offset: i64,
        preallocate_index: Option<usize>,
        now_ms: i64,
        jitter_ms: i64,
    ) -> Result<LogSegment, StorageError> {
        Self::open_with_suffix(dir, base_offset, "", preallocate_index, now_ms, jitter_ms)
    }

    /// Like [`LogSegment::open`] with `file_suffix` after each file's usual suffix (the log
    /// cleaner writes `00..0.log.cleaned`, `.index.cleaned`, `.timeindex.cleaned`).
    pub fn open_with_suffix(
        dir: &Path,
        base_offset: i64,
        file_suffix: &str,
        preallocate_index: Option<usize>,
        now_ms: i64,
        jitter_ms: i64,
    ) -> Result<LogSegment, StorageError> {
        let log_path = segment_file(dir, base_offset, &format!("{LOG_SUFFIX}{file_suffix}"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&log_path)
            .ctx(|| format!("opening {}", log_path.display()))?;
        let size = file.metadata().ctx(|| format!("stat {}", log_path.display()))?.len();
        let ip = segment_file(dir, base_offset, &format!("{INDEX_SUFFIX}{file_suffix}"));
        let offset_index = OffsetIndex::open(&ip, base_offset, preallocate_index).ctx(|| format!("opening {}", ip.display()))?;
        let tp = segment_file(dir, base_offset, &format!("{TIME_INDEX_SUFFIX}{file_suffix}"));
        let time_index = TimeIndex::open(&tp, base_offset, preallocate_index).ctx(|| format!("opening {}", tp.display()))?;
        Ok(LogSegment {
            base_offset,
            file: Arc::new(file),
            size: AtomicU64::new(size),
            state: RwLock::new(SegmentState {
                offset_index,
                time_index,
                bytes_since_last_index_entry: 0,
                max_timestamp_so_far: -1,
                offset_of_max_timestamp_so_far: base_offset,
                rolling_based_timestamp: None,
                log_path,
            }),
            created_ms: now_ms,
            roll_jitter_ms: jitter_ms,
        })
    }

    fn read_state(&self) -> RwLockReadGuard<'_, SegmentState> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }
    fn write_state(&self) -> RwLockWriteGuard<'_, SegmentState> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// First offset this segment may hold (its file name).
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }
    /// Bytes in the `.log` file.
    pub fn size(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }
    /// The shared file handle (for zero-copy slices).
    pub fn file(&self) -> &Arc<File> {
        &self.file
    }
    /// Path of the `.log` file (changes when renamed to `.deleted`).
    pub fn log_path(&self) -> PathBuf {
        self.read_state().log_path.clone()
    }
    /// Largest batch max-timestamp seen in the segment (-1 if none).
    pub fn max_timestamp_so_far(&self) -> i64 {
        self.read_state().max_timestamp_so_far
    }
    /// Number of offset index entries (tests).
    pub fn offset_index_entries(&self) -> usize {
        self.read_state().offset_index.entries()
    }
    /// Number of time index entries (tests).
    pub fn time_index_entries(&self) -> usize {
        self.read_state().time_index.entries()
    }
    /// True if either index has no room left.
    pub fn indexes_full(&self) -> bool {
        let s = self.read_state();
        s.offset_index.is_full() || s.time_index.is_full()
    }
    /// This segment's `segment.ms` jitter.
    pub fn roll_jitter_ms(&self) -> i64 {
        self.roll_jitter_ms
    }

    /// Time used for `segment.ms`: record time since the first append's max timestamp, or wall
    /// time since creation when the segment has no timestamps.
    pub fn time_waited_for_roll(&self, now_ms: i64, append_max_timestamp: i64) -> i64 {
        match self.read_state().rolling_based_timestamp {
            Some(t) if t >= 0 => append_max_timestamp.saturating_sub(t),
            _ => now_ms.saturating_sub(self.created_ms),
        }
    }

    /// Retention time basis: largest record timestamp, else the file's mtime.
    pub fn largest_timestamp(&self) -> i64 {
        let ts = self.max_timestamp_so_far();
        if ts >= 0 {
            return ts;
        }
        self.file
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64)
    }

    /// Appends the given byte pieces (one or more complete batches) with one pwritev and
    /// maintains the indexes exactly like Kafka: an index entry (last offset of this append,
    /// position where it starts) is added when more than `index_interval_bytes` were appended
    /// since the previous entry, together with a time index entry.
    pub fn append(
        &self,
        largest_offset: i64,
        largest_timestamp: i64,
        offset_of_largest_timestamp: i64,
        pieces: &[&[u8]],
        index_interval_bytes: i32,
    ) -> Result<(), StorageError> {
        let len: u64 = pieces.iter().map(|p| p.len() as u64).sum();
        let position = self.size();
        // Appends are serialized by the owning Log, so the write needs no segment lock; readers
        // only see the bytes once `size` is published below.
        pwrite_all_vectored(&self.file, pieces, position).ctx(|| format!("appending to {}", self.log_path().display()))?;
        let mut st = self.write_state();
        self.size.store(position + len, Ordering::Release);
        if st.rolling_based_timestamp.is_none() {
            st.rolling_based_timestamp = Some(largest_timestamp);
        }
        if largest_timestamp > st.max_timestamp_so_far {
            st.max_timestamp_so_far = largest_timestamp;
            st.offset_of_max_timestamp_so_far = offset_of_largest_timestamp;
        }
        if st.bytes_since_last_index_entry > index_interval_bytes.max(0) as u64 {
            let (ts, off) = (st.max_timestamp_so_far, st.offset_of_max_timestamp_so_far);
            let path = st.log_path.clone();
            st.offset_index.append(largest_offset, position as u32).ctx(|| format!("index of {}", path.display()))?;
            st.time_index.maybe_append(ts, off).ctx(|| format!("time index of {}", path.display()))?;
            st.bytes_since_last_index_entry = 0;
        }
        st.bytes_since_last_index_entry += len;
        Ok(())
    }

    /// Reads the batch header at `position` if a complete header lies below `limit`.
    pub fn read_header_at(&self, position: u64, limit: u64) -> io::Result<Option<RecordBatchHeader>> {
        if position + HEADER_SIZE as u64 > limit {
            return Ok(None);
        }
        let mut buf = [0u8; HEADER_SIZE];
        self.file.read_exact_at(&mut buf, position)?;
        match record_batch::parse_header(&buf) {
            Ok(h) if h.batch_length >= (HEADER_SIZE - LOG_OVERHEAD) as i32 && position + h.size_in_bytes() as u64 <= limit => {
                Ok(Some(h))
            }
            _ => Ok(None),
        }
    }

    /// Index position to start scanning from for `offset`.
    pub fn index_lookup(&self, offset: i64) -> u64 {
        self.read_state().offset_index.lookup(offset).position as u64
    }

    /// The first batch whose last offset >= `target`, scanning headers forward from the index
    /// entry, within the first `limit` bytes of the file.
    pub fn translate_offset(&self, target: i64, limit: u64) -> io::Result<Option<BatchPosition>> {
        let mut pos = self.index_lookup(target);
        while let Some(h) = self.read_header_at(pos, limit)? {
            if h.last_offset() >= target {
                return Ok(Some(BatchPosition { position: pos, header: h }));
            }
            pos += h.size_in_bytes() as u64;
        }
        Ok(None)
    }

    /// Offset after the last batch of the segment (base offset if empty), scanning from the last
    /// index entry.
    pub fn read_next_offset(&self) -> io::Result<i64> {
        let size = self.size();
        let mut pos = self.read_state().offset_index.last_entry().position as u64;
        let mut next = self.base_offset;
        while let Some(h) = self.read_header_at(pos, size)? {
            next = h.next_offset();
            pos += h.size_in_bytes() as u64;
        }
        Ok(next)
    }

    /// After loading a segment without recovery: the max timestamp so far from the time index's
    /// last entry plus the batches after it.
    pub fn load_largest_timestamp(&self) -> io::Result<()> {
        let size = self.size();
        let mut st = self.write_state();
        let last = st.time_index.last_entry();
        st.max_timestamp_so_far = last.timestamp;
        st.offset_of_max_timestamp_so_far = last.offset;
        let mut pos = st.offset_index.lookup(last.offset).position as u64;
        let mut first = true;
        while let Some(h) = self.read_header_at(pos, size)? {
            if first && pos == 0 {
                st.rolling_based_timestamp = Some(h.max_timestamp);
            }
            first = false;
            if h.max_timestamp > st.max_timestamp_so_far {
                st.max_timestamp_so_far = h.max_timestamp;
                st.offset_of_max_timestamp_so_far = h.last_offset();
            }
            pos += h.size_in_bytes() as u64;
        }
        if st.rolling_based_timestamp.is_none() && size > 0 {
            if let Some(h) = self.read_header_at(0, size)? {
                st.rolling_based_timestamp = Some(h.max_timestamp);
            }
        }
        Ok(())
    }

    /// Checks both indexes; an error means they must be rebuilt with [`LogSegment::recover`].
    pub fn sanity_check_indexes(&self) -> Result<(), String> {
        let st = self.read_state();
        st.offset_index.sanity_check(self.size())?;
        st.time_index.sanity_check()
    }

    /// Rebuilds the indexes by reading every batch, checking CRC/structure and offsets; the file
    /// is truncated at the first invalid byte. Epochs found are assigned in `epoch_cache`.
    /// Returns the number of bytes truncated.
    pub fn recover(&self, index_interval_bytes: i32, epoch_cache: Option<&LeaderEpochFileCache>) -> Result<u64, StorageError> {
        let size = self.size();
        let mut st = self.write_state();
        let path = st.log_path.clone();
        st.offset_index.reset();
        st.time_index.reset();
        st.max_timestamp_so_far = -1;
        st.offset_of_max_timestamp_so_far = self.base_offset;
        st.rolling_based_timestamp = None;
        let mut valid: u64 = 0;
        let mut last_index_entry: u64 = 0;
        let mut buf = Vec::new();
        let mut prev_next_offset = self.base_offset;
        loop {
            if valid + LOG_OVERHEAD as u64 > size {
                break;
            }
            let mut head = [0u8; LOG_OVERHEAD];
            self.file.read_exact_at(&mut head, valid).ctx(|| format!("reading {}", path.display()))?;
            let Some((base, len)) = record_batch::peek_offset_and_length(&head) else { break };
            if len < (HEADER_SIZE - LOG_OVERHEAD) as i32 || valid + LOG_OVERHEAD as u64 + len as u64 > size {
                break;
            }
            buf.resize(LOG_OVERHEAD + len as usize, 0);
            self.file.read_exact_at(&mut buf, valid).ctx(|| format!("reading {}", path.display()))?;
            let h = match record_batch::validate_batch_structure(&buf) {
                Ok((h, _)) => h,
                Err(e) => {
                    tracing::warn!("found invalid batch at position {valid} of {}: {e}", path.display());
                    break;
                }
            };
            if base < prev_next_offset || h.last_offset() - self.base_offset > i32::MAX as i64 {
                tracing::warn!("found out-of-order or out-of-range offset {base} at position {valid} of {}", path.display());
                break;
            }
            prev_next_offset = h.next_offset();
            if st.rolling_based_timestamp.is_none() {
                st.rolling_based_timestamp = Some(h.max_timestamp);
            }
            if h.max_timestamp > st.max_timestamp_so_far {
                st.max_timestamp_so_far = h.max_timestamp;
                st.offset_of_max_timestamp_so_far = h.last_offset();
            }
            if valid - last_index_entry > index_interval_bytes.max(0) as u64 {
                let (ts, off) = (st.max_timestamp_so_far, st.offset_of_max_timestamp_so_far);
                st.offset_index.append(h.last_offset(), valid as u32).ctx(|| format!("index of {}", path.display()))?;
                st.time_index.maybe_append(ts, off).ctx(|| format!("time index of {}", path.display()))?;
                last_index_entry = valid;
            }
            valid += h.size_in_bytes() as u64;
            if let Some(cache) = epoch_cache {
                cache.maybe_assign_newer(h.partition_leader_epoch, h.base_offset)?;
            }
        }
        st.bytes_since_last_index_entry = valid - last_index_entry;
        // Like a normally closed segment, end with the largest timestamp seen; trim both indexes
        // (the active segment is re-grown by the log after loading).
        let (ts, off) = (st.max_timestamp_so_far, st.offset_of_max_timestamp_so_far);
        st.time_index.maybe_append(ts, off).ctx(|| format!("time index of {}", path.display()))?;
        st.offset_index.trim().ctx(|| format!("trimming index of {}", path.display()))?;
        st.time_index.trim().ctx(|| format!("trimming time index of {}", path.display()))?;
        let truncated = size - valid;
        if truncated > 0 {
            tracing::warn!("truncating {} at position {valid} ({truncated} invalid bytes)", path.display());
            self.file.set_len(valid).ctx(|| format!("truncating {}", path.display()))?;
            self.size.store(valid, Ordering::Release);
        }
        Ok(truncated)
    }

    /// Removes every batch at or after `offset` (file, indexes, timestamps). Returns bytes removed.
    pub fn truncate_to(&self, offset: i64) -> Result<u64, StorageError> {
        let size = self.size();
        let found = self.translate_offset(offset, size).ctx(|| format!("reading {}", self.log_path().display()))?;
        let Some(bp) = found else { return Ok(0) };
        // Like Kafka, the whole batch containing `offset` goes (batches cannot be split).
        let cut = bp.position;
        let mut st = self.write_state();
        st.offset_index.truncate_to(offset);
        st.time_index.truncate_to(offset);
        let path = st.log_path.clone();
        self.file.set_len(cut).ctx(|| format!("truncating {}", path.display()))?;
        self.size.store(cut, Ordering::Release);
        let last = st.time_index.last_entry();
        st.max_timestamp_so_far = last.timestamp;
        st.offset_of_max_timestamp_so_far = last.offset;
        if cut == 0 {
            st.rolling_based_timestamp = None;
        }
        st.bytes_since_last_index_entry = 0;
        drop(st);
        // Re-derive the max timestamp from the remaining tail after the last time index entry.
        self.load_largest_timestamp().ctx(|| format!("reading {}", path.display()))?;
        Ok(size - cut)
    }

    /// Segment stops being active: append the final time index entry and trim both indexes.
    pub fn on_become_inactive(&self) -> Result<(), StorageError> {
        let mut st = self.write_state();
        let (ts, off) = (st.max_timestamp_so_far, st.offset_of_max_timestamp_so_far);
        let path = st.log_path.clone();
        st.time_index.maybe_append(ts, off).ctx(|| format!("time index of {}", path.display()))?;
        st.offset_index.trim().ctx(|| format!("trimming index of {}", path.display()))?;
        st.time_index.trim().ctx(|| format!("trimming time index of {}", path.display()))?;
        Ok(())
    }

    /// Grows the indexes to `bytes` (segment becomes/stays active after load).
    pub fn resize_indexes(&self, bytes: usize) -> Result<(), StorageError> {
        let mut st = self.write_state();
        let path = st.log_path.clone();
        st.offset_index.resize(bytes).ctx(|| format!("resizing index of {}", path.display()))?;
        st.time_index.resize(bytes).ctx(|| format!("resizing time index of {}", path.display()))
    }

    /// fsync of the data and msync of the indexes.
    pub fn flush(&self) -> Result<(), StorageError> {
        let st = self.read_state();
        self.file.sync_data().ctx(|| format!("fsync {}", st.log_path.display()))?;
        st.offset_index.flush().ctx(|| format!("msync index of {}", st.log_path.display()))?;
        st.time_index.flush().ctx(|| format!("msync time index of {}", st.log_path.display()))
    }

    /// Renames all files with the `.deleted` suffix; returns the new paths for delayed removal.
    pub fn rename_to_deleted(&self) -> Result<Vec<PathBuf>, StorageError> {
        let mut st = self.write_state();
        let mut out = Vec::new();
        let lp = st.log_path.clone();
        let new_lp = PathBuf::from(format!("{}{DELETED_SUFFIX}", lp.display()));
        std::fs::rename(&lp, &new_lp).ctx(|| format!("renaming {}", lp.display()))?;
        st.log_path = new_lp.clone();
        out.push(new_lp);
        let ip = PathBuf::from(format!("{}{DELETED_SUFFIX}", st.offset_index.path().display()));
        if st.offset_index.rename(&ip).is_ok() {
            out.push(ip);
        }
        let tp = PathBuf::from(format!("{}{DELETED_SUFFIX}", st.time_index.path().display()));
        if st.time_index.rename(&tp).is_ok() {
            out.push(tp);
        }
        Ok(out)
    }

    /// Renames the three files from `<name><old_suffix>` to `<name><new_suffix>` (the cleaner's
    /// `.cleaned` -> `.swap` -> `` steps); the log file is renamed last so a crash leaves either
    /// the old or the new state of the log file, never a half-renamed one.
    pub fn change_file_suffixes(&self, old_suffix: &str, new_suffix: &str) -> Result<(), StorageError> {
        let mut st = self.write_state();
        let swap = |p: &Path| -> PathBuf {
            let s = p.to_string_lossy();
            PathBuf::from(format!("{}{new_suffix}", s.strip_suffix(old_suffix).unwrap_or(&s)))
        };
        let ip = swap(st.offset_index.path());
        st.offset_index.rename(&ip).ctx(|| format!("renaming to {}", ip.display()))?;
        let tp = swap(st.time_index.path());
        st.time_index.rename(&tp).ctx(|| format!("renaming to {}", tp.display()))?;
        let lp = swap(&st.log_path);
        std::fs::rename(&st.log_path, &lp).ctx(|| format!("renaming {}", st.log_path.display()))?;
        st.log_path = lp;
        Ok(())
    }

    /// Deletes the segment's files immediately (used during load for invalid segments).
    pub fn delete_files(&self) {
        let st = self.read_state();
        for p in [st.log_path.as_path(), st.offset_index.path(), st.time_index.path()] {
            if let Err(e) = std::fs::remove_file(p) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!("failed to delete {}: {e}", p.display());
                }
            }
        }
    }

    /// First batch whose max timestamp >= `ts` at or after `start_offset` (spec: ListOffsets).
    /// Returns `(timestamp, offset, leader epoch)`; uncompressed batches are walked to the
    /// exact record, compressed ones answer with the batch base offset and max timestamp.
    pub fn find_offset_by_timestamp(&self, ts: i64, start_offset: i64) -> io::Result<Option<(i64, i64, i32)>> {
        let size = self.size();
        let entry = self.read_state().time_index.lookup(ts);
        let mut pos = self.index_lookup(entry.offset.max(start_offset));
        while let Some(h) = self.read_header_at(pos, size)? {
            if h.max_timestamp >= ts && h.last_offset() >= start_offset {
                if h.compression_codec() != 0 || h.is_log_append_time() {
                    return Ok(Some((h.max_timestamp, h.base_offset.max(start_offset), h.partition_leader_epoch)));
                }
                let mut buf = vec![0u8; h.size_in_bytes()];
                self.file.read_exact_at(&mut buf, pos)?;
                let found = record_batch::find_record_by_timestamp(&buf, &h, ts).filter(|&(_, o)| o >= start_offset);
                if let Some((t, o)) = found {
                    return Ok(Some((t, o, h.partition_leader_epoch)));
                }
            }
            pos += h.size_in_bytes() as u64;
        }
        Ok(None)
    }
}
