//! A batching producer with Kafka's default partitioning (murmur2 for keyed records,
//! sticky partitions for keyless ones), linger/batch-size flushing, and retries with
//! metadata refresh on retriable errors — the behaviour the console producer relies on.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use indexmap::IndexMap;
use rand::Rng;
use wire::kafka_protocol::records::Compression;
use wire::ResponseError;

use super::cluster::Cluster;
use super::error::{error_name, ClientToolError};
use super::log::{log, Level};
use super::murmur2::partition_for_key;
use super::produce_request::{
    estimate_record_size, produce, PartitionRecords, PendingRecord, BATCH_OVERHEAD,
};

/// Producer settings (the subset of Kafka's producer configs the console producer uses).
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// `acks`: 0, 1 or -1 (all).
    pub acks: i16,
    /// `linger.ms`.
    pub linger: Duration,
    /// `batch.size` in bytes.
    pub batch_size: usize,
    /// `retries`.
    pub retries: u32,
    /// `retry.backoff.ms`.
    pub retry_backoff: Duration,
    /// `request.timeout.ms`.
    pub request_timeout: Duration,
    /// `max.block.ms` (waiting for metadata).
    pub max_block: Duration,
    /// `delivery.timeout.ms` (upper bound on waiting for a leader).
    pub delivery_timeout: Duration,
    /// `max.request.size`.
    pub max_request_size: usize,
    /// `compression.type`.
    pub compression: Compression,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: 1,
            linger: Duration::from_millis(0),
            batch_size: 16384,
            retries: 2_147_483_647,
            retry_backoff: Duration::from_millis(100),
            request_timeout: Duration::from_millis(30_000),
            max_block: Duration::from_millis(60_000),
            delivery_timeout: Duration::from_millis(120_000),
            max_request_size: 1_048_576,
            compression: Compression::None,
        }
    }
}

/// A record that could not be delivered, reported like Kafka's `ErrorLoggingCallback`.
#[derive(Debug)]
pub struct SendFailure {
    /// Destination topic.
    pub topic: String,
    /// Key length, None for a null key.
    pub key_len: Option<usize>,
    /// Value length, None for a null value.
    pub value_len: Option<usize>,
    /// Why it failed.
    pub error: ClientToolError,
}

impl SendFailure {
    /// Print the failure to stderr in Kafka's format.
    pub fn log(&self) {
        let fmt = |l: Option<usize>| match l {
            Some(n) => format!("{n} bytes"),
            None => "null".to_string(),
        };
        log(
            Level::Error,
            &format!(
                "Error when sending message to topic {} with key: {}, value: {} with error:",
                self.topic,
                fmt(self.key_len),
                fmt(self.value_len)
            ),
            "org.apache.kafka.clients.producer.internals.ErrorLoggingCallback",
        );
        eprintln!("{}", self.error);
    }
}

struct Batch {
    records: Vec<PendingRecord>,
    bytes: usize,
    created: Instant,
}

/// The producer: an accumulator of per-partition batches plus a sender.
pub struct Producer {
    cluster: Cluster,
    cfg: ProducerConfig,
    batches: IndexMap<(String, i32), Batch>,
    sticky: HashMap<String, i32>,
}

impl Producer {
    /// Create a producer over `cluster` (no I/O until the first send).
    pub fn new(cluster: Cluster, cfg: ProducerConfig) -> Self {
        Producer {
            cluster,
            cfg,
            batches: IndexMap::new(),
            sticky: HashMap::new(),
        }
    }

