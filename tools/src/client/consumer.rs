//! A direct-assignment consumer: finds the partitions of the subscribed topic(s), positions
//! each with ListOffsets (earliest/latest) or an explicit offset, and fetches from the
//! leaders in parallel. Group membership lives in [`super::group_consumer`], which hands
//! this consumer the partitions the group assigned ([`Consumer::assign`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use wire::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use wire::kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use wire::kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, ListOffsetsRequest, TopicName,
};
use wire::kafka_protocol::protocol::StrBytes;
use wire::{KafkaConnection, ResponseError};

use super::cluster::Cluster;
use super::error::{error_name, ClientToolError};
use super::log::{log, Level};
use super::records::{decode_records, AbortedTxn, ConsumedRecord};

const FETCH_MIN: i16 = 4;
const FETCH_MAX: i16 = 12;
const LIST_OFFSETS_MIN: i16 = 1;
const LIST_OFFSETS_MAX: i16 = 6;

/// Where to start reading a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// Log start offset.
    Earliest,
    /// Log end offset (last stable offset for read_committed).
    Latest,
    /// An explicit offset.
    Offset(i64),
}

/// What to consume.
#[derive(Debug, Clone)]
pub enum Subscription {
    /// Every partition of one topic.
    Topic(String),
    /// Every partition of every topic whose whole name matches the pattern.
    Pattern(regex::Regex),
    /// One partition, starting at `start`.
    Partition {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// Start position.
        start: OffsetSpec,
    },
    /// Exactly these partitions, set by [`Consumer::assign`] (a group's assignment).
    Assigned(Vec<(String, i32)>),
}

/// Consumer settings (subset of Kafka's consumer configs).
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// 0 = read_uncommitted, 1 = read_committed.
    pub isolation_level: i8,
    /// `fetch.max.wait.ms`.
    pub max_wait: Duration,
    /// `fetch.min.bytes`.
    pub min_bytes: i32,
    /// `fetch.max.bytes`.
    pub max_bytes: i32,
    /// `max.partition.fetch.bytes`.
    pub partition_max_bytes: i32,
    /// `auto.offset.reset`; None means `none` (fail instead of resetting).
    pub auto_offset_reset: Option<OffsetSpec>,
    /// `allow.auto.create.topics`.
    pub allow_auto_create: bool,
    /// `exclude.internal.topics` (pattern subscriptions only).
    pub exclude_internal: bool,
    /// `retry.backoff.ms`.
    pub retry_backoff: Duration,
    /// `metadata.max.age.ms`: how often to look for new partitions/topics.
    pub metadata_max_age: Duration,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            isolation_level: 0,
            max_wait: Duration::from_millis(500),
            min_bytes: 1,
            max_bytes: 52_428_800,
            partition_max_bytes: 1_048_576,
            auto_offset_reset: Some(OffsetSpec::Latest),
            allow_auto_create: true,
            exclude_internal: true,
            retry_backoff: Duration::from_millis(100),
            metadata_max_age: Duration::from_millis(300_000),
        }
    }
}

type Tp = (String, i32);

/// What a spawned fetch task hands back: the leader, its connection, what was asked, the answer.
type FetchOutcome = (i32, KafkaConnection, Vec<(Tp, i64)>, Result<FetchResponse, wire::ClientError>);

/// The consumer.
pub struct Consumer {
    cluster: Cluster,
    cfg: ConsumerConfig,
    sub: Subscription,
    assigned: BTreeSet<Tp>,
    positions: BTreeMap<Tp, i64>,
    needs_reset: BTreeMap<Tp, OffsetSpec>,
    last_refresh: Option<Instant>,
    stale: bool,
    buffered: VecDeque<(String, ConsumedRecord)>,
    fatal: Option<ClientToolError>,
}

impl Consumer {
    /// Create a consumer (no I/O until the first poll).
    pub fn new(cluster: Cluster, cfg: ConsumerConfig, sub: Subscription) -> Self {
        Consumer {
            cluster,
            cfg,
            sub,
            assigned: BTreeSet::new(),
            positions: BTreeMap::new(),
            needs_reset: BTreeMap::new(),
            last_refresh: None,
            stale: true,
            buffered: VecDeque::new(),
            fatal: None,
        }
    }

