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

use storage::TopicPartition;
use tokio::sync::Notify;
use wire::kafka_protocol::messages::fetch_request::FetchTopic;
use wire::kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
use wire::kafka_protocol::protocol::StrBytes;
use wire::{KafkaConnection, ResponseError};

use crate::replica_manager::ReplicaManager;

mod apply;
#[cfg(test)]
mod tests;

use apply::{handle_out_of_range, process_partition};
pub use apply::{
    apply_to_follower, fetch_partition, local_end_offset_for, resolve_out_of_range, truncate_without_epochs, truncation_offset, whole_batches,
    Applied, Stall,
};

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
    /// Why the last fetches of this partition made no progress, once logged: the same reason is
    /// not logged again until the partition moves (a line per fetch without progress is a bug).
    stalled: Option<Stall>,
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
            if let Some(p) = rm.get_partition(&tp.topic, tp.partition) {
                truncate_without_epochs(p.log());
            }
            tracing::info!("Added fetcher for {tp} from leader {} at leader epoch {leader_epoch}", leader.broker_id);
            f.partitions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(tp, FetchState { leader_epoch, delayed_until: None, in_sync: false, stalled: None });
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
    let mut fetch_failures = 0u32;
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
        let (request, sent) = build_fetch(&rm, broker_id, &snapshot, settings);
        match c.send(&request, 12).await {
            Ok(response) => {
                if fetch_failures > 0 {
                    tracing::info!("replica fetch from broker {} works again after {fetch_failures} failures", leader.broker_id);
                    fetch_failures = 0;
                }
                let mut out_of_range: Vec<TopicPartition> = Vec::new();
                let mut failed: Vec<(TopicPartition, Stall)> = Vec::new();
                {
                    // Held while appending/truncating so a leadership change (which removes the
                    // partition under this lock) never races with a write from this fetch.
                    let mut guard = partitions.lock().unwrap_or_else(|e| e.into_inner());
                    for topic in &response.responses {
                        for p in &topic.partitions {
                            let tp = TopicPartition { topic: topic.topic.0.to_string(), partition: p.partition_index };
                            let Some(&(sent_epoch, sent_offset)) = sent.get(&tp) else { continue };
                            // Skip partitions removed or moved to another epoch since the request.
                            if guard.get(&tp).map(|s| s.leader_epoch) != Some(sent_epoch) {
                                continue;
                            }
                            match process_partition(&rm, &tp, sent_offset, p) {
                                Ok(Applied::NoProgress(stall)) => failed.push((tp, stall)),
                                Ok(Applied::Progress) => {
                                    // Replication throttle (follower side): count throttled bytes
                                    // and remember whether we reached the leader's high watermark.
                                    let quota = &rm.replication_quotas().follower;
                                    if quota.is_throttled(&tp) {
                                        quota.record(p.records.as_ref().map_or(0, |r| r.len()) as u64);
                                    }
                                    let leo = rm.get_partition(&tp.topic, tp.partition).map(|x| x.log().log_end_offset());
                                    if let Some(s) = guard.get_mut(&tp) {
                                        s.in_sync = leo.is_some_and(|leo| p.high_watermark <= leo);
                                        if s.stalled.take().is_some() {
                                            tracing::info!("replica fetch of {tp} from broker {} makes progress again", leader.broker_id);
                                        }
                                    }
                                }
                                Err(ResponseError::OffsetOutOfRange) => out_of_range.push(tp),
                                Err(e) => failed.push((tp, Stall::Error(e.code()))),
                            }
                        }
                    }
                }
                for tp in out_of_range {
                    let still_ours = partitions.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&tp);
                    if still_ours {
                        match handle_out_of_range(&rm, c, broker_id, &tp, &partitions).await {
                            Ok(true) => {}
                            Ok(false) => failed.push((tp, Stall::OutOfRange)),
                            Err(e) => failed.push((tp, Stall::Error(e.code()))),
                        }
                    }
                }
                if !failed.is_empty() {
                    let until = tokio::time::Instant::now() + backoff;
                    let mut guard = partitions.lock().unwrap_or_else(|e| e.into_inner());
                    for (tp, stall) in failed {
                        if let Some(s) = guard.get_mut(&tp) {
                            s.delayed_until = Some(until);
                            if s.stalled != Some(stall) {
                                log_stall(&tp, leader.broker_id, stall, settings.backoff_ms);
                                s.stalled = Some(stall);
                            }
                        }
                    }
                }
            }
            Err(e) => {
                fetch_failures += 1;
                if fetch_failures == 1 || fetch_failures.is_multiple_of(60) {
                    tracing::warn!(
                        "replica fetch from broker {} failed ({fetch_failures} in a row; retrying every {} ms): {e}",
                        leader.broker_id,
                        settings.backoff_ms
                    );
                }
                conn = None;
                drop(rm);
                tokio::time::sleep(backoff).await;
            }
        }
    }
}

/// Logs once why a partition stopped making progress; it then backs off `replica.fetch.backoff.ms`
/// between fetches until something changes.
fn log_stall(tp: &TopicPartition, leader: i32, stall: Stall, backoff_ms: u64) {
    match stall {
        Stall::Error(code) => {
            let name = ResponseError::try_from_code(code).map_or_else(|| format!("error {code}"), |e| format!("{e:?}"));
            tracing::warn!("replica fetch of {tp} from broker {leader} answered {name}; retrying every {backoff_ms} ms until it changes");
        }
        Stall::Diverging { epoch, end_offset } => tracing::warn!(
            "replica fetch of {tp} from broker {leader}: the leader reports our last epoch diverges (its end offset for epoch \
             {epoch} is {end_offset}), but truncating changed nothing; retrying every {backoff_ms} ms until it changes"
        ),
        Stall::OutOfRange => tracing::warn!(
            "replica fetch of {tp} from broker {leader} is out of range although the leader's offsets cover our log end; \
             retrying every {backoff_ms} ms until it changes"
        ),
    }
}

/// What a fetch asked per partition: (current leader epoch, fetch offset). A response is applied
/// only if both still hold, so data fetched before a truncation or a leader change is dropped.
type SentFetch = HashMap<TopicPartition, (i32, i64)>;

fn build_fetch(rm: &ReplicaManager, broker_id: i32, parts: &[(TopicPartition, FetchState)], s: FetcherSettings) -> (FetchRequest, SentFetch) {
    let mut topics: Vec<FetchTopic> = Vec::new();
    let mut topic_slot: HashMap<&str, usize> = HashMap::new();
    let mut sent: SentFetch = HashMap::with_capacity(parts.len());
    for (tp, state) in parts {
        let Some(p) = rm.get_partition(&tp.topic, tp.partition) else { continue };
        let log = p.log();
        sent.insert(tp.clone(), (state.leader_epoch, log.log_end_offset()));
        let fp = fetch_partition(log, state.leader_epoch, s.partition_max_bytes);
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
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(broker_id))
        .with_max_wait_ms(s.max_wait_ms)
        .with_min_bytes(s.min_bytes)
        .with_max_bytes(s.response_max_bytes)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(topics);
    (request, sent)
}

