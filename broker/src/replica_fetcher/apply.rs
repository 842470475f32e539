//! Applying a fetch response to a follower's log (Kafka's `processPartitionData`,
//! `truncateOnFetchResponse`, `getOffsetTruncationState` and `fetchOffsetAndTruncate`): append
//! whole batches, truncate on a diverging epoch, resolve out-of-range fetches with ListOffsets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use storage::TopicPartition;
use wire::kafka_protocol::messages::fetch_request::FetchPartition;
use wire::kafka_protocol::messages::fetch_response::PartitionData;
use wire::kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use wire::kafka_protocol::messages::{BrokerId, ListOffsetsRequest, TopicName};
use wire::kafka_protocol::protocol::StrBytes;
use wire::{KafkaConnection, ResponseError};

use super::FetchState;
use crate::partition::Partition;
use crate::replica_manager::ReplicaManager;

/// Where a follower truncates after the leader's answer `(leader_epoch, leader_end_offset)` for its
/// last epoch (DivergingEpoch or OffsetsForLeaderEpoch), spec §3.7. `local` is our own
/// `end_offset_for(leader_epoch)` (None if we know no epoch <= it), `leo` our log end offset and
/// `hw` our high watermark. Returns (offset, complete): not complete means the leader should be
/// asked again with our now-latest epoch (KIP-279), which fetching with `last_fetched_epoch` does.
pub fn truncation_offset(leader: (i32, i64), local: Option<(i32, i64)>, leo: i64, hw: i64) -> (i64, bool) {
    let (leader_epoch, leader_end) = leader;
    if leader_end < 0 {
        // The leader knows nothing of that epoch: fall back to the high watermark.
        return (hw.min(leo), true);
    }
    if leader_epoch < 0 {
        // An old leader without epochs.
        return (leader_end.min(leo), true);
    }
    match local {
        Some((local_epoch, local_end)) if local_epoch == leader_epoch => (local_end.min(leader_end).min(leo), true),
        Some((_, local_end)) => (local_end.min(leo), false),
        None => (leader_end.min(leo), true),
    }
}

/// Our own end offset for `epoch`, as Kafka's `Log.endOffsetForEpoch`: None if the cache has no
/// entry for it (undefined answer).
pub fn local_end_offset_for(log: &storage::Log, epoch: i32) -> Option<(i32, i64)> {
    let (e, o) = log.leader_epoch_cache().end_offset_for(epoch, log.log_end_offset());
    (o >= 0 && e >= 0).then_some((e, o))
}

/// What kept a partition from making progress (compared to decide whether to log again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// A fetch answered with this error code.
    Error(i16),
    /// The leader reported a diverging epoch, and truncating changed nothing.
    Diverging {
        /// The leader's epoch in its answer.
        epoch: i32,
        /// The leader's end offset for it.
        end_offset: i64,
    },
    /// An out-of-range fetch that ListOffsets could not resolve.
    OutOfRange,
}

/// What applying one partition of a fetch response did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Records appended, the log truncated, or nothing to do (caught up): keep fetching.
    Progress,
    /// A diverging-epoch answer after which our log and epoch cache are unchanged: fetching again
    /// would get the same answer, so the partition backs off.
    NoProgress(Stall),
}


/// Keep only whole batches (a fetch may end in a partial batch, which is dropped as Kafka does).
pub fn whole_batches(records: &Bytes) -> Bytes {
    let mut pos = 0usize;
    while records.len() - pos >= 12 {
        let len = i32::from_be_bytes([records[pos + 8], records[pos + 9], records[pos + 10], records[pos + 11]]);
        if len < 0 {
            break;
        }
        let end = pos + 12 + len as usize;
        if end > records.len() {
            break;
        }
        pos = end;
    }
    records.slice(0..pos)
}