    /// Replace the consumed partitions with `starts` (each with its start position); records
    /// already buffered for partitions no longer assigned are dropped, and a partition that
    /// stays assigned keeps its position only if no start is given for it.
    pub fn assign(&mut self, starts: Vec<((String, i32), OffsetSpec)>) {
        let tps: Vec<Tp> = starts.iter().map(|(tp, _)| tp.clone()).collect();
        self.sub = Subscription::Assigned(tps.clone());
        self.assigned = tps.iter().cloned().collect();
        self.positions.retain(|tp, _| tps.contains(tp));
        self.needs_reset.clear();
        for (tp, spec) in starts {
            self.positions.remove(&tp);
            self.needs_reset.insert(tp, spec);
        }
        let assigned = &self.assigned;
        self.buffered.retain(|(t, r)| assigned.contains(&(t.clone(), r.partition)));
        self.last_refresh = None;
    }

    /// The cluster view, for the group member's coordinator and metadata lookups.
    pub fn cluster_mut(&mut self) -> &mut Cluster {
        &mut self.cluster
    }

    /// Partitions currently consumed.
    pub fn assignment(&self) -> Vec<(String, i32)> {
        self.assigned.iter().cloned().collect()
    }

    /// Wait up to `timeout` for records; returns as soon as some are available, or an
    /// empty list when the time is up.
    pub async fn poll(
        &mut self,
        timeout: Duration,
    ) -> Result<Vec<(String, ConsumedRecord)>, ClientToolError> {
        let deadline = Instant::now() + timeout;
        loop {
            if !self.buffered.is_empty() {
                return Ok(self.buffered.drain(..).collect());
            }
            if let Some(e) = self.fatal.take() {
                return Err(e);
            }
            self.update_assignment().await;
            self.reset_positions().await?;
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let remaining = deadline - now;
            if self.positions.is_empty() {
                tokio::time::sleep(self.cfg.retry_backoff.min(remaining)).await;
                continue;
            }
            self.fetch_once(self.cfg.max_wait.min(remaining)).await;
        }
    }

    fn refresh_due(&self) -> bool {
        match self.last_refresh {
            None => true,
            Some(t) => {
                let age = t.elapsed();
                age >= self.cfg.metadata_max_age
                    || ((self.stale || self.assigned.is_empty()) && age >= self.cfg.retry_backoff)
            }
        }
    }

    async fn update_assignment(&mut self) {
        if !self.refresh_due() {
            return;
        }
        let result = match &self.sub {
            Subscription::Pattern(_) => self.cluster.refresh(None, false).await,
            Subscription::Assigned(tps) => {
                let mut topics: Vec<String> = tps.iter().map(|(t, _)| t.clone()).collect();
                topics.sort();
                topics.dedup();
                self.cluster.refresh(Some(&topics), false).await
            }
            Subscription::Topic(t) | Subscription::Partition { topic: t, .. } => {
                let topics = [t.clone()];
                self.cluster.refresh(Some(&topics), self.cfg.allow_auto_create).await
            }
        };
        self.last_refresh = Some(Instant::now());
        if let Err(e) = result {
            tracing::debug!(error = %e, "metadata refresh failed");
            return;
        }
        self.stale = false;
        let mut wanted: Vec<(Tp, OffsetSpec)> = Vec::new();
        let default = self.cfg.auto_offset_reset.unwrap_or(OffsetSpec::Latest);
        match &self.sub {
            Subscription::Topic(t) => {
                if let Some(info) = self.cluster.topic(t).filter(|i| i.error == 0) {
                    wanted.extend(info.partitions.keys().map(|&p| ((t.clone(), p), default)));
                }
            }
            Subscription::Pattern(re) => {
                for (name, info) in self.cluster.topics() {
                    if info.error != 0 || (self.cfg.exclude_internal && info.internal) {
                        continue;
                    }
                    if re.is_match(name) {
                        wanted.extend(info.partitions.keys().map(|&p| ((name.clone(), p), default)));
                    }
                }
            }
            Subscription::Partition {
                topic,
                partition,
                start,
            } => {
                let exists = self
                    .cluster
                    .topic(topic)
                    .map(|i| i.partitions.contains_key(partition))
                    .unwrap_or(false);
                if exists {
                    wanted.push(((topic.clone(), *partition), *start));
                }
            }
            // The group decided; positions were set by `assign`.
            Subscription::Assigned(_) => {}
        }
        for (tp, spec) in wanted {
            if self.assigned.insert(tp.clone()) {
                self.needs_reset.insert(tp, spec);
            }
        }
    }