    /// Queue a record (waiting up to `max.block.ms` for the topic's metadata). The caller
    /// flushes when [`Self::flush_due`] says so or at the linger deadline.
    pub async fn send(
        &mut self,
        topic: &str,
        key: Option<Bytes>,
        value: Option<Bytes>,
    ) -> Result<(), SendFailure> {
        let fail = |error| SendFailure {
            topic: topic.to_string(),
            key_len: key.as_ref().map(|k| k.len()),
            value_len: value.as_ref().map(|v| v.len()),
            error,
        };
        let size = estimate_record_size(key.as_ref(), value.as_ref());
        if size + BATCH_OVERHEAD > self.cfg.max_request_size {
            return Err(fail(ClientToolError::Other(format!(
                "The message is {} bytes when serialized which is larger than {}, which is the value of the max.request.size configuration.",
                size + BATCH_OVERHEAD,
                self.cfg.max_request_size
            ))));
        }
        let num_partitions = match self.wait_for_partitions(topic).await {
            Ok(n) => n,
            Err(e) => return Err(fail(e)),
        };
        let partition = match &key {
            Some(k) => partition_for_key(k, num_partitions),
            None => self.sticky_partition(topic, num_partitions),
        };
        let tp = (topic.to_string(), partition);
        let full = {
            let batch = self.batches.entry(tp).or_insert_with(|| Batch {
                records: Vec::new(),
                bytes: BATCH_OVERHEAD,
                created: Instant::now(),
            });
            if batch.bytes + size > self.cfg.batch_size && !batch.records.is_empty() {
                true
            } else {
                batch.bytes += size;
                batch.records.push(PendingRecord {
                    key: key.clone(),
                    value: value.clone(),
                    timestamp: now_ms(),
                });
                false
            }
        };
        if full {
            // Batch is full: send what we have, then start a new batch (new sticky choice).
            let failures = self.flush().await;
            for f in failures {
                f.log();
            }
            return Box::pin(self.send(topic, key, value)).await;
        }
        Ok(())
    }

    /// Whether some batch is full enough or old enough to be sent now.
    pub fn flush_due(&self) -> bool {
        self.batches.values().any(|b| {
            b.bytes >= self.cfg.batch_size || b.created.elapsed() >= self.cfg.linger
        })
    }

