//! Responses as the connection writes them, including zero-copy file regions.
//!
//! A Fetch response is a small encoded header interleaved with byte ranges of segment files; the
//! file ranges go from the page cache to the socket with `sendfile(2)` and never pass through a
//! user-space buffer. Everything else is one encoded frame.

use std::os::fd::AsFd;

use bytes::{Bytes, BytesMut};
use storage::FileSlice;
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;

/// One piece of a zero-copy response.
#[derive(Debug, Clone)]
pub enum ResponsePart {
    /// Encoded protocol bytes.
    Bytes(Bytes),
    /// A region of a segment file, sent with sendfile.
    File(FileSlice),
}

/// What the connection does after a request was handled.
#[derive(Debug)]
pub enum Response {
    /// A fully encoded frame (size prefix included).
    Frame(BytesMut),
    /// A frame assembled from encoded pieces and file regions (size prefix in the first piece).
    ZeroCopy(Vec<ResponsePart>),
    /// Nothing to send (a successful `acks=0` produce).
    NoResponse,
    /// Close the connection without answering (Kafka's CloseConnectionResponse, protocol errors).
    Close,
}

impl ResponsePart {
    /// Number of bytes this part puts on the wire.
    pub fn len(&self) -> usize {
        match self {
            ResponsePart::Bytes(b) => b.len(),
            ResponsePart::File(f) => f.len as usize,
        }
    }

    /// Whether the part is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Write a response to the socket. File parts use `sendfile`, waiting for writability on EAGAIN.
pub async fn write_response(stream: &mut TcpStream, response: Response) -> std::io::Result<()> {
    match response {
        Response::Frame(buf) => stream.write_all(&buf).await,
        Response::ZeroCopy(parts) => {
            for part in parts {
                match part {
                    ResponsePart::Bytes(b) => stream.write_all(&b).await?,
                    ResponsePart::File(slice) => send_file(stream, &slice).await?,
                }
            }
            Ok(())
        }
        Response::NoResponse | Response::Close => Ok(()),
    }
}

/// Send a file region with sendfile(2), looping over partial writes.
async fn send_file(stream: &TcpStream, slice: &FileSlice) -> std::io::Result<()> {
    let mut offset = slice.position as i64;
    let end = slice.position as i64 + slice.len as i64;
    while offset < end {
        let remaining = (end - offset) as usize;
        let sock: &TcpStream = stream;
        let result = sock
            .async_io(Interest::WRITABLE, || {
                nix::sys::sendfile::sendfile(sock.as_fd(), slice.file.as_fd(), Some(&mut offset), remaining)
                    .map_err(std::io::Error::from)
            })
            .await;
        match result {
            Ok(0) => {
                // The file is shorter than the slice (truncated meanwhile): pad is impossible, so
                // fail the connection; the client will retry the fetch.
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "segment shrank during sendfile"));
            }
            Ok(_) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
