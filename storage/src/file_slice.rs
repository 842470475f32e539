//! Zero-copy read results: a byte range of a segment file handed to the network layer.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// A byte range of a segment file, to be sent with sendfile by the network layer. Holding the
/// `Arc<File>` keeps the data readable even if the segment is deleted meanwhile.
#[derive(Clone, Debug)]
pub struct FileSlice {
    /// The open segment `.log` file.
    pub file: Arc<File>,
    /// Start position in the file.
    pub position: u64,
    /// Number of bytes.
    pub len: u32,
}

impl FileSlice {
    /// Copies the bytes into memory (tests and non-zero-copy paths such as TLS).
    pub fn read_to_vec(&self) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; self.len as usize];
        self.file.read_exact_at(&mut buf, self.position)?;
        Ok(buf)
    }

    /// True when the slice holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The answer to [`crate::Log::read`]: where the data starts and the bytes to send.
#[derive(Clone, Debug)]
pub struct FetchDataInfo {
    /// The offset that was requested.
    pub fetch_offset: i64,
    /// The bytes to send (may be empty).
    pub records: FileSlice,
}
