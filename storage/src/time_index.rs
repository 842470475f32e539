//! `TimeIndex`: the `.timeindex` file mapping timestamps to offsets.
//!
//! Entry = `timestamp: i64 BE, relativeOffset: i32 BE` (12 bytes), timestamps strictly
//! increasing. Used by ListOffsets-by-timestamp and nothing else.

use std::io;
use std::path::Path;

use crate::index_file::IndexFile;

/// Bytes per time index entry.
pub const TIME_INDEX_ENTRY_SIZE: usize = 12;

/// A sparse timestamp → offset index of one segment.
pub struct TimeIndex {
    file: IndexFile,
    base_offset: i64,
}

/// One decoded time index entry (absolute offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampOffset {
    /// Largest timestamp seen in the segment up to `offset`.
    pub timestamp: i64,
    /// Absolute offset of the batch carrying `timestamp`.
    pub offset: i64,
}

impl TimeIndex {
    /// Opens or creates the index; `preallocate` = `segment.index.bytes` for the active segment.
    pub fn open(path: &Path, base_offset: i64, preallocate: Option<usize>) -> io::Result<TimeIndex> {
        Ok(TimeIndex { file: IndexFile::open(path, TIME_INDEX_ENTRY_SIZE, preallocate)?, base_offset })
    }

    /// Number of entries.
    pub fn entries(&self) -> usize {
        self.file.entries()
    }

    /// True when the pre-allocated space is used up (the segment must roll).
    pub fn is_full(&self) -> bool {
        self.file.is_full()
    }

    /// Entry `i` decoded.
    pub fn entry(&self, i: usize) -> TimestampOffset {
        let e = self.file.entry(i);
        if e.len() < TIME_INDEX_ENTRY_SIZE {
            return TimestampOffset { timestamp: -1, offset: self.base_offset };
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&e[..8]);
        let rel = i32::from_be_bytes([e[8], e[9], e[10], e[11]]);
        TimestampOffset { timestamp: i64::from_be_bytes(ts), offset: self.base_offset + rel as i64 }
    }

    /// Last entry, or `(-1, base)` when empty (Kafka's "unknown").
    pub fn last_entry(&self) -> TimestampOffset {
        match self.entries() {
            0 => TimestampOffset { timestamp: -1, offset: self.base_offset },
            n => self.entry(n - 1),
        }
    }

    /// Greatest entry with timestamp <= `ts`, or `(-1, base)` if none.
    pub fn lookup(&self, ts: i64) -> TimestampOffset {
        match self.file.last_at_most(ts, |i| self.entry(i).timestamp) {
            Some(i) => self.entry(i),
            None => TimestampOffset { timestamp: -1, offset: self.base_offset },
        }
    }

    /// Appends `(timestamp, offset)` only if `timestamp` is greater than the last entry's
    /// (and the offset does not go backwards) — Kafka's `maybeAppend`.
    pub fn maybe_append(&mut self, timestamp: i64, offset: i64) -> io::Result<()> {
        let last = self.last_entry();
        if timestamp <= last.timestamp || (self.entries() > 0 && offset < last.offset) {
            return Ok(());
        }
        let mut e = [0u8; TIME_INDEX_ENTRY_SIZE];
        e[..8].copy_from_slice(&timestamp.to_be_bytes());
        e[8..].copy_from_slice(&((offset - self.base_offset) as i32).to_be_bytes());
        self.file.push(&e)
    }

    /// Removes entries with offset >= `offset`.
    pub fn truncate_to(&mut self, offset: i64) {
        let keep = (0..self.entries()).take_while(|&i| self.entry(i).offset < offset).count();
        self.file.truncate_entries(keep);
    }

    /// Removes all entries.
    pub fn reset(&mut self) {
        self.file.truncate_entries(0);
    }

    /// Checks the invariants of a loaded index: whole entries, strictly increasing timestamps,
    /// non-decreasing offsets not below the base.
    pub fn sanity_check(&self) -> Result<(), String> {
        if !IndexFile::len_is_multiple(self.file.path(), TIME_INDEX_ENTRY_SIZE).unwrap_or(false) {
            return Err(format!("time index file {} has a partial entry", self.file.path().display()));
        }
        let mut prev: Option<TimestampOffset> = None;
        for i in 0..self.entries() {
            let e = self.entry(i);
            let bad = e.offset < self.base_offset
                || prev.is_some_and(|p| e.timestamp <= p.timestamp || e.offset < p.offset);
            if bad {
                return Err(format!("corrupt time index {}: entry {i} = {e:?}", self.file.path().display()));
            }
            prev = Some(e);
        }
        Ok(())
    }

    /// Grows the file to `bytes` (active segment) — keeps entries.
    pub fn resize(&mut self, bytes: usize) -> io::Result<()> {
        self.file.resize(bytes)
    }

    /// Cuts the file to exactly its entries (on roll and close).
    pub fn trim(&mut self) -> io::Result<()> {
        self.file.trim()
    }

    /// msync.
    pub fn flush(&self) -> io::Result<()> {
        self.file.flush()
    }

    /// Renames the file (e.g. to `*.deleted`).
    pub fn rename(&mut self, to: &Path) -> io::Result<()> {
        self.file.rename(to)
    }

    /// Current path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maybe_append_is_strictly_increasing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("00000000000000000010.timeindex");
        let mut idx = TimeIndex::open(&p, 10, Some(120)).unwrap();
        idx.maybe_append(-1, 10).unwrap();
        assert_eq!(idx.entries(), 0);
        idx.maybe_append(100, 12).unwrap();
        idx.maybe_append(100, 15).unwrap();
        idx.maybe_append(200, 20).unwrap();
        assert_eq!(idx.entries(), 2);
        assert_eq!(idx.lookup(150), TimestampOffset { timestamp: 100, offset: 12 });
        assert_eq!(idx.lookup(50).timestamp, -1);
        idx.trim().unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let mut want = Vec::new();
        want.extend_from_slice(&100i64.to_be_bytes());
        want.extend_from_slice(&2i32.to_be_bytes());
        want.extend_from_slice(&200i64.to_be_bytes());
        want.extend_from_slice(&10i32.to_be_bytes());
        assert_eq!(bytes, want);
        assert!(idx.sanity_check().is_ok());
        idx.truncate_to(20);
        assert_eq!(idx.entries(), 1);
    }
}
