//! Size-prefixed framing: every Kafka request and response is `size:int32` followed by
//! `size` bytes. This module reads such frames with an upper bound, because an
//! unchecked size from the network would let a peer make us allocate arbitrary memory.

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Initial buffer reservation for a frame body; the buffer grows as bytes actually arrive,
/// so a peer announcing a large frame and then stalling does not pin that much memory.
const INITIAL_CHUNK: usize = 64 * 1024;

/// Why a frame could not be read. Any of these means the connection must be closed,
/// since the stream position is no longer known to be at a frame boundary.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The size prefix was negative or above the configured limit (Kafka's
    /// `InvalidReceiveException`); no response is sent, the connection is dropped.
    #[error("invalid receive (size = {size}, max = {max})")]
    InvalidSize {
        /// The size prefix as received.
        size: i32,
        /// The limit in force for this connection.
        max: usize,
    },
    /// Socket failure or EOF in the middle of a frame (`ErrorKind::UnexpectedEof`).
    #[error("i/o error while reading frame: {0}")]
    Io(#[from] std::io::Error),
}

/// Read one size-prefixed frame and return its payload (without the size prefix).
///
/// Returns `Ok(None)` on a clean EOF before the first byte of a frame, which is how a
/// peer closing an idle connection looks. A negative size or one larger than `max`
/// yields [`FrameError::InvalidSize`]; EOF after the first byte yields
/// [`FrameError::Io`] with kind `UnexpectedEof`. A size of zero is legal.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<Bytes>, FrameError> {
    let mut size_buf = [0u8; 4];
    let mut filled = 0;
    while filled < size_buf.len() {
        let n = r.read(&mut size_buf[filled..]).await?;
        if n == 0 {
            if filled == 0 {
                return Ok(None);
            }
            return Err(unexpected_eof("EOF inside frame size prefix"));
        }
        filled += n;
    }
    let size = i32::from_be_bytes(size_buf);
    if size < 0 || size as usize > max {
        return Err(FrameError::InvalidSize { size, max });
    }
    let size = size as usize;
    let mut payload = BytesMut::with_capacity(size.min(INITIAL_CHUNK));
    while payload.len() < size {
        let want = (size - payload.len()).min(INITIAL_CHUNK);
        payload.reserve(want);
        let mut limited = (&mut payload).limit(want);
        let n = r.read_buf(&mut limited).await?;
        if n == 0 {
            return Err(unexpected_eof("EOF inside frame body"));
        }
    }
    Ok(Some(payload.freeze()))
}

fn unexpected_eof(msg: &'static str) -> FrameError {
    FrameError::Io(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, msg))
}

/// Prepend the 4-byte big-endian size to `payload`, producing a complete frame.
/// Used by the client side and by anything that builds a frame from an already
/// encoded payload.
pub fn frame_payload(payload: &[u8]) -> BytesMut {
    let mut out = BytesMut::with_capacity(4 + payload.len());
    out.put_i32(payload.len() as i32);
    out.put_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn reads_frames_in_sequence() {
        let (mut a, mut b) = tokio::io::duplex(64);
        tokio::spawn(async move {
            a.write_all(&frame_payload(b"hello")).await.unwrap();
            a.write_all(&frame_payload(b"")).await.unwrap();
            a.write_all(&frame_payload(b"xyz")).await.unwrap();
        });
        assert_eq!(read_frame(&mut b, 100).await.unwrap().unwrap(), &b"hello"[..]);
        assert_eq!(read_frame(&mut b, 100).await.unwrap().unwrap(), &b""[..]);
        assert_eq!(read_frame(&mut b, 100).await.unwrap().unwrap(), &b"xyz"[..]);
        assert!(read_frame(&mut b, 100).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn large_frame_across_chunks() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let expect = data.clone();
        tokio::spawn(async move {
            a.write_all(&frame_payload(&data)).await.unwrap();
            a.write_all(&frame_payload(b"next")).await.unwrap();
        });
        let f = read_frame(&mut b, 1 << 20).await.unwrap().unwrap();
        assert_eq!(&f[..], &expect[..]);
        assert_eq!(read_frame(&mut b, 1 << 20).await.unwrap().unwrap(), &b"next"[..]);
    }

    #[tokio::test]
    async fn negative_size_rejected() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&(-1i32).to_be_bytes()).await.unwrap();
        match read_frame(&mut b, 100).await {
            Err(FrameError::InvalidSize { size: -1, max: 100 }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn too_large_rejected() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&101i32.to_be_bytes()).await.unwrap();
        match read_frame(&mut b, 100).await {
            Err(FrameError::InvalidSize { size: 101, max: 100 }) => {}
            other => panic!("unexpected {other:?}"),
        }
        // exactly max is fine
        let (mut a, mut b) = tokio::io::duplex(256);
        a.write_all(&frame_payload(&[7u8; 100])).await.unwrap();
        assert_eq!(read_frame(&mut b, 100).await.unwrap().unwrap().len(), 100);
    }

    #[tokio::test]
    async fn clean_eof_is_none() {
        let (a, mut b) = tokio::io::duplex(64);
        drop(a);
        assert!(read_frame(&mut b, 100).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn eof_in_size_prefix() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&[0, 0]).await.unwrap();
        drop(a);
        match read_frame(&mut b, 100).await {
            Err(FrameError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn eof_in_body() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&10i32.to_be_bytes()).await.unwrap();
        a.write_all(b"abc").await.unwrap();
        drop(a);
        match read_frame(&mut b, 100).await {
            Err(FrameError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
            other => panic!("unexpected {other:?}"),
        }
    }
}
