//! Replica fetchers (spec §3.4): a follower pulls its partitions from their leaders.
//!
//! `ReplicaFetcherManager` keeps one fetcher task per source broker (`num.replica.fetchers` = 1).
//! Each task loops: one Fetch (v12, `replica_id` = this broker) for all its partitions, append the
//! returned batches as follower, move the follower high watermark to min(leader HW, local LEO), and
//! truncate on a diverging epoch (KIP-320: the leader answers `DivergingEpoch` instead of data when
//! our last fetched epoch ends before our fetch offset on its log). Offsets out of range are resolved
//! with ListOffsets against the leader.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use storage::TopicPartition;
use tokio::sync::Notify;
use wire::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use wire::kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use wire::kafka_protocol::messages::{BrokerId, FetchRequest, ListOffsetsRequest, TopicName};
use wire::kafka_protocol::protocol::StrBytes;
use wire::{KafkaConnection, ResponseError};

use crate::replica_manager::ReplicaManager;

/// Where a follower fetches a partition from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderEndpoint {
    /// Leader broker id.
    pub broker_id: i32,
    /// Host of its inter-broker listener.
    pub host: String,
    /// Port of its inter-broker listener.
    pub port: i32,
}

/// Per-partition fetch state of a fetcher task.
#[derive(Debug, Clone, Copy)]
struct FetchState {
    leader_epoch: i32,
}

struct FetcherTask {
    endpoint: LeaderEndpoint,
    partitions: Arc<Mutex<HashMap<TopicPartition, FetchState>>>,
    wake: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

/// Settings of the fetchers (`replica.fetch.*`).
#[derive(Debug, Clone, Copy)]
pub struct FetcherSettings {
    /// `replica.fetch.wait.max.ms`.
    pub max_wait_ms: i32,
    /// `replica.fetch.min.bytes`.
    pub min_bytes: i32,
    /// `replica.fetch.response.max.bytes`.
    pub response_max_bytes: i32,
    /// `replica.fetch.max.bytes`.
    pub partition_max_bytes: i32,
    /// `replica.fetch.backoff.ms`.
    pub backoff_ms: u64,
    /// `replica.socket.timeout.ms`.
    pub socket_timeout_ms: u64,
}

/// One fetcher task per source broker.
pub struct ReplicaFetcherManager {
    broker_id: i32,
    settings: FetcherSettings,
    fetchers: Mutex<HashMap<i32, FetcherTask>>,
}

impl ReplicaFetcherManager {
    /// A manager for this broker.
    pub fn new(broker_id: i32, settings: FetcherSettings) -> Self {
        ReplicaFetcherManager { broker_id, settings, fetchers: Mutex::new(HashMap::new()) }
    }

    /// Start (or move) fetching `tp` from `leader` at leader epoch `leader_epoch`.
    pub fn add_partition(&self, rm: &Arc<ReplicaManager>, tp: TopicPartition, leader: LeaderEndpoint, leader_epoch: i32) {
        self.remove_partitions(std::slice::from_ref(&tp));
        let mut fetchers = self.fetchers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = fetchers.get(&leader.broker_id) {
            if f.endpoint != leader {
                if let Some(old) = fetchers.remove(&leader.broker_id) {
                    old.task.abort();
                }
            }
        }
        let f = fetchers.entry(leader.broker_id).or_insert_with(|| {
            let partitions = Arc::new(Mutex::new(HashMap::new()));
            let wake = Arc::new(Notify::new());
            let task = tokio::spawn(run_fetcher(
                Arc::downgrade(rm),
                self.broker_id,
                leader.clone(),
                partitions.clone(),
                wake.clone(),
                self.settings,
            ));
            FetcherTask { endpoint: leader.clone(), partitions, wake, task }
        });
        f.partitions.lock().unwrap_or_else(|p| p.into_inner()).insert(tp, FetchState { leader_epoch });
        f.wake.notify_one();
    }

