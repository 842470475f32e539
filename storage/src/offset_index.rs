//! `OffsetIndex`: the `.index` file mapping relative offsets to file positions.
//!
//! Entry = `relativeOffset: i32 BE, position: i32 BE` (8 bytes). An entry says "the batch(es)
//! appended at `position` end at offset `base + relativeOffset`"; lookups find the greatest
//! entry <= target and the caller scans batch headers forward from there.

use std::io;
use std::path::Path;

use crate::index_file::IndexFile;

/// Bytes per offset index entry.
pub const OFFSET_INDEX_ENTRY_SIZE: usize = 8;

/// A sparse offset → position index of one segment.
pub struct OffsetIndex {
    file: IndexFile,
    base_offset: i64,
}

/// One decoded offset index entry (absolute offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetPosition {
    /// Absolute offset.
    pub offset: i64,
    /// Byte position in the `.log` file.
    pub position: u32,
}

impl OffsetIndex {
    /// Opens or creates the index; `preallocate` = `segment.index.bytes` for the active segment.
    pub fn open(path: &Path, base_offset: i64, preallocate: Option<usize>) -> io::Result<OffsetIndex> {
        Ok(OffsetIndex { file: IndexFile::open(path, OFFSET_INDEX_ENTRY_SIZE, preallocate)?, base_offset })
    }

    /// Base offset of the segment this index belongs to.
    pub fn base_offset(&self) -> i64 {
        self.base_offset
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
    pub fn entry(&self, i: usize) -> OffsetPosition {
        let e = self.file.entry(i);
        if e.len() < OFFSET_INDEX_ENTRY_SIZE {
            return OffsetPosition { offset: self.base_offset, position: 0 };
        }
        let rel = i32::from_be_bytes([e[0], e[1], e[2], e[3]]);
        let pos = i32::from_be_bytes([e[4], e[5], e[6], e[7]]);
        OffsetPosition { offset: self.base_offset + rel as i64, position: pos as u32 }
    }

    /// Last entry, or `(base, 0)` when empty.
    pub fn last_entry(&self) -> OffsetPosition {
        match self.entries() {
            0 => OffsetPosition { offset: self.base_offset, position: 0 },
            n => self.entry(n - 1),
        }
    }

    /// Greatest entry with offset <= `target`, or `(base, 0)` if none (binary search).
    pub fn lookup(&self, target: i64) -> OffsetPosition {
        match self.file.last_at_most(target, |i| self.entry(i).offset) {
            Some(i) => self.entry(i),
            None => OffsetPosition { offset: self.base_offset, position: 0 },
        }
    }

    /// Appends `(offset, position)` if `offset` is beyond the last entry.
    pub fn append(&mut self, offset: i64, position: u32) -> io::Result<()> {
        if self.entries() > 0 && offset <= self.last_entry().offset {
            return Ok(());
        }
        let rel = (offset - self.base_offset) as i32;
        let mut e = [0u8; OFFSET_INDEX_ENTRY_SIZE];
        e[..4].copy_from_slice(&rel.to_be_bytes());
        e[4..].copy_from_slice(&(position as i32).to_be_bytes());
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

    /// Checks the invariants of a loaded index: whole entries, strictly increasing offsets,
    /// non-decreasing positions within `log_size`. A failing index is rebuilt from the log.
    pub fn sanity_check(&self, log_size: u64) -> Result<(), String> {
        if !IndexFile::len_is_multiple(self.file.path(), OFFSET_INDEX_ENTRY_SIZE).unwrap_or(false) {
            return Err(format!("index file {} has a partial entry", self.file.path().display()));
        }
        let mut prev: Option<OffsetPosition> = None;
        for i in 0..self.entries() {
            let e = self.entry(i);
            let bad = e.offset < self.base_offset
                || e.position as u64 > log_size
                || prev.is_some_and(|p| e.offset <= p.offset || e.position < p.position);
            if bad {
                return Err(format!("corrupt index {}: entry {i} = {e:?}", self.file.path().display()));
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
    fn append_lookup_truncate_trim() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("00000000000000000100.index");
        let mut idx = OffsetIndex::open(&p, 100, Some(80)).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 80);
        for i in 0..5 {
            idx.append(100 + i * 10, (i * 1000) as u32).unwrap();
        }
        assert_eq!(idx.lookup(99), OffsetPosition { offset: 100, position: 0 });
        assert_eq!(idx.lookup(125).offset, 120);
        assert_eq!(idx.lookup(1000).offset, 140);
        idx.truncate_to(120);
        assert_eq!(idx.entries(), 2);
        idx.trim().unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes, vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 3, 232]);
        drop(idx);
        let idx = OffsetIndex::open(&p, 100, None).unwrap();
        assert_eq!(idx.entries(), 2);
        assert!(idx.sanity_check(10_000).is_ok());
    }

    #[test]
    fn zero_filled_index_fails_sanity() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.index");
        std::fs::write(&p, vec![0u8; 64]).unwrap();
        let idx = OffsetIndex::open(&p, 0, None).unwrap();
        assert!(idx.sanity_check(100).is_err());
    }
}