/// Apply one partition of a fetch response (Kafka's `processPartitionData` and
/// `truncateOnFetchResponse`): truncate on a diverging epoch, else append whole batches and move
/// the follower HW to min(leader HW, LEO) and the log start to the leader's. A response for an
/// offset other than our log end (the log moved since the request) is ignored.
pub(super) fn process_partition(
    rm: &Arc<ReplicaManager>,
    tp: &TopicPartition,
    fetch_offset: i64,
    p: &PartitionData,
) -> Result<Applied, ResponseError> {
    let Some(partition) = rm.get_partition(&tp.topic, tp.partition) else { return Ok(Applied::Progress) };
    apply_to_follower(&partition, fetch_offset, p)
}

/// Before fetching from a new leader: a follower whose log has no leader epochs cannot learn
/// where it diverged, so it truncates to its high watermark first (spec §3.7). With epochs it
/// fetches from its log end and the leader says if it diverged.
pub fn truncate_without_epochs(log: &storage::Log) {
    if log.leader_epoch_cache().latest_epoch().is_none() && log.high_watermark() < log.log_end_offset() {
        tracing::info!(
            "Truncating {} to its high watermark {} (log has no leader epochs; LEO was {})",
            log.topic_partition(),
            log.high_watermark(),
            log.log_end_offset()
        );
        if let Err(e) = log.truncate_to(log.high_watermark()) {
            tracing::error!("could not truncate {}: {e}", log.topic_partition());
        }
    }
}

/// The request a follower sends for one partition: from its log end, with the epoch of its last
/// fetched batch (the latest in its epoch cache) so the leader can tell it where it diverged.
pub fn fetch_partition(log: &storage::Log, current_leader_epoch: i32, partition_max_bytes: i32) -> FetchPartition {
    FetchPartition::default()
        .with_partition(log.topic_partition().partition)
        .with_current_leader_epoch(current_leader_epoch)
        .with_fetch_offset(log.log_end_offset())
        .with_last_fetched_epoch(log.leader_epoch_cache().latest_epoch().unwrap_or(-1))
        .with_log_start_offset(log.log_start_offset())
        .with_partition_max_bytes(partition_max_bytes)
}

/// Apply the leader's answer for one partition to a follower `partition` that fetched from
/// `fetch_offset`. Nothing happens if it leads the partition now or its log moved since the request.
/// A function of the partition alone, so the replication model test drives what a broker does.
pub fn apply_to_follower(partition: &Partition, fetch_offset: i64, p: &PartitionData) -> Result<Applied, ResponseError> {
    if partition.is_leader() {
        return Ok(Applied::Progress);
    }
    let tp = partition.topic_partition();
    let log = partition.log();
    if p.error_code != 0 {
        return Err(ResponseError::try_from_code(p.error_code).unwrap_or(ResponseError::UnknownServerError));
    }
    if log.log_end_offset() != fetch_offset {
        return Ok(Applied::Progress);
    }
    if p.diverging_epoch.epoch >= 0 && p.diverging_epoch.end_offset >= 0 {
        let leader = (p.diverging_epoch.epoch, p.diverging_epoch.end_offset);
        let leo = log.log_end_offset();
        let cache = log.leader_epoch_cache();
        let before = (leo, cache.latest_epoch());
        let local = local_end_offset_for(log, leader.0);
        let (target, complete) = truncation_offset(leader, local, leo, log.high_watermark());
        let cut = log.truncate_to(target).map_err(|e| crate::errors::storage_error(&e))?;
        let after = (log.log_end_offset(), cache.latest_epoch());
        if after == before {
            return Ok(Applied::NoProgress(Stall::Diverging { epoch: leader.0, end_offset: leader.1 }));
        }
        if cut {
            tracing::info!(
                "Truncating {tp} to offset {target} (LEO was {leo}): leader's end offset for epoch {} is {}, ours is {local:?}{}",
                leader.0,
                leader.1,
                if complete { "" } else { "; will ask again with an older epoch" }
            );
        } else {
            tracing::info!(
                "Removed leader epochs of {tp} from offset {leo} on: the leader's end offset for epoch {} is {} (latest epoch was {:?}, is {:?})",
                leader.0,
                leader.1,
                before.1,
                after.1
            );
        }
        partition.wake_waiters();
        return Ok(Applied::Progress);
    }
    if let Some(records) = &p.records {
        let whole = whole_batches(records);
        if !whole.is_empty() {
            log.append_as_follower(&whole).map_err(|e| {
                tracing::warn!("follower append to {tp} failed: {e}");
                crate::errors::storage_error(&e)
            })?;
        }
    }
    // The follower's high watermark only moves forward: a new leader can answer with a lower one
    // than the old leader had told us (its own HW lags by a fetch), and what we knew was committed
    // stays committed (Kafka 2.8 lowers it with a "Non-monotonic update" warning).
    let leo = log.log_end_offset();
    if p.high_watermark.min(leo) > log.high_watermark() {
        log.update_high_watermark(p.high_watermark.min(leo));
    }
    if p.log_start_offset > log.log_start_offset() {
        let _ = log.maybe_increment_log_start_offset(p.log_start_offset.min(log.high_watermark()));
    }
    partition.wake_waiters();
    Ok(Applied::Progress)
}