    /// Stop fetching these partitions; fetcher tasks left without partitions end.
    pub fn remove_partitions(&self, tps: &[TopicPartition]) {
        let mut fetchers = self.fetchers.lock().unwrap_or_else(|p| p.into_inner());
        let mut empty = Vec::new();
        for (id, f) in fetchers.iter() {
            let mut parts = f.partitions.lock().unwrap_or_else(|p| p.into_inner());
            for tp in tps {
                parts.remove(tp);
            }
            if parts.is_empty() {
                empty.push(*id);
            }
        }
        for id in empty {
            if let Some(f) = fetchers.remove(&id) {
                f.task.abort();
            }
        }
    }

    /// Stop every fetcher.
    pub fn shutdown(&self) {
        let mut fetchers = self.fetchers.lock().unwrap_or_else(|p| p.into_inner());
        for (_, f) in fetchers.drain() {
            f.task.abort();
        }
    }
}

async fn run_fetcher(
    rm: Weak<ReplicaManager>,
    broker_id: i32,
    leader: LeaderEndpoint,
    partitions: Arc<Mutex<HashMap<TopicPartition, FetchState>>>,
    wake: Arc<Notify>,
    settings: FetcherSettings,
) {
    let addr = format!("{}:{}", leader.host, leader.port);
    let client_id = format!("broker-{broker_id}-fetcher-0");
    let backoff = Duration::from_millis(settings.backoff_ms);
    let mut conn: Option<KafkaConnection> = None;
    loop {
        let snapshot: Vec<(TopicPartition, FetchState)> =
            partitions.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (k.clone(), *v)).collect();
        if snapshot.is_empty() {
            wake.notified().await;
            continue;
        }
        let Some(rm) = rm.upgrade() else { return };
        if conn.is_none() {
            match KafkaConnection::connect(&addr, &client_id, Duration::from_millis(settings.socket_timeout_ms)).await {
                Ok(mut c) => {
                    c.set_request_timeout(Duration::from_millis(settings.socket_timeout_ms + settings.max_wait_ms as u64));
                    conn = Some(c);
                }
                Err(e) => {
                    tracing::warn!("replica fetcher could not connect to broker {} at {addr}: {e}", leader.broker_id);
                    drop(rm);
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let request = build_fetch(&rm, broker_id, &snapshot, settings);
        match c.send(&request, 12).await {
            Ok(response) => {
                let mut had_error = false;
                for topic in response.responses {
                    for p in topic.partitions {
                        let tp = TopicPartition { topic: topic.topic.0.to_string(), partition: p.partition_index };
                        if !partitions.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&tp) {
                            continue;
                        }
                        if let Err(e) = process_partition(&rm, c, broker_id, &tp, &p).await {
                            had_error = true;
                            tracing::debug!("replica fetch of {tp} from broker {}: {e:?}", leader.broker_id);
                        }
                    }
                }
                if had_error {
                    drop(rm);
                    tokio::time::sleep(backoff).await;
                }
            }
            Err(e) => {
                tracing::warn!("replica fetch from broker {} failed: {e}", leader.broker_id);
                conn = None;
                drop(rm);
                tokio::time::sleep(backoff).await;
            }
        }
    }
}

fn build_fetch(rm: &ReplicaManager, broker_id: i32, parts: &[(TopicPartition, FetchState)], s: FetcherSettings) -> FetchRequest {
    let mut topics: Vec<FetchTopic> = Vec::new();
    for (tp, state) in parts {
        let Some(p) = rm.get_partition(&tp.topic, tp.partition) else { continue };
        let log = p.log();
        let fp = FetchPartition::default()
            .with_partition(tp.partition)
            .with_current_leader_epoch(state.leader_epoch)
            .with_fetch_offset(log.log_end_offset())
            .with_last_fetched_epoch(log.leader_epoch_cache().latest_epoch().unwrap_or(-1))
            .with_log_start_offset(log.log_start_offset())
            .with_partition_max_bytes(s.partition_max_bytes);
        match topics.iter_mut().find(|t| t.topic.0.as_str() == tp.topic) {
            Some(t) => t.partitions.push(fp),
            None => topics.push(
                FetchTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(tp.topic.clone())))
                    .with_partitions(vec![fp]),
            ),
        }
    }
    FetchRequest::default()
        .with_replica_id(BrokerId(broker_id))
        .with_max_wait_ms(s.max_wait_ms)
        .with_min_bytes(s.min_bytes)
        .with_max_bytes(s.response_max_bytes)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(topics)
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

async fn process_partition(
    rm: &Arc<ReplicaManager>,
    conn: &mut KafkaConnection,
    broker_id: i32,
    tp: &TopicPartition,
    p: &wire::kafka_protocol::messages::fetch_response::PartitionData,
) -> Result<(), ResponseError> {
    let Some(partition) = rm.get_partition(&tp.topic, tp.partition) else { return Ok(()) };
    let log = partition.log();
    if p.error_code != 0 {
        let err = ResponseError::try_from_code(p.error_code).unwrap_or(ResponseError::UnknownServerError);
        if err == ResponseError::OffsetOutOfRange {
            handle_out_of_range(rm, conn, broker_id, tp).await?;
        }
        return Err(err);
    }
    if p.diverging_epoch.epoch >= 0 && p.diverging_epoch.end_offset >= 0 {
        // Truncate to where our copy of that epoch ends, bounded by the leader's end offset for it.
        let (local_epoch, local_end) =
            log.leader_epoch_cache().end_offset_for(p.diverging_epoch.epoch, log.log_end_offset());
        let target = if local_epoch == p.diverging_epoch.epoch {
            local_end.min(p.diverging_epoch.end_offset)
        } else {
            p.diverging_epoch.end_offset.min(log.log_end_offset())
        };
        tracing::info!("truncating {tp} to {target} after diverging epoch {:?}", p.diverging_epoch);
        log.truncate_to(target).map_err(|e| crate::errors::storage_error(&e))?;
        return Ok(());
    }
    if let Some(records) = &p.records {
        let whole = whole_batches(records);
        if !whole.is_empty() {
            log.append_as_follower(&whole).map_err(|e| crate::errors::storage_error(&e))?;
        }
    }
    let leo = log.log_end_offset();
    if p.log_start_offset > log.log_start_offset() {
        let _ = log.maybe_increment_log_start_offset(p.log_start_offset.min(p.high_watermark.max(0)));
    }
    log.update_high_watermark(p.high_watermark.min(leo));
    partition.wake_waiters();
    Ok(())
}

/// Offset out of range (spec §3.4): if the leader's end is below ours, truncate to it; otherwise our
/// log is behind the leader's start, so start over at the leader's log start offset.
async fn handle_out_of_range(
    rm: &Arc<ReplicaManager>,
    conn: &mut KafkaConnection,
    broker_id: i32,
    tp: &TopicPartition,
) -> Result<(), ResponseError> {
    let Some(partition) = rm.get_partition(&tp.topic, tp.partition) else { return Ok(()) };
    let log = partition.log();
    let leader_latest = list_offset(conn, broker_id, tp, -1).await?;
    if leader_latest < log.log_end_offset() {
        log.truncate_to(leader_latest).map_err(|e| crate::errors::storage_error(&e))?;
        return Ok(());
    }
    let leader_start = list_offset(conn, broker_id, tp, -2).await?;
    if log.log_end_offset() < leader_start {
        log.truncate_fully_and_start_at(leader_start).map_err(|e| crate::errors::storage_error(&e))?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_batches_drops_partial_tail() {
        let mut buf = Vec::new();
        for len in [20u32, 30] {
            buf.extend_from_slice(&0i64.to_be_bytes());
            buf.extend_from_slice(&(len as i32).to_be_bytes());
            buf.extend(std::iter::repeat(7u8).take(len as usize));
        }
        let full = buf.len();
        buf.extend_from_slice(&0i64.to_be_bytes());
        buf.extend_from_slice(&100i32.to_be_bytes());
        buf.extend_from_slice(&[1, 2, 3]);
        let b = Bytes::from(buf);
        assert_eq!(whole_batches(&b).len(), full);
        assert_eq!(whole_batches(&Bytes::from_static(&[0u8; 5])).len(), 0);
    }
}
