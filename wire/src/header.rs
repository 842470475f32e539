//! Request and response headers. The header version is not on the wire: it is derived
//! from the api key and version (flexible versions use header v2 / response header v1),
//! with two exceptions that matter for compatibility — ControlledShutdown v0 requests use
//! header v0 (no client id), and ApiVersions responses always use header v0.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::Encodable;

/// Api key of ApiVersions, whose response header is always v0 (KIP-511).
pub const API_VERSIONS_KEY: i16 = 18;
/// Api key of ControlledShutdown, whose v0 request uses header v0.
pub const CONTROLLED_SHUTDOWN_KEY: i16 = 7;

/// A parsed request header (v0, v1 or v2). Kept independent of `kafka-protocol`'s header
/// type so the broker can route on plain integers and so that `client_id` is always the
/// old-style int16-length string Kafka uses even in v2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// The request's api key (e.g. 0 = Produce).
    pub api_key: i16,
    /// The request's api version, used to decode the body.
    pub api_version: i16,
    /// Copied into the response so the client can match it.
    pub correlation_id: i32,
    /// Client id; `None` for header v0 or when sent as a null string.
    pub client_id: Option<String>,
}

/// Why a request header could not be parsed. Kafka turns both into an
/// `InvalidRequestException` and closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The api key is not one this implementation knows.
    #[error("unknown API key {0}")]
    UnknownApiKey(i16),
    /// The header is truncated or otherwise unparsable.
    #[error("malformed request header: {0}")]
    Malformed(&'static str),
}

/// Failure to encode a message body (e.g. a field not representable at that version).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to encode {what}: {message}")]
pub struct EncodeError {
    /// What was being encoded (e.g. "response body").
    pub what: &'static str,
    /// The underlying encoder's message.
    pub message: String,
}

impl EncodeError {
    pub(crate) fn new(what: &'static str, err: impl std::fmt::Display) -> Self {
        EncodeError {
            what,
            message: err.to_string(),
        }
    }
}

/// Request header version for `api_key`/`api_version`: 0 for ControlledShutdown v0,
/// otherwise 2 for flexible versions and 1 for the rest. Unknown keys give `None`.
pub fn request_header_version(api_key: i16, api_version: i16) -> Option<i16> {
    if api_key == CONTROLLED_SHUTDOWN_KEY && api_version == 0 {
        return Some(0);
    }
    let key = ApiKey::try_from(api_key).ok()?;
    Some(key.request_header_version(api_version))
}

/// Response header version: ApiVersions (18) always 0; otherwise per `kafka-protocol`'s
/// flexible-version table (1 when flexible, else 0). Unknown keys get 0.
pub fn response_header_version(api_key: i16, api_version: i16) -> i16 {
    if api_key == API_VERSIONS_KEY {
        return 0;
    }
    match ApiKey::try_from(api_key) {
        Ok(key) => key.response_header_version(api_version),
        Err(()) => 0,
    }
}

/// Parse the request header at the start of `frame` and return it with the body bytes.
///
/// The api key and version are read first to pick the header version, as Kafka does.
/// An unknown api key gives [`HeaderError::UnknownApiKey`]; truncation gives
/// [`HeaderError::Malformed`].
pub fn parse_request_header(frame: Bytes) -> Result<(RequestHeader, Bytes), HeaderError> {
    let mut buf = frame;
    let api_key = get_i16(&mut buf, "api key")?;
    let api_version = get_i16(&mut buf, "api version")?;
    let header_version =
        request_header_version(api_key, api_version).ok_or(HeaderError::UnknownApiKey(api_key))?;
    let correlation_id = get_i32(&mut buf, "correlation id")?;
    let client_id = if header_version >= 1 {
        read_nullable_string(&mut buf)?
    } else {
        None
    };
    if header_version >= 2 {
        skip_tagged_fields(&mut buf)?;
    }
    Ok((
        RequestHeader {
            api_key,
            api_version,
            correlation_id,
            client_id,
        },
        buf,
    ))
}

/// Encode a full request frame (size prefix, header of the right version, body). Used by
/// the client; exposed so tests and tools can craft requests by hand.
pub fn encode_request<M: Encodable>(
    api_key: i16,
    api_version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
    body: &M,
) -> Result<BytesMut, EncodeError> {
    let header_version = request_header_version(api_key, api_version).ok_or_else(|| {
        EncodeError::new("request header", format!("unknown api key {api_key}"))
    })?;
    let body_len = body
        .compute_size(api_version)
        .map_err(|e| EncodeError::new("request body", e))?;
    let mut out = BytesMut::with_capacity(64 + body_len);
    out.put_i32(0); // patched below
    out.put_i16(api_key);
    out.put_i16(api_version);
    out.put_i32(correlation_id);
    if header_version >= 1 {
        match client_id {
            Some(id) => {
                let bytes = id.as_bytes();
                let len = i16::try_from(bytes.len())
                    .map_err(|_| EncodeError::new("request header", "client id too long"))?;
                out.put_i16(len);
                out.put_slice(bytes);
            }
            None => out.put_i16(-1),
        }
    }
    if header_version >= 2 {
        out.put_u8(0); // no tagged fields
    }
    body.encode(&mut out, api_version)
        .map_err(|e| EncodeError::new("request body", e))?;
    patch_size(&mut out)?;
    Ok(out)
}