    /// When the oldest queued batch reaches `linger.ms`, if anything is queued.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.batches
            .values()
            .map(|b| b.created + self.cfg.linger)
            .min()
    }

    /// Whether anything is queued.
    pub fn has_pending(&self) -> bool {
        !self.batches.is_empty()
    }

    /// Send every queued batch, retrying retriable failures, and return the records that
    /// could not be delivered.
    pub async fn flush(&mut self) -> Vec<SendFailure> {
        let drained: Vec<((String, i32), Batch)> = self.batches.drain(..).collect();
        let mut work: Vec<(PartitionRecords, u32, Instant)> = Vec::new();
        for ((topic, partition), batch) in drained {
            // A drained batch ends the sticky choice for its topic.
            if self.sticky.get(&topic) == Some(&partition) {
                self.sticky.remove(&topic);
            }
            work.push((
                PartitionRecords {
                    topic,
                    partition,
                    records: batch.records,
                },
                0,
                batch.created,
            ));
        }
        let mut failures = Vec::new();
        while !work.is_empty() {
            let mut by_leader: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
            let mut outcome: Vec<Option<Result<(), ClientToolError>>> =
                work.iter().map(|_| None).collect();
            for (i, (p, _, _)) in work.iter().enumerate() {
                match self.cluster.leader(&p.topic, p.partition) {
                    Some(l) => by_leader.entry(l).or_default().push(i),
                    None => {
                        outcome[i] = Some(Err(ClientToolError::Kafka(
                            ResponseError::LeaderNotAvailable,
                        )))
                    }
                }
            }
            for (leader, idxs) in by_leader {
                let parts: Vec<PartitionRecords> = idxs.iter().map(|&i| work[i].0.clone()).collect();
                let result = self.produce_to(leader, &parts).await;
                match result {
                    Ok(results) => {
                        for (&i, r) in idxs.iter().zip(results) {
                            outcome[i] = Some(r.map(|_| ()).map_err(ClientToolError::Kafka));
                        }
                    }
                    Err(e) => {
                        self.cluster.disconnect(leader);
                        for &i in &idxs {
                            outcome[i] = Some(Err(ClientToolError::Network(e.to_string())));
                        }
                    }
                }
            }
            let mut next = Vec::new();
            for ((p, attempts, created), out) in work.into_iter().zip(outcome) {
                let Some(Err(err)) = out else { continue };
                let no_leader = matches!(err, ClientToolError::Kafka(ResponseError::LeaderNotAvailable));
                let expired = created.elapsed() >= self.cfg.delivery_timeout;
                if expired {
                    let e = ClientToolError::Timeout(format!(
                        "Expiring {} record(s) for {}-{}:{} ms has passed since batch creation",
                        p.records.len(),
                        p.topic,
                        p.partition,
                        created.elapsed().as_millis()
                    ));
                    failures.extend(fail_all(&p, e));
                } else if no_leader && attempts == 0 {
                    // Waiting for a leader does not use up retries (as in Kafka's accumulator).
                    next.push((p, attempts, created));
                } else if err.is_retriable() && attempts < self.cfg.retries {
                    let left = self.cfg.retries - attempts;
                    if let ClientToolError::Kafka(code) = &err {
                        log(
                            Level::Warn,
                            &format!(
                                "[{}] Got error produce response on topic-partition {}-{}, retrying ({} attempts left). Error: {}",
                                self.cluster.log_prefix(),
                                p.topic,
                                p.partition,
                                left,
                                error_name(*code)
                            ),
                            "org.apache.kafka.clients.producer.internals.Sender",
                        );
                    }
                    next.push((p, attempts + 1, created));
                } else {
                    failures.extend(fail_all(&p, err));
                }
            }
            work = next;
            if !work.is_empty() {
                tokio::time::sleep(self.cfg.retry_backoff).await;
                let mut topics: Vec<String> = work.iter().map(|(p, _, _)| p.topic.clone()).collect();
                topics.sort();
                topics.dedup();
                if let Err(e) = self.cluster.refresh(Some(&topics), true).await {
                    tracing::debug!(error = %e, "metadata refresh failed");
                }
            }
        }
        failures
    }

    async fn produce_to(
        &mut self,
        leader: i32,
        parts: &[PartitionRecords],
    ) -> Result<Vec<Result<i64, ResponseError>>, ClientToolError> {
        let acks = self.cfg.acks;
        let timeout_ms = self.cfg.request_timeout.as_millis().min(i32::MAX as u128) as i32;
        let compression = self.cfg.compression;
        let conn = self.cluster.connection(leader).await?;
        produce(conn, parts, acks, timeout_ms, compression).await
    }

    async fn wait_for_partitions(&mut self, topic: &str) -> Result<i32, ClientToolError> {
        let deadline = Instant::now() + self.cfg.max_block;
        let topics = [topic.to_string()];
        let mut refreshed = false;
        loop {
            if let Some(t) = self.cluster.topic(topic) {
                match ResponseError::try_from_code(t.error) {
                    None if !t.partitions.is_empty() => return Ok(t.partitions.len() as i32),
                    Some(e @ ResponseError::InvalidTopicException)
                    | Some(e @ ResponseError::TopicAuthorizationFailed) => {
                        return Err(ClientToolError::Kafka(e))
                    }
                    _ => {}
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ClientToolError::MetadataTimeout {
                    topic: topic.to_string(),
                    ms: self.cfg.max_block.as_millis() as u64,
                });
            }
            if refreshed {
                tokio::time::sleep(self.cfg.retry_backoff.min(deadline - now)).await;
            }
            if let Err(e) = self.cluster.refresh(Some(&topics), true).await {
                tracing::debug!(error = %e, "metadata refresh failed");
            }
            refreshed = true;
        }
    }

    fn sticky_partition(&mut self, topic: &str, num_partitions: i32) -> i32 {
        if let Some(&p) = self.sticky.get(topic) {
            return p;
        }
        let available = self.cluster.available_partitions(topic);
        let mut rng = rand::thread_rng();
        let p = match available.len() {
            0 => rng.gen_range(0..num_partitions.max(1)),
            1 => available[0],
            n => available[rng.gen_range(0..n)],
        };
        self.sticky.insert(topic.to_string(), p);
        p
    }
}

fn fail_all(p: &PartitionRecords, err: ClientToolError) -> Vec<SendFailure> {
    p.records
        .iter()
        .map(|r| SendFailure {
            topic: p.topic.clone(),
            key_len: r.key.as_ref().map(|k| k.len()),
            value_len: r.value.as_ref().map(|v| v.len()),
            error: err.clone(),
        })
        .collect()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
