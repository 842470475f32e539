//! A single client connection to a broker. The controller's channel manager, the replica
//! fetchers and the command-line tools all need the same thing: send a typed request with
//! the correct header, wait for its response, and know which versions the peer accepts.
//! Requests go out one at a time, which matches Kafka's per-connection ordering.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::{Decodable, HeaderVersion, Request, StrBytes};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::frame::{read_frame, FrameError};
use crate::header::{encode_request, parse_response_header, EncodeError, HeaderError};

/// Largest response frame accepted by default (Kafka clients have no hard cap; this only
/// guards against garbage sizes).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1 << 30;
/// Default time allowed for one request/response round trip.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Highest ApiVersions version this client speaks.
const API_VERSIONS_MAX: i16 = 3;
/// Error code UNSUPPORTED_VERSION.
const UNSUPPORTED_VERSION: i16 = 35;

/// Everything that can go wrong talking to a broker. All variants except
/// [`ClientError::UnsupportedVersion`] leave the connection unusable.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// TCP connect or write/read failure.
    #[error("i/o error talking to {peer}: {source}")]
    Io {
        /// Peer address.
        peer: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// Connect or request exceeded its time limit.
    #[error("timed out {what} {peer}")]
    Timeout {
        /// Peer address.
        peer: String,
        /// What was being done ("connecting to", "waiting for response from").
        what: &'static str,
    },
    /// The peer closed the connection before answering.
    #[error("connection to {0} closed by peer")]
    Disconnected(String),
    /// The response frame could not be read.
    #[error("bad frame from {peer}: {source}")]
    Frame {
        /// Peer address.
        peer: String,
        /// Underlying error.
        source: FrameError,
    },
    /// The response header could not be parsed.
    #[error("bad response header from {peer}: {source}")]
    Header {
        /// Peer address.
        peer: String,
        /// Underlying error.
        source: HeaderError,
    },
    /// The response answered a different request (fatal for the connection, as in Kafka).
    #[error("correlation id mismatch from {peer}: expected {expected}, got {actual}")]
    CorrelationMismatch {
        /// Peer address.
        peer: String,
        /// Id we sent.
        expected: i32,
        /// Id we received.
        actual: i32,
    },
    /// The request could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The response body could not be decoded.
    #[error("failed to decode response (api key {api_key} v{version}) from {peer}: {message}")]
    Decode {
        /// Peer address.
        peer: String,
        /// Api key of the request.
        api_key: i16,
        /// Version used to decode.
        version: i16,
        /// Decoder message.
        message: String,
    },
    /// Version negotiation found no common version.
    #[error("{peer} supports no common version of api key {api_key}")]
    UnsupportedVersion {
        /// Peer address.
        peer: String,
        /// Api key in question.
        api_key: i16,
    },
    /// ApiVersions returned an error code.
    #[error("ApiVersions to {peer} failed with error code {code}")]
    ApiVersions {
        /// Peer address.
        peer: String,
        /// Error code returned.
        code: i16,
    },
}

/// One TCP connection to a broker with request/response matching and version negotiation.
pub struct KafkaConnection {
    stream: TcpStream,
    peer: String,
    client_id: String,
    next_correlation_id: i32,
    request_timeout: Duration,
    max_response_bytes: usize,
    versions: HashMap<i16, (i16, i16)>,
    /// Set after a failure that may have left a response unread; the stream can no longer
    /// be trusted to be at a frame boundary, so later requests fail fast.
    broken: bool,
}