/// Encode a complete response frame: size prefix, response header (v0 or v1), body.
pub fn encode_response<M: Encodable>(
    correlation_id: i32,
    api_key: i16,
    api_version: i16,
    body: &M,
) -> Result<BytesMut, EncodeError> {
    let body_len = body
        .compute_size(api_version)
        .map_err(|e| EncodeError::new("response body", e))?;
    let mut out = encode_response_prefix(correlation_id, api_key, api_version, body_len);
    body.encode(&mut out, api_version)
        .map_err(|e| EncodeError::new("response body", e))?;
    Ok(out)
}

/// Size prefix plus response header for a body of `body_len` bytes that the caller writes
/// itself (zero-copy Fetch: the records are sent straight from the segment file).
pub fn encode_response_prefix(
    correlation_id: i32,
    api_key: i16,
    api_version: i16,
    body_len: usize,
) -> BytesMut {
    let header_len = if response_header_version(api_key, api_version) >= 1 {
        5
    } else {
        4
    };
    let mut out = BytesMut::with_capacity(4 + header_len + body_len);
    out.put_i32((header_len + body_len) as i32);
    out.put_i32(correlation_id);
    if header_len == 5 {
        out.put_u8(0); // empty tagged fields
    }
    out
}

/// Parse a response header of the given version, returning the correlation id and leaving
/// `buf` at the start of the body.
pub fn parse_response_header(buf: &mut Bytes, header_version: i16) -> Result<i32, HeaderError> {
    let correlation_id = get_i32(buf, "correlation id")?;
    if header_version >= 1 {
        skip_tagged_fields(buf)?;
    }
    Ok(correlation_id)
}

fn patch_size(out: &mut BytesMut) -> Result<(), EncodeError> {
    let size = i32::try_from(out.len() - 4)
        .map_err(|_| EncodeError::new("frame", "frame larger than 2 GiB"))?;
    out[..4].copy_from_slice(&size.to_be_bytes());
    Ok(())
}

fn get_i16(buf: &mut Bytes, what: &'static str) -> Result<i16, HeaderError> {
    if buf.remaining() < 2 {
        return Err(HeaderError::Malformed(what));
    }
    Ok(buf.get_i16())
}

fn get_i32(buf: &mut Bytes, what: &'static str) -> Result<i32, HeaderError> {
    if buf.remaining() < 4 {
        return Err(HeaderError::Malformed(what));
    }
    Ok(buf.get_i32())
}

/// Old-style nullable string: int16 length, any negative length means null.
fn read_nullable_string(buf: &mut Bytes) -> Result<Option<String>, HeaderError> {
    let len = get_i16(buf, "client id length")?;
    if len < 0 {
        return Ok(None);
    }
    let len = len as usize;
    if buf.remaining() < len {
        return Err(HeaderError::Malformed("client id"));
    }
    let raw = buf.split_to(len);
    Ok(Some(String::from_utf8_lossy(&raw).into_owned()))
}

