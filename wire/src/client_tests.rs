//! Tests for `KafkaConnection` against a tiny in-process server.

use super::*;
use crate::header::{encode_response, parse_request_header, RequestHeader};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::metadata_response::MetadataResponseBroker;
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// Serve one connection: for each request call `handler`, which returns the response
/// frame to write (or None to close).
async fn serve<F>(handler: F) -> String
where
    F: Fn(RequestHeader, Bytes) -> Option<bytes::BytesMut> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        while let Ok(Some(frame)) = read_frame(&mut sock, 1 << 20).await {
            let (h, body) = parse_request_header(frame).unwrap();
            match handler(h, body) {
                Some(out) => sock.write_all(&out).await.unwrap(),
                None => return,
            }
        }
    });
    addr
}

fn api_versions(error: i16, keys: &[(i16, i16, i16)]) -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(error)
        .with_api_keys(
            keys.iter()
                .map(|&(k, lo, hi)| {
                    ApiVersion::default()
                        .with_api_key(k)
                        .with_min_version(lo)
                        .with_max_version(hi)
                })
                .collect(),
        )
}

#[tokio::test]
async fn negotiate_and_send_metadata() {
    let addr = serve(|h, body| match h.api_key {
        18 => {
            assert_eq!(h.api_version, 3);
            assert_eq!(h.client_id.as_deref(), Some("test-client"));
            let mut b = body;
            let req = ApiVersionsRequest::decode(&mut b, 3).unwrap();
            assert_eq!(req.client_software_name.as_str(), "kafka-rs");
            let resp = api_versions(0, &[(18, 0, 3), (3, 0, 11), (0, 3, 8)]);
            Some(encode_response(h.correlation_id, 18, 3, &resp).unwrap())
        }
        3 => {
            let resp = MetadataResponse::default().with_brokers(vec![
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(7))
                    .with_host(StrBytes::from_static_str("h"))
                    .with_port(9092),
            ]);
            Some(encode_response(h.correlation_id, 3, h.api_version, &resp).unwrap())
        }
        _ => None,
    })
    .await;
    let mut c = KafkaConnection::connect(&addr, "test-client", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(c.peer(), addr);
    assert_eq!(c.version_for(3, 12), None);
    c.negotiate().await.unwrap();
    assert_eq!(c.version_for(3, 12), Some(11));
    assert_eq!(c.version_for(3, 9), Some(9));
    assert_eq!(c.version_for(0, 2), None);
    assert_eq!(c.version_in(0, 3, 9), Some(8));
    assert_eq!(c.version_for(42, 5), None);
    for v in [1i16, 9, 11] {
        let resp = c.send(&MetadataRequest::default(), v).await.unwrap();
        assert_eq!(resp.brokers.len(), 1);
        assert_eq!(resp.brokers[0].node_id, BrokerId(7));
    }
}

#[tokio::test]
async fn api_versions_fallback_to_v0_body() {
    let addr = serve(|h, _body| {
        assert_eq!(h.api_key, 18);
        if h.api_version == 3 {
            // Old broker: v0 body, only ApiVersions' own range.
            let resp = api_versions(35, &[(18, 0, 2)]);
            Some(encode_response(h.correlation_id, 18, 0, &resp).unwrap())
        } else {
            assert_eq!(h.api_version, 2);
            let resp = api_versions(0, &[(18, 0, 2), (1, 0, 11)]);
            Some(encode_response(h.correlation_id, 18, 2, &resp).unwrap())
        }
    })
    .await;
    let mut c = KafkaConnection::connect(&addr, "c", Duration::from_secs(5))
        .await
        .unwrap();
    c.negotiate().await.unwrap();
    assert_eq!(c.version_for(1, 11), Some(11));
    assert_eq!(c.version_for(18, 3), Some(2));
}

#[tokio::test]
async fn correlation_mismatch_is_error() {
    let addr = serve(|h, _| {
        let resp = MetadataResponse::default();
        Some(encode_response(h.correlation_id + 100, 3, h.api_version, &resp).unwrap())
    })
    .await;
    let mut c = KafkaConnection::connect(&addr, "c", Duration::from_secs(5))
        .await
        .unwrap();
    match c.send(&MetadataRequest::default(), 4).await {
        Err(ClientError::CorrelationMismatch {
            expected: 0,
            actual: 100,
            ..
        }) => {}
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn disconnect_and_timeout() {
    let addr = serve(|_, _| None).await;
    let mut c = KafkaConnection::connect(&addr, "c", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(matches!(
        c.send(&MetadataRequest::default(), 4).await,
        Err(ClientError::Disconnected(_))
    ));

    // A server that accepts but never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let hold = tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(sock);
    });
    let mut c = KafkaConnection::connect(&addr, "c", Duration::from_secs(5))
        .await
        .unwrap();
    c.set_request_timeout(Duration::from_millis(100));
    assert!(matches!(
        c.send(&MetadataRequest::default(), 4).await,
        Err(ClientError::Timeout { .. })
    ));
    hold.abort();
}

#[tokio::test]
async fn connect_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    assert!(matches!(
        KafkaConnection::connect(&addr, "c", Duration::from_secs(2)).await,
        Err(ClientError::Io { .. })
    ));
}

#[tokio::test]
async fn broken_after_failure() {
    let addr = serve(|_, _| None).await;
    let mut c = KafkaConnection::connect(&addr, "c", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(c.send(&MetadataRequest::default(), 4).await.is_err());
    assert!(c.is_broken());
    assert!(matches!(
        c.send(&MetadataRequest::default(), 4).await,
        Err(ClientError::Disconnected(_))
    ));
}
