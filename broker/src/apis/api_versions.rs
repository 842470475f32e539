//! ApiVersions (key 18, v0-3).
//!
//! * A version newer than 3: the body is not parsed; the answer is a v0-format response with
//!   UNSUPPORTED_VERSION and only the ApiVersions range, so the client can retry with a version
//!   both sides know (KIP-511). The connection stays open.
//! * v3 with an invalid client software name or version: INVALID_REQUEST.
//! * Otherwise the broker's supported API table.
//!
//! The response header is always v0 (`wire::encode_response` takes care of that).

use bytes::Bytes;
use wire::kafka_protocol::messages::api_versions_response::ApiVersion;
use wire::kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use wire::kafka_protocol::protocol::Decodable;
use wire::ResponseError;

use super::{supported_range, KafkaApis, RequestContext, SUPPORTED_APIS};
use crate::network::response::Response;

/// Whether a client software name/version is acceptable:
/// `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`.
pub fn is_valid_client_software_field(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: u8| c.is_ascii_alphanumeric();
    let middle = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'.';
    match b.len() {
        0 => false,
        1 => edge(b[0]),
        n => edge(b[0]) && edge(b[n - 1]) && b[1..n - 1].iter().all(|c| middle(*c)),
    }
}

/// The response advertising every supported API.
pub fn supported_response() -> ApiVersionsResponse {
    ApiVersionsResponse::default().with_api_keys(
        SUPPORTED_APIS
            .iter()
            .map(|(key, lo, hi)| ApiVersion::default().with_api_key(*key as i16).with_min_version(*lo).with_max_version(*hi))
            .collect(),
    )
}

fn encode(ctx: &RequestContext, version: i16, body: &ApiVersionsResponse) -> Response {
    match wire::encode_response(ctx.header.correlation_id, ctx.header.api_key, version, body) {
        Ok(frame) => Response::Frame(frame),
        Err(e) => {
            tracing::error!("could not encode ApiVersions response: {e}");
            Response::Close
        }
    }
}

/// Handle an ApiVersions request of any version.
pub fn handle(_apis: &KafkaApis, ctx: &RequestContext, body: Bytes) -> Response {
    let version = ctx.header.api_version;
    let (lo, hi) = supported_range(ApiKey::ApiVersions as i16).unwrap_or((0, 3));
    if version < lo || version > hi {
        let resp = ApiVersionsResponse::default()
            .with_error_code(ResponseError::UnsupportedVersion.code())
            .with_api_keys(vec![ApiVersion::default()
                .with_api_key(ApiKey::ApiVersions as i16)
                .with_min_version(lo)
                .with_max_version(hi)]);
        return encode(ctx, 0, &resp);
    }
    let mut body = body;
    let req = match ApiVersionsRequest::decode(&mut body, version) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(
                "Closing connection from {}: malformed ApiVersions v{version} request: {e}",
                ctx.client_host
            );
            return Response::Close;
        }
    };
    if version >= 3
        && !(is_valid_client_software_field(&req.client_software_name)
            && is_valid_client_software_field(&req.client_software_version))
    {
        let resp = ApiVersionsResponse::default().with_error_code(ResponseError::InvalidRequest.code());
        return encode(ctx, version, &resp);
    }
    encode(ctx, version, &supported_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_software_fields() {
        assert!(is_valid_client_software_field("apache-kafka-java"));
        assert!(is_valid_client_software_field("2.8.2"));
        assert!(is_valid_client_software_field("a"));
        assert!(!is_valid_client_software_field(""));
        assert!(!is_valid_client_software_field("-a"));
        assert!(!is_valid_client_software_field("a."));
        assert!(!is_valid_client_software_field("a b"));
    }

    #[test]
    fn table_is_encodable_at_every_version() {
        use wire::kafka_protocol::protocol::Encodable;
        let r = supported_response();
        for v in 0..=3 {
            let mut buf = bytes::BytesMut::new();
            r.encode(&mut buf, v).unwrap();
        }
        assert!(r.api_keys.iter().any(|k| k.api_key == 18 && k.max_version == 3));
    }
}