fn read_uvarint(buf: &mut Bytes) -> Result<u32, HeaderError> {
    let mut value: u32 = 0;
    for i in 0..5 {
        if !buf.has_remaining() {
            return Err(HeaderError::Malformed("tagged fields"));
        }
        let b = buf.get_u8();
        value |= ((b & 0x7f) as u32) << (i * 7);
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(HeaderError::Malformed("varint too long"))
}

/// Skip a tagged-field section (count, then tag/size/bytes for each field).
fn skip_tagged_fields(buf: &mut Bytes) -> Result<(), HeaderError> {
    let count = read_uvarint(buf)?;
    for _ in 0..count {
        let _tag = read_uvarint(buf)?;
        let size = read_uvarint(buf)? as usize;
        if buf.remaining() < size {
            return Err(HeaderError::Malformed("tagged field"));
        }
        buf.advance(size);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::{ApiVersionsResponse, MetadataRequest};

    fn raw_header(key: i16, ver: i16, corr: i32) -> BytesMut {
        let mut b = BytesMut::new();
        b.put_i16(key);
        b.put_i16(ver);
        b.put_i32(corr);
        b
    }

    #[test]
    fn header_v0_controlled_shutdown() {
        let mut b = raw_header(7, 0, 42);
        b.put_i32(5); // body: broker id
        let (h, body) = parse_request_header(b.freeze()).unwrap();
        assert_eq!(h.api_key, 7);
        assert_eq!(h.correlation_id, 42);
        assert_eq!(h.client_id, None);
        assert_eq!(&body[..], &5i32.to_be_bytes());
    }

    #[test]
    fn header_v1_with_client_id_and_null() {
        let mut b = raw_header(3, 5, 9); // Metadata v5: not flexible
        b.put_i16(3);
        b.put_slice(b"abc");
        b.put_slice(b"BODY");
        let (h, body) = parse_request_header(b.freeze()).unwrap();
        assert_eq!(h.client_id.as_deref(), Some("abc"));
        assert_eq!(&body[..], b"BODY");

        let mut b = raw_header(3, 5, 9);
        b.put_i16(-1);
        let (h, body) = parse_request_header(b.freeze()).unwrap();
        assert_eq!(h.client_id, None);
        assert!(body.is_empty());
    }

    #[test]
    fn header_v2_flexible_with_tagged_fields() {
        let mut b = raw_header(3, 9, 77); // Metadata v9: flexible
        b.put_i16(2);
        b.put_slice(b"id");
        b.put_u8(2); // two tagged fields
        b.put_u8(0);
        b.put_u8(3);
        b.put_slice(b"xyz");
        b.put_u8(5);
        b.put_u8(0);
        b.put_slice(b"REST");
        let (h, body) = parse_request_header(b.freeze()).unwrap();
        assert_eq!(h.api_version, 9);
        assert_eq!(h.correlation_id, 77);
        assert_eq!(h.client_id.as_deref(), Some("id"));
        assert_eq!(&body[..], b"REST");
    }

    #[test]
    fn api_versions_v4_uses_header_v2() {
        // Newer-than-supported ApiVersions still parses with the flexible header.
        let mut b = raw_header(18, 4, 1);
        b.put_i16(1);
        b.put_slice(b"c");
        b.put_u8(0);
        let (h, body) = parse_request_header(b.freeze()).unwrap();
        assert_eq!(h.api_version, 4);
        assert!(body.is_empty());
    }

    #[test]
    fn unknown_api_key() {
        let mut b = raw_header(9999, 0, 1);
        b.put_i16(-1);
        assert_eq!(
            parse_request_header(b.freeze()),
            Err(HeaderError::UnknownApiKey(9999))
        );
    }

    #[test]
    fn truncated_headers() {
        assert!(matches!(
            parse_request_header(Bytes::from_static(&[0, 3, 0])),
            Err(HeaderError::Malformed(_))
        ));
        let b = raw_header(3, 5, 1);
        assert!(matches!(
            parse_request_header(b.freeze()),
            Err(HeaderError::Malformed(_))
        ));
        let mut b = raw_header(3, 5, 1);
        b.put_i16(10);
        b.put_slice(b"abc");
        assert!(matches!(
            parse_request_header(b.freeze()),
            Err(HeaderError::Malformed(_))
        ));
        let mut b = raw_header(3, 9, 1);
        b.put_i16(0);
        b.put_u8(1);
        b.put_u8(0);
        b.put_u8(10);
        assert!(matches!(
            parse_request_header(b.freeze()),
            Err(HeaderError::Malformed(_))
        ));
    }

    #[test]
    fn response_header_versions() {
        assert_eq!(response_header_version(18, 3), 0);
        assert_eq!(response_header_version(18, 0), 0);
        assert_eq!(response_header_version(3, 8), 0);
        assert_eq!(response_header_version(3, 9), 1);
        assert_eq!(response_header_version(0, 8), 0);
        assert_eq!(response_header_version(1, 11), 0);
        assert_eq!(response_header_version(1, 12), 1);
        assert_eq!(response_header_version(7, 0), 0);
        assert_eq!(response_header_version(7, 3), 1);
    }

    #[test]
    fn encode_response_layout() {
        let body = ApiVersionsResponse::default();
        let out = encode_response(5, 18, 3, &body).unwrap();
        let size = i32::from_be_bytes([out[0], out[1], out[2], out[3]]) as usize;
        assert_eq!(size, out.len() - 4);
        assert_eq!(&out[4..8], &5i32.to_be_bytes());
        // body starts right after the correlation id: error code 0
        assert_eq!(&out[8..10], &[0, 0]);

        let prefix = encode_response_prefix(9, 3, 9, 100);
        assert_eq!(prefix.len(), 9);
        assert_eq!(&prefix[..4], &105i32.to_be_bytes());
        assert_eq!(prefix[8], 0);
        let prefix = encode_response_prefix(9, 3, 8, 100);
        assert_eq!(prefix.len(), 8);
        assert_eq!(&prefix[..4], &104i32.to_be_bytes());
    }

    #[test]
    fn encode_request_roundtrip() {
        let req = MetadataRequest::default();
        for ver in [1i16, 9] {
            let out = encode_request(3, ver, 11, Some("me"), &req).unwrap();
            let frame = out.freeze().slice(4..);
            let (h, _body) = parse_request_header(frame).unwrap();
            assert_eq!(h.api_version, ver);
            assert_eq!(h.correlation_id, 11);
            assert_eq!(h.client_id.as_deref(), Some("me"));
        }
        let out = encode_request(7, 0, 3, Some("me"), &MetadataRequest::default());
        // header v0 has no client id even when one is given
        let frame = out.unwrap().freeze().slice(4..);
        assert_eq!(frame.len(), 8 + MetadataRequest::default().compute_size(0).unwrap());
    }
}