impl KafkaConnection {
    /// Open a TCP connection to `addr` (`host:port`) within `timeout`.
    pub async fn connect(
        addr: &str,
        client_id: &str,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => {
                return Err(ClientError::Io {
                    peer: addr.to_string(),
                    source,
                })
            }
            Err(_) => {
                return Err(ClientError::Timeout {
                    peer: addr.to_string(),
                    what: "connecting to",
                })
            }
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(peer = addr, error = %e, "set_nodelay failed");
        }
        tracing::debug!(peer = addr, "connected");
        Ok(KafkaConnection {
            stream,
            peer: addr.to_string(),
            client_id: client_id.to_string(),
            next_correlation_id: 0,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            versions: HashMap::new(),
            broken: false,
        })
    }

    /// Change the per-request time limit (e.g. above a Fetch's max wait).
    pub fn set_request_timeout(&mut self, timeout: Duration) {
        self.request_timeout = timeout;
    }

    /// Change the largest response frame accepted.
    pub fn set_max_response_bytes(&mut self, max: usize) {
        self.max_response_bytes = max;
    }

    /// The address this connection was opened to.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Send `req` encoded at `version` and decode its response at the same version.
    pub async fn send<R: Request>(
        &mut self,
        req: &R,
        version: i16,
    ) -> Result<R::Response, ClientError> {
        let mut body = self.send_raw(req, version).await?;
        self.decode_body::<R::Response>(&mut body, R::KEY, version)
    }

    /// Send `req` and return the raw response body (after the header), so large Fetch
    /// responses can be parsed without an extra copy.
    pub async fn send_raw<R: Request>(
        &mut self,
        req: &R,
        version: i16,
    ) -> Result<Bytes, ClientError> {
        let correlation_id = self.write_request(req, version).await?;
        let header_version = if R::KEY == crate::header::API_VERSIONS_KEY {
            0
        } else {
            <R::Response as HeaderVersion>::header_version(version)
        };
        let timeout = self.request_timeout;
        let result = match tokio::time::timeout(
            timeout,
            self.read_response(correlation_id, header_version),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout {
                peer: self.peer.clone(),
                what: "waiting for response from",
            }),
        };
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    /// Whether an earlier failure made this connection unusable (reconnect instead).
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Send a request that gets no response (Produce with acks=0).
    pub async fn send_no_response<R: Request>(
        &mut self,
        req: &R,
        version: i16,
    ) -> Result<(), ClientError> {
        self.write_request(req, version).await.map(|_| ())
    }

    /// Ask the peer for its supported versions (ApiVersions v3, falling back to the
    /// version the peer advertises when it answers UNSUPPORTED_VERSION) and cache them.
    pub async fn negotiate(&mut self) -> Result<(), ClientError> {
        let mut version = API_VERSIONS_MAX;
        for _ in 0..2 {
            let req = ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("kafka-rs"))
                .with_client_software_version(StrBytes::from_static_str(env!(
                    "CARGO_PKG_VERSION"
                )));
            let body = self.send_raw(&req, version).await?;
            let resp = self.decode_api_versions(body, version)?;
            if resp.error_code == UNSUPPORTED_VERSION {
                let peer_max = resp
                    .api_keys
                    .iter()
                    .find(|k| k.api_key == crate::header::API_VERSIONS_KEY)
                    .map(|k| k.max_version)
                    .unwrap_or(0);
                let next = peer_max.min(API_VERSIONS_MAX);
                if next >= version {
                    break;
                }
                tracing::debug!(peer = %self.peer, from = version, to = next, "ApiVersions fallback");
                version = next;
                continue;
            }
            if resp.error_code != 0 {
                return Err(ClientError::ApiVersions {
                    peer: self.peer.clone(),
                    code: resp.error_code,
                });
            }
            self.versions = resp
                .api_keys
                .iter()
                .map(|k| (k.api_key, (k.min_version, k.max_version)))
                .collect();
            return Ok(());
        }
        Err(ClientError::ApiVersions {
            peer: self.peer.clone(),
            code: UNSUPPORTED_VERSION,
        })
    }

    /// Highest version of `api_key` that both sides support, given our highest version.
    /// `None` if the peer lacks the api or negotiation has not happened.
    pub fn version_for(&self, api_key: i16, our_max: i16) -> Option<i16> {
        self.version_in(api_key, 0, our_max)
    }

    /// Like [`Self::version_for`] but also respects our lowest supported version.
    pub fn version_in(&self, api_key: i16, our_min: i16, our_max: i16) -> Option<i16> {
        let (peer_min, peer_max) = *self.versions.get(&api_key)?;
        let v = our_max.min(peer_max);
        (v >= our_min.max(peer_min)).then_some(v)
    }

    /// Like [`Self::version_in`] but returns a typed error, for call sites that need one.
    pub fn require_version(
        &self,
        api_key: i16,
        our_min: i16,
        our_max: i16,
    ) -> Result<i16, ClientError> {
        self.version_in(api_key, our_min, our_max)
            .ok_or_else(|| ClientError::UnsupportedVersion {
                peer: self.peer.clone(),
                api_key,
            })
    }

    /// The peer's (min, max) for each api key, as learnt by [`Self::negotiate`].
    pub fn peer_versions(&self) -> &HashMap<i16, (i16, i16)> {
        &self.versions
    }

    async fn write_request<R: Request>(
        &mut self,
        req: &R,
        version: i16,
    ) -> Result<i32, ClientError> {
        if self.broken {
            return Err(ClientError::Disconnected(self.peer.clone()));
        }
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let frame = encode_request(R::KEY, version, correlation_id, Some(&self.client_id), req)?;
        self.stream
            .write_all(&frame)
            .await
            .map_err(|source| {
                self.broken = true;
                ClientError::Io {
                    peer: self.peer.clone(),
                    source,
                }
            })?;
        Ok(correlation_id)
    }

    async fn read_response(
        &mut self,
        expected: i32,
        header_version: i16,
    ) -> Result<Bytes, ClientError> {
        let frame = read_frame(&mut self.stream, self.max_response_bytes)
            .await
            .map_err(|source| ClientError::Frame {
                peer: self.peer.clone(),
                source,
            })?;
        let mut body = frame.ok_or_else(|| ClientError::Disconnected(self.peer.clone()))?;
        let actual = parse_response_header(&mut body, header_version).map_err(|source| {
            ClientError::Header {
                peer: self.peer.clone(),
                source,
            }
        })?;
        if actual != expected {
            return Err(ClientError::CorrelationMismatch {
                peer: self.peer.clone(),
                expected,
                actual,
            });
        }
        Ok(body)
    }

    fn decode_body<M: Decodable>(
        &self,
        body: &mut Bytes,
        api_key: i16,
        version: i16,
    ) -> Result<M, ClientError> {
        M::decode(body, version).map_err(|e| ClientError::Decode {
            peer: self.peer.clone(),
            api_key,
            version,
            message: e.to_string(),
        })
    }

    /// A broker that does not support our ApiVersions version answers with a v0 body; try
    /// the requested version first and fall back to v0, as Kafka's client does.
    fn decode_api_versions(
        &self,
        body: Bytes,
        version: i16,
    ) -> Result<ApiVersionsResponse, ClientError> {
        let mut first = body.clone();
        match self.decode_body::<ApiVersionsResponse>(&mut first, 18, version) {
            Ok(r) if r.error_code != UNSUPPORTED_VERSION => Ok(r),
            other => {
                let mut v0 = body;
                match self.decode_body::<ApiVersionsResponse>(&mut v0, 18, 0) {
                    Ok(r) => Ok(r),
                    Err(e) => other.map_err(|_| e),
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
