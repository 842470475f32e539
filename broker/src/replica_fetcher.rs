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
    /// After an error the partition sits out fetches until then (`replica.fetch.backoff.ms`).
    delayed_until: Option<tokio::time::Instant>,
    /// The last fetch reached the leader's high watermark (Kafka's `isReplicaInSync`): such a
    /// partition is never held back by the follower replication throttle.
    in_sync: bool,
}

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
fn local_end_offset_for(log: &storage::Log, epoch: i32) -> Option<(i32, i64)> {
    let (e, o) = log.leader_epoch_cache().end_offset_for(epoch, log.log_end_offset());
    (o >= 0 && e >= 0).then_some((e, o))
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
        self.add_partitions(rm, vec![(tp, leader, leader_epoch)]);
    }

    /// Start (or move) fetching each `(partition, leader, leader epoch)`: Kafka's
    /// `addFetcherForPartitions`, one call for a whole LeaderAndIsr batch, so each fetcher task
    /// learns of its new partitions at once instead of starting a fetch per added partition.
    pub fn add_partitions(&self, rm: &Arc<ReplicaManager>, adds: Vec<(TopicPartition, LeaderEndpoint, i32)>) {
        if adds.is_empty() {
            return;
        }
        let tps: Vec<TopicPartition> = adds.iter().map(|(tp, _, _)| tp.clone()).collect();
        self.remove_partitions(&tps);
        let mut fetchers = self.fetchers.lock().unwrap_or_else(|p| p.into_inner());
        let mut woken: Vec<Arc<Notify>> = Vec::new();
        for (tp, leader, leader_epoch) in adds {
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
            // Without epochs a follower cannot learn where it diverged: truncate to the high
            // watermark first (spec §3.7). With epochs it fetches from its LEO and the leader says
            // if it diverged.
            if let Some(p) = rm.get_partition(&tp.topic, tp.partition) {
                let log = p.log();
                if log.leader_epoch_cache().latest_epoch().is_none() && log.high_watermark() < log.log_end_offset() {
                    tracing::info!(
                        "Truncating {tp} to its high watermark {} (log has no leader epochs; LEO was {})",
                        log.high_watermark(),
                        log.log_end_offset()
                    );
                    if let Err(e) = log.truncate_to(log.high_watermark()) {
                        tracing::error!("could not truncate {tp}: {e}");
                    }
                }
            }
            tracing::info!("Added fetcher for {tp} from leader {} at leader epoch {leader_epoch}", leader.broker_id);
            f.partitions.lock().unwrap_or_else(|p| p.into_inner()).insert(tp, FetchState { leader_epoch, delayed_until: None, in_sync: false });
            if !woken.iter().any(|w| Arc::ptr_eq(w, &f.wake)) {
                woken.push(f.wake.clone());
            }
        }
        for w in woken {
            w.notify_one();
        }
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
    let mut connect_failures = 0u32;
    loop {
        let now = tokio::time::Instant::now();
        let all: Vec<(TopicPartition, FetchState)> =
            partitions.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (k.clone(), *v)).collect();
        if all.is_empty() {
            wake.notified().await;
            continue;
        }
        // Replication throttle (follower side): leave out throttled, out-of-sync partitions while
        // the follower quota is exceeded (Kafka's `shouldFollowerThrottle`).
        let quota = rm.upgrade().map(|r| r.replication_quotas().clone());
        let throttled = |tp: &TopicPartition, s: &FetchState| {
            quota.as_ref().is_some_and(|q| !s.in_sync && q.follower.is_throttled(tp) && q.follower.is_quota_exceeded())
        };
        let snapshot: Vec<(TopicPartition, FetchState)> = all
            .iter()
            .filter(|(tp, s)| s.delayed_until.is_none_or(|t| t <= now) && !throttled(tp, s))
            .cloned()
            .collect();
        if snapshot.is_empty() {
            // Every partition is backing off: sleep until the first comes back (or a change).
            let next = all.iter().filter_map(|(_, s)| s.delayed_until).min().unwrap_or(now + backoff);
            let _ = tokio::time::timeout_at(next, wake.notified()).await;
            continue;
        }
        let Some(rm) = rm.upgrade() else { return };
        if conn.is_none() {
            match KafkaConnection::connect(&addr, &client_id, Duration::from_millis(settings.socket_timeout_ms)).await {
                Ok(mut c) => {
                    c.set_request_timeout(Duration::from_millis(settings.socket_timeout_ms + settings.max_wait_ms as u64));
                    c.set_max_response_bytes((settings.response_max_bytes.max(0) as usize).saturating_mul(2).max(64 << 20));
                    connect_failures = 0;
                    conn = Some(c);
                }
                Err(e) => {
                    connect_failures += 1;
                    if connect_failures == 1 || connect_failures.is_multiple_of(30) {
                        tracing::warn!("replica fetcher could not connect to broker {} at {addr}: {e}", leader.broker_id);
                    }
                    drop(rm);
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let request = build_fetch(&rm, broker_id, &snapshot, settings);
        // By map: a fetch may carry thousands of partitions (a scan per partition was O(n²)).
        let sent_epochs: HashMap<&TopicPartition, i32> = snapshot.iter().map(|(tp, s)| (tp, s.leader_epoch)).collect();
        match c.send(&request, 12).await {
            Ok(response) => {
                let mut out_of_range: Vec<TopicPartition> = Vec::new();
                let mut failed: Vec<TopicPartition> = Vec::new();
                {
                    // Held while appending/truncating so a leadership change (which removes the
                    // partition under this lock) never races with a write from this fetch.
                    let mut guard = partitions.lock().unwrap_or_else(|e| e.into_inner());
                    for topic in &response.responses {
                        for p in &topic.partitions {
                            let tp = TopicPartition { topic: topic.topic.0.to_string(), partition: p.partition_index };
                            let sent_epoch = sent_epochs.get(&tp).copied();
                            // Skip partitions removed or moved to another epoch since the request.
                            if guard.get(&tp).map(|s| s.leader_epoch) != sent_epoch || sent_epoch.is_none() {
                                continue;
                            }
                            match process_partition(&rm, &tp, p) {
                                Ok(()) => {
                                    // Replication throttle (follower side): count throttled bytes
                                    // and remember whether we reached the leader's high watermark.
                                    let quota = &rm.replication_quotas().follower;
                                    if quota.is_throttled(&tp) {
                                        quota.record(p.records.as_ref().map_or(0, |r| r.len()) as u64);
                                    }
                                    let leo = rm.get_partition(&tp.topic, tp.partition).map(|x| x.log().log_end_offset());
                                    if let Some(s) = guard.get_mut(&tp) {
                                        s.in_sync = leo.is_some_and(|leo| p.high_watermark <= leo);
                                    }
                                }
                                Err(ResponseError::OffsetOutOfRange) => out_of_range.push(tp),
                                Err(e) => {
                                    tracing::debug!("replica fetch of {tp} from broker {}: {e:?}", leader.broker_id);
                                    failed.push(tp);
                                }
                            }
                        }
                    }
                }
                for tp in out_of_range {
                    let still_ours = partitions.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&tp);
                    if still_ours {
                        if let Err(e) = handle_out_of_range(&rm, c, broker_id, &tp, &partitions).await {
                            tracing::warn!("could not resolve out-of-range fetch of {tp} from broker {}: {e:?}", leader.broker_id);
                            failed.push(tp);
                        }
                    }
                }
                if !failed.is_empty() {
                    let until = tokio::time::Instant::now() + backoff;
                    let mut guard = partitions.lock().unwrap_or_else(|e| e.into_inner());
                    for tp in failed {
                        if let Some(s) = guard.get_mut(&tp) {
                            s.delayed_until = Some(until);
                        }
                    }
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
    let mut topic_slot: HashMap<&str, usize> = HashMap::new();
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
        match topic_slot.get(tp.topic.as_str()) {
            Some(&i) => topics[i].partitions.push(fp),
            None => {
                topic_slot.insert(tp.topic.as_str(), topics.len());
                topics.push(
                    FetchTopic::default()
                        .with_topic(TopicName(StrBytes::from_string(tp.topic.clone())))
                        .with_partitions(vec![fp]),
                );
            }
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

/// Apply one partition of a fetch response: truncate on a diverging epoch, else append whole
/// batches and move the follower HW to min(leader HW, LEO) and the log start to the leader's.
fn process_partition(
    rm: &Arc<ReplicaManager>,
    tp: &TopicPartition,
    p: &wire::kafka_protocol::messages::fetch_response::PartitionData,
) -> Result<(), ResponseError> {
    let Some(partition) = rm.get_partition(&tp.topic, tp.partition) else { return Ok(()) };
    if partition.is_leader() {
        return Ok(());
    }
    let log = partition.log();
    if p.error_code != 0 {
        return Err(ResponseError::try_from_code(p.error_code).unwrap_or(ResponseError::UnknownServerError));
    }
    if p.diverging_epoch.epoch >= 0 && p.diverging_epoch.end_offset >= 0 {
        let leader = (p.diverging_epoch.epoch, p.diverging_epoch.end_offset);
        let leo = log.log_end_offset();
        let local = local_end_offset_for(log, leader.0);
        let (target, complete) = truncation_offset(leader, local, leo, log.high_watermark());
        tracing::info!(
            "Truncating {tp} to offset {target} (LEO was {leo}): leader's end offset for epoch {} is {}, ours is {local:?}{}",
            leader.0,
            leader.1,
            if complete { "" } else { "; will ask again with an older epoch" }
        );
        log.truncate_to(target).map_err(|e| crate::errors::storage_error(&e))?;
        partition.wake_waiters();
        return Ok(());
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
    let leo = log.log_end_offset();
    log.update_high_watermark(p.high_watermark.min(leo));
    if p.log_start_offset > log.log_start_offset() {
        let _ = log.maybe_increment_log_start_offset(p.log_start_offset.min(log.high_watermark()));
    }
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
    partitions: &Mutex<HashMap<TopicPartition, FetchState>>,
) -> Result<(), ResponseError> {
    let Some(partition) = rm.get_partition(&tp.topic, tp.partition) else { return Ok(()) };
    let log = partition.log();
    let leader_latest = list_offset(conn, broker_id, tp, -1).await?;
    let leader_start = list_offset(conn, broker_id, tp, -2).await?;
    let _guard = partitions.lock().unwrap_or_else(|e| e.into_inner());
    if !_guard.contains_key(tp) || partition.is_leader() {
        return Ok(());
    }
    let leo = log.log_end_offset();
    if leader_latest < leo {
        tracing::warn!("Truncating {tp} to the leader's end offset {leader_latest} after an out-of-range fetch (LEO was {leo})");
        log.truncate_to(leader_latest).map_err(|e| crate::errors::storage_error(&e))?;
    } else if leo < leader_start {
        tracing::warn!("Restarting {tp} at the leader's log start offset {leader_start} (LEO was {leo})");
        log.truncate_fully_and_start_at(leader_start).map_err(|e| crate::errors::storage_error(&e))?;
    }
    partition.wake_waiters();
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
    fn truncation_by_leader_epoch() {
        // Same epoch known on both sides: the smaller end wins (leader appended less in it).
        assert_eq!(truncation_offset((3, 120), Some((3, 150)), 150, 100), (120, true));
        // Our copy of the epoch ends earlier than the leader's: keep it all (bounded by LEO).
        assert_eq!(truncation_offset((3, 200), Some((3, 150)), 150, 100), (150, true));
        // We only know an older epoch than the leader's answer: cut to where ours ends and ask again.
        assert_eq!(truncation_offset((4, 130), Some((2, 90)), 150, 100), (90, false));
        // We know no epoch at or below the leader's: truncate to the leader's end offset.
        assert_eq!(truncation_offset((1, 40), None, 150, 100), (40, true));
        // Leader without epochs: min(leader end, LEO).
        assert_eq!(truncation_offset((-1, 70), Some((3, 150)), 150, 100), (70, true));
        assert_eq!(truncation_offset((-1, 170), None, 150, 100), (150, true));
        // Leader has no answer: high watermark, never past the LEO.
        assert_eq!(truncation_offset((-1, -1), None, 150, 100), (100, true));
        assert_eq!(truncation_offset((-1, -1), None, 80, 100), (80, true));
    }

    #[test]
    fn diverged_follower_scenario() {
        // Leader A (epoch 1) wrote 0..10, replicated 0..6 to B, then died. B leads epoch 2 from 6
        // and writes 6..9. A returns with epochs [(1,0)] and LEO 10, fetches with last epoch 1.
        let leader = tempfile::tempdir().unwrap();
        let b = storage::LeaderEpochFileCache::load(leader.path()).unwrap();
        b.assign(1, 0).unwrap();
        b.assign(2, 6).unwrap();
        let ours = b.end_offset_for(1, 9);
        assert_eq!(ours, (1, 6));
        let div = crate::replica_manager::read::diverging_epoch(1, 10, ours).expect("diverged");
        // A truncates to 6, where epoch 1 ends on B.
        assert_eq!(truncation_offset(div, Some((1, 10)), 10, 6), (6, true));
        // A follower that is simply behind does not diverge.
        assert_eq!(crate::replica_manager::read::diverging_epoch(2, 8, b.end_offset_for(2, 9)), None);
        assert_eq!(crate::replica_manager::read::diverging_epoch(1, 5, ours), None);
        // A follower with an epoch the leader never had (3 > all known): diverged, undefined answer.
        assert_eq!(crate::replica_manager::read::diverging_epoch(3, 9, b.end_offset_for(3, 9)), Some((-1, -1)));
    }

    #[test]
    fn whole_batches_drops_partial_tail() {
        let mut buf = Vec::new();
        for len in [20u32, 30] {
            buf.extend_from_slice(&0i64.to_be_bytes());
            buf.extend_from_slice(&(len as i32).to_be_bytes());
            buf.extend(std::iter::repeat_n(7u8, len as usize));
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
