//! Checkpoint text files in Kafka's exact format: `<version>\n<count>\n<entry>\n...`,
//! written to `<file>.tmp`, fsync'd and atomically renamed.
//!
//! * [`OffsetCheckpointFile`]: `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`,
//!   `replication-offset-checkpoint`, `cleaner-offset-checkpoint` — entries `<topic> <partition> <offset>`.
//! * [`LeaderEpochCheckpointFile`]: `leader-epoch-checkpoint` — entries `<epoch> <startOffset>`.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, StorageError};
use crate::TopicPartition;

/// File name of the recovery point checkpoint.
pub const RECOVERY_POINT_CHECKPOINT: &str = "recovery-point-offset-checkpoint";
/// File name of the log start offset checkpoint.
pub const LOG_START_OFFSET_CHECKPOINT: &str = "log-start-offset-checkpoint";
/// File name of the high watermark checkpoint.
pub const REPLICATION_OFFSET_CHECKPOINT: &str = "replication-offset-checkpoint";
/// File name of the per-partition leader epoch checkpoint.
pub const LEADER_EPOCH_CHECKPOINT: &str = "leader-epoch-checkpoint";

/// Writes `content` to `path` atomically: tmp file, fsync, rename, fsync of the directory.
pub fn write_atomically(path: &Path, content: &[u8]) -> Result<(), StorageError> {
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let res: io::Result<()> = (|| {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(content)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Some(parent) = path.parent() {
            if let Ok(d) = File::open(parent) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    res.ctx(|| format!("writing checkpoint {}", path.display()))
}

fn parse_framed(path: &Path, text: &str) -> Result<Vec<Vec<String>>, StorageError> {
    let bad = |why: &str| {
        StorageError::io(
            format!("reading checkpoint {}", path.display()),
            io::Error::new(io::ErrorKind::InvalidData, why.to_string()),
        )
    };
    let mut lines = text.lines();
    let version = lines.next().ok_or_else(|| bad("empty file"))?;
    if version.trim() != "0" {
        return Err(bad(&format!("unrecognized version {version}")));
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| bad("missing or malformed entry count"))?;
    let entries: Vec<Vec<String>> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    if entries.len() != count {
        return Err(bad(&format!("expected {count} entries, found {}", entries.len())));
    }
    Ok(entries)
}

/// A `<topic> <partition> <offset>` checkpoint file of one log dir.
#[derive(Clone, Debug)]
pub struct OffsetCheckpointFile {
    path: PathBuf,
}

impl OffsetCheckpointFile {
    /// A checkpoint at `path` (the file need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> OffsetCheckpointFile {
        OffsetCheckpointFile { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the entries (sorted by topic-partition) atomically.
    pub fn write(&self, offsets: &BTreeMap<TopicPartition, i64>) -> Result<(), StorageError> {
        let mut s = format!("0\n{}\n", offsets.len());
        for (tp, o) in offsets {
            s.push_str(&format!("{} {} {}\n", tp.topic, tp.partition, o));
        }
        write_atomically(&self.path, s.as_bytes())
    }

    /// Reads the entries; a missing file is an empty checkpoint, a malformed one an error.
    pub fn read(&self) -> Result<BTreeMap<TopicPartition, i64>, StorageError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(StorageError::io(format!("reading {}", self.path.display()), e)),
        };
        let mut out = BTreeMap::new();
        for e in parse_framed(&self.path, &text)? {
            let parsed = match e.as_slice() {
                [t, p, o] => p.parse::<i32>().ok().zip(o.parse::<i64>().ok()).map(|(p, o)| (t.clone(), p, o)),
                _ => None,
            };
            let (t, p, o) = parsed.ok_or_else(|| {
                StorageError::io(
                    format!("reading checkpoint {}", self.path.display()),
                    io::Error::new(io::ErrorKind::InvalidData, format!("malformed line {e:?}")),
                )
            })?;
            out.insert(TopicPartition { topic: t, partition: p }, o);
        }
        Ok(out)
    }
}

/// The `leader-epoch-checkpoint` file of one partition: `<epoch> <startOffset>` entries.
#[derive(Clone, Debug)]
pub struct LeaderEpochCheckpointFile {
    path: PathBuf,
}

impl LeaderEpochCheckpointFile {
    /// A checkpoint at `path` (the file need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> LeaderEpochCheckpointFile {
        LeaderEpochCheckpointFile { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the entries in order, atomically.
    pub fn write(&self, entries: &[(i32, i64)]) -> Result<(), StorageError> {
        let mut s = format!("0\n{}\n", entries.len());
        for (e, o) in entries {
            s.push_str(&format!("{e} {o}\n"));
        }
        write_atomically(&self.path, s.as_bytes())
    }

    /// Reads the entries; a missing file is empty.
    pub fn read(&self) -> Result<Vec<(i32, i64)>, StorageError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StorageError::io(format!("reading {}", self.path.display()), e)),
        };
        let mut out = Vec::new();
        for e in parse_framed(&self.path, &text)? {
            let parsed = match e.as_slice() {
                [ep, o] => ep.parse::<i32>().ok().zip(o.parse::<i64>().ok()),
                _ => None,
            };
            out.push(parsed.ok_or_else(|| {
                StorageError::io(
                    format!("reading checkpoint {}", self.path.display()),
                    io::Error::new(io::ErrorKind::InvalidData, format!("malformed line {e:?}")),
                )
            })?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_checkpoint_is_byte_exact() {
        let dir = tempfile::tempdir().unwrap();
        let f = OffsetCheckpointFile::new(dir.path().join(RECOVERY_POINT_CHECKPOINT));
        assert!(f.read().unwrap().is_empty());
        let mut m = BTreeMap::new();
        m.insert(TopicPartition::new("foo", 1), 7);
        m.insert(TopicPartition::new("foo", 0), 5);
        f.write(&m).unwrap();
        assert_eq!(fs::read_to_string(f.path()).unwrap(), "0\n2\nfoo 0 5\nfoo 1 7\n");
        assert_eq!(f.read().unwrap(), m);
        assert!(!dir.path().join("recovery-point-offset-checkpoint.tmp").exists());
    }

    #[test]
    fn leader_epoch_checkpoint_is_byte_exact() {
        let dir = tempfile::tempdir().unwrap();
        let f = LeaderEpochCheckpointFile::new(dir.path().join(LEADER_EPOCH_CHECKPOINT));
        f.write(&[(0, 0), (3, 1520)]).unwrap();
        assert_eq!(fs::read_to_string(f.path()).unwrap(), "0\n2\n0 0\n3 1520\n");
        assert_eq!(f.read().unwrap(), vec![(0, 0), (3, 1520)]);
    }

    #[test]
    fn malformed_checkpoints_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        fs::write(&p, "0\n2\nfoo 0 5\n").unwrap();
        assert!(OffsetCheckpointFile::new(&p).read().is_err());
        fs::write(&p, "1\n0\n").unwrap();
        assert!(OffsetCheckpointFile::new(&p).read().is_err());
        fs::write(&p, "0\n1\nfoo x 5\n").unwrap();
        assert!(OffsetCheckpointFile::new(&p).read().is_err());
    }
}
