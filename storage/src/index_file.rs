//! The memory-mapped fixed-entry file shared by [`crate::OffsetIndex`] and [`crate::TimeIndex`]:
//! pre-allocation, appending, truncation and trimming to the real size (so that the file on
//! disk holds exactly the entries, as Kafka's `AbstractIndex` does on roll and close).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

/// A file of `entry_size`-byte entries, mmapped read-write.
///
/// No file descriptor is kept: the mapping stays valid after the file is closed, and the file is
/// re-opened by path only to resize it. With thousands of partitions per broker this keeps the
/// open-file count at one per segment (its `.log`), as Kafka does.
pub(crate) struct IndexFile {
    path: PathBuf,
    mmap: Option<MmapMut>,
    entry_size: usize,
    entries: usize,
    /// Bytes from the start of the file known to have disk blocks behind them (see `reserve`).
    reserved: usize,
}

/// How much of an index file [`IndexFile::push`] reserves at a time.
const RESERVE_CHUNK: usize = 64 * 1024;

impl IndexFile {
    /// Opens (creating if needed) the file. Existing content counts as entries (length rounded
    /// down to a multiple of the entry size). With `preallocate = Some(bytes)` the file is grown
    /// to that size (rounded down to whole entries) so appends need no remapping.
    pub(crate) fn open(path: &Path, entry_size: usize, preallocate: Option<usize>) -> io::Result<IndexFile> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        let len = file.metadata()?.len() as usize;
        let entries = len / entry_size;
        let mut idx = IndexFile { path: path.to_path_buf(), mmap: None, entry_size, entries, reserved: entries * entry_size };
        match preallocate {
            Some(max) => idx.resize_file(&file, (max / entry_size * entry_size).max(entries * entry_size))?,
            None => idx.map(&file)?,
        }
        Ok(idx)
    }

    fn map(&mut self, file: &File) -> io::Result<()> {
        let len = file.metadata()?.len();
        self.mmap = if len == 0 {
            None
        } else {
            // SAFETY: the file is owned by this process' storage layer; nobody truncates it
            // while mapped (resize() drops the map before set_len()).
            Some(unsafe { MmapMut::map_mut(file)? })
        };
        Ok(())
    }

    /// Current file length, i.e. capacity in bytes.
    pub(crate) fn capacity_bytes(&self) -> usize {
        self.mmap.as_ref().map_or(0, |m| m.len())
    }

    /// Sets the file length to `bytes` rounded down to whole entries (dropping the map
    /// first) and remaps.
    pub(crate) fn resize(&mut self, bytes: usize) -> io::Result<()> {
        let bytes = bytes / self.entry_size * self.entry_size;
        if self.capacity_bytes() == bytes && (bytes == 0 || self.mmap.is_some()) {
            return Ok(());
        }
        let file = match OpenOptions::new().read(true).write(true).open(&self.path) {
            Ok(f) => f,
            // The segment was deleted from disk already: nothing left to resize.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        self.resize_file(&file, bytes)
    }

    fn resize_file(&mut self, file: &File, bytes: usize) -> io::Result<()> {
        if let Some(m) = self.mmap.take() {
            m.flush()?;
        }
        file.set_len(bytes as u64)?;
        self.entries = self.entries.min(bytes / self.entry_size);
        self.reserved = self.reserved.min(bytes);
        self.map(file)
    }

    /// Cuts the file to exactly the valid entries.
    pub(crate) fn trim(&mut self) -> io::Result<()> {
        self.resize(self.entries * self.entry_size)
    }

    /// Number of valid entries.
    pub(crate) fn entries(&self) -> usize {
        self.entries
    }

    /// Maximum entries the current allocation can hold.
    pub(crate) fn max_entries(&self) -> usize {
        self.capacity_bytes() / self.entry_size
    }

    /// True when no further entry fits without resizing.
    pub(crate) fn is_full(&self) -> bool {
        self.entries >= self.max_entries()
    }

    /// Bytes of entry `i` (caller guarantees `i < entries`).
    pub(crate) fn entry(&self, i: usize) -> &[u8] {
        match &self.mmap {
            Some(m) => &m[i * self.entry_size..(i + 1) * self.entry_size],
            None => &[],
        }
    }

    /// Binary search over the entries, whose `key(i)` must not decrease with `i`: the last
    /// entry with `key(i) <= target`, or `None` if there is none (no entries, or the first
    /// key is already above `target`).
    pub(crate) fn last_at_most(&self, target: i64, key: impl Fn(usize) -> i64) -> Option<usize> {
        if self.entries == 0 || key(0) > target {
            return None;
        }
        let (mut lo, mut hi) = (0usize, self.entries - 1);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if key(mid) <= target {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Some(lo)
    }

    /// Makes sure the first `end` bytes have disk blocks. A preallocated index is a sparse file, and
    /// writing through the mapping into a hole of a full file system raises SIGBUS instead of an
    /// error; reserving the blocks with `fallocate` first turns a full disk into `ENOSPC` here,
    /// which takes the log dir offline like any other I/O error. File systems without `fallocate`
    /// keep the sparse behaviour.
    fn reserve(&mut self, end: usize) -> io::Result<()> {
        if end <= self.reserved {
            return Ok(());
        }
        let upto = end.div_ceil(RESERVE_CHUNK).saturating_mul(RESERVE_CHUNK).min(self.capacity_bytes()).max(end);
        let file = match OpenOptions::new().write(true).open(&self.path) {
            Ok(f) => f,
            // The segment was deleted from disk already: its mapping is all that is left.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let from = self.reserved;
        // SAFETY: fallocate on an fd we own, over a range inside the file (mode 0 only allocates).
        let rc = unsafe {
            libc::fallocate(std::os::fd::AsRawFd::as_raw_fd(&file), 0, from as libc::off_t, (upto - from) as libc::off_t)
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EOPNOTSUPP) {
                return Err(e);
            }
        }
        self.reserved = upto;
        Ok(())
    }

    /// Appends an entry, growing the file by one entry if it is full.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.is_full() {
            self.resize((self.entries + 1) * self.entry_size)?;
        }
        let at = self.entries * self.entry_size;
        self.reserve(at + self.entry_size)?;
        if let Some(m) = self.mmap.as_mut() {
            m[at..at + self.entry_size].copy_from_slice(bytes);
            self.entries += 1;
        }
        Ok(())
    }

    /// Forgets entries from `n` on (the bytes stay until the next trim/overwrite).
    pub(crate) fn truncate_entries(&mut self, n: usize) {
        self.entries = self.entries.min(n);
    }

    /// Writes dirty pages to disk.
    pub(crate) fn flush(&self) -> io::Result<()> {
        match &self.mmap {
            Some(m) => m.flush(),
            None => Ok(()),
        }
    }

    /// Path of the file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file (the mapping stays valid).
    pub(crate) fn rename(&mut self, to: &Path) -> io::Result<()> {
        std::fs::rename(&self.path, to)?;
        self.path = to.to_path_buf();
        Ok(())
    }

    /// File length in bytes that was found on disk modulo the entry size — non-zero means corrupt.
    pub(crate) fn len_is_multiple(path: &Path, entry_size: usize) -> io::Result<bool> {
        Ok((std::fs::metadata(path)?.len() as usize).is_multiple_of(entry_size))
    }
}