    async fn reset_positions(&mut self) -> Result<(), ClientToolError> {
        if self.needs_reset.is_empty() {
            return Ok(());
        }
        let mut by_leader: BTreeMap<i32, Vec<(Tp, i64)>> = BTreeMap::new();
        for (tp, spec) in std::mem::take(&mut self.needs_reset) {
            let ts = match spec {
                OffsetSpec::Offset(n) => {
                    self.positions.insert(tp, n);
                    continue;
                }
                OffsetSpec::Earliest => -2,
                OffsetSpec::Latest => -1,
            };
            match self.cluster.leader(&tp.0, tp.1) {
                Some(l) => by_leader.entry(l).or_default().push((tp, ts)),
                None => {
                    self.stale = true;
                    self.needs_reset.insert(tp, spec);
                }
            }
        }
        for (leader, items) in by_leader {
            match self.list_offsets(leader, &items).await {
                Ok(found) => {
                    for ((tp, ts), res) in items.into_iter().zip(found) {
                        match res {
                            Ok(off) => {
                                self.positions.insert(tp, off);
                            }
                            Err(_) => {
                                self.stale = true;
                                let spec = if ts == -2 { OffsetSpec::Earliest } else { OffsetSpec::Latest };
                                self.needs_reset.insert(tp, spec);
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, leader, "ListOffsets failed");
                    self.cluster.disconnect(leader);
                    self.stale = true;
                    for (tp, ts) in items {
                        let spec = if ts == -2 { OffsetSpec::Earliest } else { OffsetSpec::Latest };
                        self.needs_reset.insert(tp, spec);
                    }
                }
            }
        }
        Ok(())
    }

    async fn list_offsets(
        &mut self,
        leader: i32,
        items: &[(Tp, i64)],
    ) -> Result<Vec<Result<i64, ResponseError>>, ClientToolError> {
        let isolation = self.cfg.isolation_level;
        let conn = self.cluster.connection(leader).await?;
        let version = conn.require_version(ApiKey::ListOffsets as i16, LIST_OFFSETS_MIN, LIST_OFFSETS_MAX)?;
        let mut topics: Vec<ListOffsetsTopic> = Vec::new();
        for ((topic, partition), ts) in items {
            let p = ListOffsetsPartition::default()
                .with_partition_index(*partition)
                .with_timestamp(*ts);
            match topics.iter_mut().find(|t| t.name.0.as_str() == topic) {
                Some(t) => t.partitions.push(p),
                None => topics.push(
                    ListOffsetsTopic::default()
                        .with_name(TopicName(StrBytes::from_string(topic.clone())))
                        .with_partitions(vec![p]),
                ),
            }
        }
        let mut req = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(topics);
        if version >= 2 {
            req.isolation_level = isolation;
        }
        let resp = conn.send(&req, version).await?;
        Ok(items
            .iter()
            .map(|((topic, partition), _)| {
                let found = resp
                    .topics
                    .iter()
                    .filter(|t| t.name.0.as_str() == topic)
                    .flat_map(|t| t.partitions.iter())
                    .find(|p| p.partition_index == *partition);
                match found {
                    Some(p) => match ResponseError::try_from_code(p.error_code) {
                        None => Ok(p.offset),
                        Some(e) => Err(e),
                    },
                    None => Err(ResponseError::UnknownServerError),
                }
            })
            .collect())
    }

    async fn fetch_once(&mut self, max_wait: Duration) {
        let mut by_leader: BTreeMap<i32, Vec<(Tp, i64)>> = BTreeMap::new();
        for (tp, &off) in &self.positions {
            match self.cluster.leader(&tp.0, tp.1) {
                Some(l) => by_leader.entry(l).or_default().push((tp.clone(), off)),
                None => self.stale = true,
            }
        }
        if by_leader.is_empty() {
            tokio::time::sleep(self.cfg.retry_backoff.min(max_wait)).await;
            return;
        }
        let mut set: JoinSet<FetchOutcome> = JoinSet::new();
        for (leader, items) in by_leader {
            let mut conn = match self.cluster.take_connection(leader).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %e, leader, "cannot connect to leader");
                    self.stale = true;
                    continue;
                }
            };
            let req = self.fetch_request(&items, max_wait);
            let version = conn.version_in(ApiKey::Fetch as i16, FETCH_MIN, FETCH_MAX);
            set.spawn(async move {
                let result = match version {
                    Some(v) => conn.send(&req, v).await,
                    None => Err(wire::ClientError::UnsupportedVersion {
                        peer: conn.peer().to_string(),
                        api_key: ApiKey::Fetch as i16,
                    }),
                };
                (leader, conn, items, result)
            });
        }
        if set.is_empty() {
            tokio::time::sleep(self.cfg.retry_backoff.min(max_wait)).await;
            return;
        }
        let mut had_error = false;
        while let Some(joined) = set.join_next().await {
            let Ok((leader, conn, items, result)) = joined else {
                had_error = true;
                continue;
            };
            self.cluster.put_connection(leader, conn);
            match result {
                Ok(resp) => self.handle_fetch(resp, &items),
                Err(e) => {
                    tracing::debug!(error = %e, leader, "fetch failed");
                    self.cluster.disconnect(leader);
                    self.stale = true;
                    had_error = true;
                }
            }
        }
        if had_error && self.buffered.is_empty() {
            tokio::time::sleep(self.cfg.retry_backoff).await;
        }
    }

    fn fetch_request(&self, items: &[(Tp, i64)], max_wait: Duration) -> FetchRequest {
        let mut topics: Vec<FetchTopic> = Vec::new();
        for ((topic, partition), off) in items {
            let p = FetchPartition::default()
                .with_partition(*partition)
                .with_fetch_offset(*off)
                .with_partition_max_bytes(self.cfg.partition_max_bytes);
            match topics.iter_mut().find(|t| t.topic.0.as_str() == topic) {
                Some(t) => t.partitions.push(p),
                None => topics.push(
                    FetchTopic::default()
                        .with_topic(TopicName(StrBytes::from_string(topic.clone())))
                        .with_partitions(vec![p]),
                ),
            }
        }
        FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(max_wait.as_millis().min(i32::MAX as u128) as i32)
            .with_min_bytes(self.cfg.min_bytes)
            .with_max_bytes(self.cfg.max_bytes)
            .with_isolation_level(self.cfg.isolation_level)
            .with_topics(topics)
    }

    fn handle_fetch(&mut self, resp: FetchResponse, items: &[(Tp, i64)]) {
        let read_committed = self.cfg.isolation_level == 1;
        for t in resp.responses {
            let topic = t.topic.0.to_string();
            for p in t.partitions {
                let tp = (topic.clone(), p.partition_index);
                let Some(&(_, fetch_offset)) = items.iter().find(|(x, _)| *x == tp) else {
                    continue;
                };
                // Ignore answers for positions that moved meanwhile.
                if self.positions.get(&tp) != Some(&fetch_offset) {
                    continue;
                }
                match ResponseError::try_from_code(p.error_code) {
                    None => {}
                    Some(ResponseError::OffsetOutOfRange) => {
                        match self.cfg.auto_offset_reset {
                            Some(spec) => {
                                log(
                                    Level::Warn,
                                    &format!(
                                        "[{}] Fetch position {} is out of range for partition {}-{}, resetting offset",
                                        self.cluster.log_prefix(), fetch_offset, tp.0, tp.1
                                    ),
                                    "org.apache.kafka.clients.consumer.internals.Fetcher",
                                );
                                self.positions.remove(&tp);
                                self.needs_reset.insert(tp, spec);
                            }
                            None => {
                                log(
                                    Level::Error,
                                    &format!("Offsets out of range with no configured reset policy for partitions: {{{}-{}={}}}", tp.0, tp.1, fetch_offset),
                                    "kafka.tools.ConsoleConsumer$",
                                );
                            }
                        }
                        continue;
                    }
                    Some(e) => {
                        tracing::debug!(topic = %tp.0, partition = tp.1, error = %error_name(e), "fetch error");
                        self.stale = true;
                        continue;
                    }
                }
                let Some(data) = p.records else { continue };
                let aborted: Vec<AbortedTxn> = p
                    .aborted_transactions
                    .unwrap_or_default()
                    .iter()
                    .map(|a| AbortedTxn {
                        producer_id: a.producer_id.0,
                        first_offset: a.first_offset,
                    })
                    .collect();
                match decode_records(data, tp.1, fetch_offset, read_committed, &aborted) {
                    Ok(decoded) => {
                        if let Some(next) = decoded.next_offset {
                            if next > fetch_offset {
                                self.positions.insert(tp.clone(), next);
                            }
                        }
                        self.buffered
                            .extend(decoded.records.into_iter().map(|r| (topic.clone(), r)));
                    }
                    Err(e) => {
                        self.fatal = Some(ClientToolError::Other(format!(
                            "Received exception when fetching the next record from {}-{}. If needed, please seek past the record to continue consumption. ({e})",
                            tp.0, tp.1
                        )));
                    }
                }
            }
        }
    }
}