/// Offset out of range (spec §3.4): if the leader's end is below ours, truncate to it; otherwise our
/// log is behind the leader's start, so start over at the leader's log start offset. Returns false
/// if neither applies (nothing changed: the next fetch would be out of range again).
pub(super) async fn handle_out_of_range(
    rm: &Arc<ReplicaManager>,
    conn: &mut KafkaConnection,
    broker_id: i32,
    tp: &TopicPartition,
    partitions: &Mutex<HashMap<TopicPartition, FetchState>>,
) -> Result<bool, ResponseError> {
    let Some(partition) = rm.get_partition(&tp.topic, tp.partition) else { return Ok(true) };
    let leader_latest = list_offset(conn, broker_id, tp, -1).await?;
    let leader_start = list_offset(conn, broker_id, tp, -2).await?;
    let guard = partitions.lock().unwrap_or_else(|e| e.into_inner());
    if !guard.contains_key(tp) {
        return Ok(true);
    }
    resolve_out_of_range(&partition, leader_latest, leader_start)
}

/// The follower's decision after an out-of-range fetch, given the leader's log end and log start
/// offsets (Kafka's `fetchOffsetAndTruncate`). Returns false if our log end is inside the leader's
/// range, so nothing changed.
pub fn resolve_out_of_range(partition: &Partition, leader_latest: i64, leader_start: i64) -> Result<bool, ResponseError> {
    if partition.is_leader() {
        return Ok(true);
    }
    let tp = partition.topic_partition();
    let log = partition.log();
    let leo = log.log_end_offset();
    if leader_latest < leo {
        tracing::warn!("Truncating {tp} to the leader's end offset {leader_latest} after an out-of-range fetch (LEO was {leo})");
        log.truncate_to(leader_latest).map_err(|e| crate::errors::storage_error(&e))?;
    } else if leo < leader_start {
        tracing::warn!("Restarting {tp} at the leader's log start offset {leader_start} (LEO was {leo})");
        log.truncate_fully_and_start_at(leader_start).map_err(|e| crate::errors::storage_error(&e))?;
    } else {
        return Ok(false);
    }
    partition.wake_waiters();
    Ok(true)
}

async fn list_offset(conn: &mut KafkaConnection, broker_id: i32, tp: &TopicPartition, timestamp: i64) -> Result<i64, ResponseError> {
    let req = ListOffsetsRequest::default().with_replica_id(BrokerId(broker_id)).with_topics(vec![ListOffsetsTopic::default()
        .with_name(TopicName(StrBytes::from_string(tp.topic.clone())))
        .with_partitions(vec![ListOffsetsPartition::default()
            .with_partition_index(tp.partition)
            .with_current_leader_epoch(-1)
            .with_timestamp(timestamp)])]);
    let resp = conn.send(&req, 6).await.map_err(|_| ResponseError::NetworkException)?;
    let p = resp
        .topics
        .first()
        .and_then(|t| t.partitions.first())
        .ok_or(ResponseError::UnknownServerError)?;
    if p.error_code != 0 {
        return Err(ResponseError::try_from_code(p.error_code).unwrap_or(ResponseError::UnknownServerError));
    }
    Ok(p.offset)
}

