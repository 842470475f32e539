//! Fetch (key 1): consumers and followers read partitions; record bytes go out with sendfile.
//!
//! Reads are ordered by the request and bounded by the response and partition byte limits; until the
//! first non-empty partition a single oversized batch may be returned whole (KIP-74). If fewer than
//! `min_bytes` are available the request waits (the delayed fetch) until an append or high-watermark
//! move on one of its partitions, or `max_wait_ms`.

pub mod encode;
pub mod throttle;

use std::sync::Arc;
use std::time::Duration;

use wire::kafka_protocol::messages::FetchRequest;

use super::{KafkaApis, RequestContext};
use crate::network::response::Response;
use crate::partition::Partition;
use crate::purgatory;
use crate::replica_manager::read::{PartitionRead, ReadParams, READ_COMMITTED};
use encode::{encode_fetch_response, FetchedPartition, FetchedTopic};

/// Handle a fetch request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: FetchRequest) -> Response {
    let version = ctx.header.api_version;
    if version < 4 {
        return old_version_response(ctx, &req);
    }
    let replica_id = req.replica_id.0;
    let max_bytes = if version >= 3 { req.max_bytes.max(0) } else { i32::MAX }.min(apis.config.fetch_max_bytes.max(0)) as u32;
    let read_committed = version >= 4 && req.isolation_level == READ_COMMITTED;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);

    // Subscribe before the first read so no append between read and wait is missed.
    let watched: Vec<Arc<Partition>> = req
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().filter_map(|p| apis.replica_manager.get_partition(t.topic.0.as_str(), p.partition)))
        .collect();
    let mut receivers: Vec<_> = watched.iter().map(|p| p.subscribe()).collect();

    let mut reads = read_all(apis, &req, replica_id, max_bytes, read_committed);
    let mut waited = false;
    loop {
        let total: usize = reads.iter().flat_map(|(_, ps)| ps.iter().map(|(_, r)| r.bytes())).sum();
        let any_error = reads
            .iter()
            .any(|(_, ps)| ps.iter().any(|(_, r)| r.error.is_some() || r.diverging_epoch.is_some()));
        let done = req.max_wait_ms <= 0
            || reads.is_empty()
            || total >= req.min_bytes.max(0) as usize
            || any_error
            || waited;
        if done {
            break;
        }
        waited = !purgatory::wait_any_change(&mut receivers, deadline).await;
        reads = read_all(apis, &req, replica_id, max_bytes, read_committed);
    }
    // Replication throttle (leader side): count what throttled partitions send to followers.
    throttle::record_leader_bytes(
        &apis.replica_manager,
        replica_id,
        reads.iter().flat_map(|(t, ps)| ps.iter().map(move |(p, r)| (t.as_str(), *p, r))),
    );

    let topics: Vec<FetchedTopic> = reads
        .into_iter()
        .map(|(name, parts)| FetchedTopic {
            name,
            partitions: parts
                .into_iter()
                .map(|(index, r)| FetchedPartition {
                    index,
                    error_code: r.error.map(|e| e.code()).unwrap_or(0),
                    high_watermark: r.high_watermark,
                    last_stable_offset: r.last_stable_offset,
                    log_start_offset: r.log_start_offset,
                    diverging_epoch: r.diverging_epoch,
                    read_committed,
                    records: r.records,
                })
                .collect(),
        })
        .collect();
    Response::ZeroCopy(encode_fetch_response(ctx.header.correlation_id, version, 0, &topics))
}

type TopicReads = Vec<(String, Vec<(i32, PartitionRead)>)>;

/// Read every requested partition in order within the byte budgets.
fn read_all(apis: &KafkaApis, req: &FetchRequest, replica_id: i32, max_bytes: u32, read_committed: bool) -> TopicReads {
    let isolation = if read_committed { READ_COMMITTED } else { 0 };
    let mut remaining = max_bytes;
    let mut first_non_empty_seen = false;
    let mut out: TopicReads = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let mut parts = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let params = ReadParams {
                fetch_offset: p.fetch_offset,
                current_leader_epoch: p.current_leader_epoch,
                max_bytes: (p.partition_max_bytes.max(0) as u32).min(remaining),
                min_one_message: !first_non_empty_seen,
                replica_id,
                log_start_offset: p.log_start_offset,
                // Decoded as -1 before v12.
                last_fetched_epoch: p.last_fetched_epoch,
            };
            let mut read = apis.replica_manager.read_partition(t.topic.0.as_str(), p.partition, params, isolation);
            // Replication throttle (leader side): no records for throttled out-of-sync followers.
            throttle::throttle_leader_read(&apis.replica_manager, t.topic.0.as_str(), p.partition, replica_id, &mut read);
            let n = read.bytes() as u32;
            if n > 0 {
                first_non_empty_seen = true;
                remaining = remaining.saturating_sub(n);
            }
            parts.push((p.partition, read));
        }
        out.push((t.topic.0.to_string(), parts));
    }
    out
}

/// Fetch v0-3 can only carry magic 0/1 message sets; without down-conversion every partition is
/// answered with UNSUPPORTED_VERSION rather than with bytes the client can't parse.
fn old_version_response(ctx: &RequestContext, req: &FetchRequest) -> Response {
    use wire::kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
    use wire::kafka_protocol::messages::FetchResponse;
    let responses = req
        .topics
        .iter()
        .map(|t| {
            FetchableTopicResponse::default().with_topic(t.topic.clone()).with_partitions(
                t.partitions
                    .iter()
                    .map(|p| {
                        PartitionData::default()
                            .with_partition_index(p.partition)
                            .with_error_code(wire::ResponseError::UnsupportedVersion.code())
                            .with_high_watermark(-1)
                            .with_records(Some(bytes::Bytes::new()))
                    })
                    .collect(),
            )
        })
        .collect();
    super::respond(ctx, &FetchResponse::default().with_responses(responses))
}
