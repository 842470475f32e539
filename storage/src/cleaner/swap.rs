//! Swapping a cleaned segment into a log, and finishing an interrupted swap at load time
//! (Kafka's `replaceSegments` and the `.swap` part of `loadSegmentFiles`).
//!
//! Crash safety: the cleaned files are renamed `.cleaned` -> `.swap` before any old segment is
//! touched; the old segments are then renamed `.deleted`, and the `.swap` suffix removed last.
//! At load, `.cleaned` files are deleted (the swap never started) and a `.swap` log file is put
//! in place, deleting every other segment whose base offset lies inside its offset range.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use crate::cleaner::cleaner::{CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX};
use crate::error::StorageError;
use crate::log::Log;
use crate::log_segment::{segment_file, LogSegment, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use crate::record_batch::{self, HEADER_SIZE};

impl Log {
    /// Replaces the segments `old` (consecutive, none active) by `new` (a `.cleaned` segment
    /// whose base offset is `old[0]`'s). Returns false, changing nothing, when the log changed
    /// meanwhile (a segment of `old` was deleted, truncated or became active) — the cleaning of
    /// this group is then dropped.
    pub(crate) fn replace_segments_unguarded(&self, new: &Arc<LogSegment>, old: &[Arc<LogSegment>]) -> Result<bool, StorageError> {
        let config = self.config_arc();
        let mut inner = self.lock();
        let active = inner.active().map(|s| s.base_offset());
        let unchanged = old.iter().all(|s| {
            inner.segments.get(&s.base_offset()).is_some_and(|cur| Arc::ptr_eq(cur, s)) && Some(s.base_offset()) != active
        });
        if !unchanged || old.first().map(|s| s.base_offset()) != Some(new.base_offset()) {
            tracing::info!("log {} changed while it was cleaned; dropping the cleaned segment {}", self.tp, new.base_offset());
            return Ok(false);
        }
        new.change_file_suffixes(CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX)?;
        inner.segments.insert(new.base_offset(), new.clone());
        for seg in old {
            if seg.base_offset() != new.base_offset() {
                inner.segments.remove(&seg.base_offset());
            }
            for p in seg.rename_to_deleted()? {
                self.deleter.schedule(p, config.file_delete_delay_ms);
            }
        }
        new.change_file_suffixes(SWAP_FILE_SUFFIX, "")?;
        Ok(true)
    }
}

/// Offset after the last complete batch of a segment file (its base offset if empty).
fn next_offset_of(path: &Path, base: i64) -> std::io::Result<i64> {
    let f = std::fs::File::open(path)?;
    let size = f.metadata()?.len();
    let (mut pos, mut next) = (0u64, base);
    let mut hdr = [0u8; HEADER_SIZE];
    while pos + HEADER_SIZE as u64 <= size {
        f.read_exact_at(&mut hdr, pos)?;
        let Ok(h) = record_batch::parse_header(&hdr) else { break };
        if h.batch_length < (HEADER_SIZE - record_batch::LOG_OVERHEAD) as i32 || pos + h.size_in_bytes() as u64 > size {
            break;
        }
        next = h.next_offset();
        pos += h.size_in_bytes() as u64;
    }
    Ok(next)
}

/// Load-time completion of interrupted swaps: every base in `swapped` has just had its `.swap`
/// log file renamed into place; delete (files and entry in `log_bases`) every other segment
/// whose base offset falls inside a swapped segment's offset range — those are the old
/// segments the swap replaced.
pub fn complete_swaps(dir: &Path, swapped: &[i64], log_bases: &mut Vec<i64>) -> Result<(), StorageError> {
    for &b in swapped {
        let path = segment_file(dir, b, LOG_SUFFIX);
        let next = next_offset_of(&path, b).map_err(|e| StorageError::io(format!("reading {}", path.display()), e))?;
        let replaced: Vec<i64> = log_bases.iter().copied().filter(|&o| o > b && o < next && !swapped.contains(&o)).collect();
        for o in replaced {
            tracing::info!("deleting segment {o} of {} replaced by the swapped segment {b}", dir.display());
            for s in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
                let p = segment_file(dir, o, s);
                if let Err(e) = std::fs::remove_file(&p) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        return Err(StorageError::io(format!("deleting {}", p.display()), e));
                    }
                }
            }
            log_bases.retain(|&x| x != o);
        }
    }
    Ok(())
}
