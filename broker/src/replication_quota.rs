//! Replication throttling (KIP-73): Kafka's `ReplicationQuotaManager`.
//!
//! Two managers exist per broker: the *leader* one bounds the bytes this broker serves to followers
//! of throttled partitions (`leader.replication.throttled.rate`), the *follower* one bounds the
//! bytes its replica fetchers pull for throttled partitions (`follower.replication.throttled.rate`).
//! Which partitions count as throttled on this broker comes from the topic configs
//! `leader.replication.throttled.replicas` / `follower.replication.throttled.replicas`.
//!
//! The rate is Kafka's `SimpleRate` over `replication.quota.window.num` (11) samples of
//! `replication.quota.window.size.seconds` (1 s): the bytes of all live samples divided by the time
//! since the oldest sample started, that time being at least one window (so the first bytes after an
//! idle period do not look like an infinite rate). The quota is exceeded when the rate is strictly
//! above the bound; callers check it *before* moving data and record what they moved afterwards, so
//! a single fetch may overshoot and the following ones wait until the average comes back down.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use storage::TopicPartition;

/// Kafka's `replication.quota.window.num` default: 10 whole windows + the current one.
pub const DEFAULT_NUM_QUOTA_SAMPLES: usize = 11;
/// Kafka's `replication.quota.window.size.seconds` default, in milliseconds.
pub const DEFAULT_QUOTA_WINDOW_MS: i64 = 1000;
/// Bound meaning "no quota" (Kafka's `Long.MaxValue` default for the throttled rates).
pub const UNLIMITED: u64 = u64::MAX;

/// A rate over a sliding window of fixed-length samples (Kafka's `SimpleRate`), pure and clock-free:
/// every call takes the current time in milliseconds.
#[derive(Debug, Clone)]
pub struct SimpleRate {
    num_samples: usize,
    window_ms: i64,
    /// `(sample start ms, value recorded in it)`, oldest first.
    samples: VecDeque<(i64, f64)>,
}

impl SimpleRate {
    /// A rate over `num_samples` samples of `window_ms` each (both at least 1).
    pub fn new(num_samples: usize, window_ms: i64) -> Self {
        SimpleRate { num_samples: num_samples.max(1), window_ms: window_ms.max(1), samples: VecDeque::new() }
    }

    /// Drop samples that started `num_samples` windows ago or earlier (Kafka's purge of obsolete samples).
    fn purge(&mut self, now_ms: i64) {
        let expire_age = self.num_samples as i64 * self.window_ms;
        while self.samples.front().is_some_and(|(start, _)| now_ms - start >= expire_age) {
            self.samples.pop_front();
        }
    }

    /// Add `value` at `now_ms`, opening a new sample when the current one's window has passed.
    pub fn record(&mut self, value: f64, now_ms: i64) {
        self.purge(now_ms);
        match self.samples.back_mut() {
            Some((start, v)) if now_ms < *start + self.window_ms => *v += value,
            _ => {
                if self.samples.len() >= self.num_samples {
                    self.samples.pop_front();
                }
                self.samples.push_back((now_ms, value));
            }
        }
    }

    /// Units per second at `now_ms`: total of the live samples over max(elapsed since the oldest
    /// sample started, one window).
    pub fn measure(&mut self, now_ms: i64) -> f64 {
        self.purge(now_ms);
        let oldest = self.samples.front().map(|(s, _)| *s).unwrap_or(now_ms);
        let elapsed_ms = (now_ms - oldest).max(self.window_ms);
        let total: f64 = self.samples.iter().map(|(_, v)| v).sum();
        total * 1000.0 / elapsed_ms as f64
    }
}

/// Which partitions of one topic are throttled on this broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThrottledPartitions {
    /// `*`: every partition of the topic.
    All,
    /// Only these partition ids (possibly none).
    Some(Vec<i32>),
}

/// Why a `*.replication.throttled.replicas` value was rejected (Kafka's `ThrottledReplicaListValidator`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{prop} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],... (got '{value}')")]
pub struct InvalidThrottledReplicas {
    /// The config name.
    pub prop: String,
    /// The rejected value.
    pub value: String,
}

/// The partitions of a `*.replication.throttled.replicas` value that concern `broker_id` (Kafka's
/// `TopicConfigHandler.parseThrottledPartitions`): `*` is all of them, `p:b,...` keeps the `p` whose
/// `b` is this broker, the empty string none.
pub fn parse_throttled_partitions(prop: &str, value: &str, broker_id: i32) -> Result<ThrottledPartitions, InvalidThrottledReplicas> {
    let value = value.trim();
    let invalid = || InvalidThrottledReplicas { prop: prop.to_string(), value: value.to_string() };
    match value {
        "" => Ok(ThrottledPartitions::Some(Vec::new())),
        "*" => Ok(ThrottledPartitions::All),
        _ => {
            let mut out = Vec::new();
            for item in value.split(',') {
                let (p, b) = item.trim().split_once(':').ok_or_else(invalid)?;
                let p: i32 = p.trim().parse().map_err(|_| invalid())?;
                let b: i32 = b.trim().parse().map_err(|_| invalid())?;
                if b == broker_id {
                    out.push(p);
                }
            }
            Ok(ThrottledPartitions::Some(out))
        }
    }
}

/// One direction's quota (leader or follower): the bound, the measured rate and the throttled
/// partitions. Shared by the request handlers / fetcher tasks and the dynamic config manager.
#[derive(Debug)]
pub struct ReplicationQuotaManager {
    /// Bytes per second; [`UNLIMITED`] when no throttle rate is configured.
    bound: AtomicU64,
    rate: Mutex<SimpleRate>,
    throttled: RwLock<HashMap<String, ThrottledPartitions>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Default for ReplicationQuotaManager {
    fn default() -> Self {
        Self::new(DEFAULT_NUM_QUOTA_SAMPLES, DEFAULT_QUOTA_WINDOW_MS)
    }
}

impl ReplicationQuotaManager {
    /// An unbounded manager with no throttled partitions.
    pub fn new(num_samples: usize, window_ms: i64) -> Self {
        ReplicationQuotaManager {
            bound: AtomicU64::new(UNLIMITED),
            rate: Mutex::new(SimpleRate::new(num_samples, window_ms)),
            throttled: RwLock::new(HashMap::new()),
        }
    }

    /// Set the bound in bytes per second ([`UNLIMITED`] removes it).
    pub fn update_quota(&self, bytes_per_second: u64) {
        self.bound.store(bytes_per_second, Ordering::Relaxed);
    }

    /// The current bound in bytes per second.
    pub fn upper_bound(&self) -> u64 {
        self.bound.load(Ordering::Relaxed)
    }

    /// Whether the measured rate is above the bound now.
    pub fn is_quota_exceeded(&self) -> bool {
        self.is_quota_exceeded_at(now_ms())
    }

    /// [`Self::is_quota_exceeded`] at a given time (tests).
    pub fn is_quota_exceeded_at(&self, now_ms: i64) -> bool {
        let bound = self.upper_bound();
        if bound == UNLIMITED {
            return false;
        }
        let rate = self.rate.lock().unwrap_or_else(|p| p.into_inner()).measure(now_ms);
        rate > bound as f64
    }

    /// Count `bytes` moved for throttled partitions, whether or not the quota is exceeded.
    pub fn record(&self, bytes: u64) {
        self.record_at(bytes, now_ms());
    }

    /// [`Self::record`] at a given time (tests).
    pub fn record_at(&self, bytes: u64, now_ms: i64) {
        if bytes > 0 {
            self.rate.lock().unwrap_or_else(|p| p.into_inner()).record(bytes as f64, now_ms);
        }
    }

    /// Whether `tp` is throttled on this broker.
    pub fn is_throttled(&self, tp: &TopicPartition) -> bool {
        self.is_throttled_parts(&tp.topic, tp.partition)
    }

    /// [`Self::is_throttled`] without building a `TopicPartition`.
    pub fn is_throttled_parts(&self, topic: &str, partition: i32) -> bool {
        let map = self.throttled.read().unwrap_or_else(|p| p.into_inner());
        match map.get(topic) {
            Some(ThrottledPartitions::All) => true,
            Some(ThrottledPartitions::Some(ps)) => ps.contains(&partition),
            None => false,
        }
    }

    /// Replace the throttled partitions of `topic`.
    pub fn mark_throttled(&self, topic: &str, partitions: ThrottledPartitions) {
        self.throttled.write().unwrap_or_else(|p| p.into_inner()).insert(topic.to_string(), partitions);
    }

    /// No partition of `topic` is throttled any more.
    pub fn remove_throttle(&self, topic: &str) {
        self.throttled.write().unwrap_or_else(|p| p.into_inner()).remove(topic);
    }

    /// Topics with a throttle entry (to clear the ones whose config disappeared).
    pub fn topics(&self) -> Vec<String> {
        self.throttled.read().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect()
    }
}

/// The leader and follower replication quotas of this broker (part of Kafka's `QuotaManagers`).
#[derive(Debug, Default)]
pub struct ReplicationQuotas {
    /// Bytes this broker, as leader, serves to out-of-sync followers of throttled partitions.
    pub leader: ReplicationQuotaManager,
    /// Bytes this broker's replica fetchers pull for throttled partitions while not in sync.
    pub follower: ReplicationQuotaManager,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_window_counts_as_a_whole_window() {
        let mut r = SimpleRate::new(11, 1000);
        assert_eq!(r.measure(0), 0.0);
        r.record(500.0, 0);
        // 500 bytes at t=0 over the minimum of one second, not over zero time.
        assert_eq!(r.measure(0), 500.0);
        assert_eq!(r.measure(500), 500.0);
        // After 2 s the same bytes are spread over 2 s.
        assert_eq!(r.measure(2000), 250.0);
    }

    #[test]
    fn samples_roll_and_expire() {
        let mut r = SimpleRate::new(3, 1000);
        r.record(100.0, 0);
        r.record(100.0, 999);
        r.record(100.0, 1000); // second sample
        r.record(100.0, 2500); // third sample (starts at 2500)
        assert_eq!(r.samples.len(), 3);
        // At 2999 the oldest (start 0) is still live: 400 bytes over 2.999 s.
        assert!((r.measure(2999) - 400.0 * 1000.0 / 2999.0).abs() < 1e-9);
        // At 3000 the first sample is 3 windows old and expires; oldest is now the one from 1000.
        assert!((r.measure(3000) - 200.0 / 2.0).abs() < 1e-9);
        // A fourth sample evicts the oldest even before it expires.
        r.record(10.0, 3600);
        assert_eq!(r.samples.len(), 3);
        // Long idle: everything expires, rate is zero and the next bytes start a fresh window.
        assert_eq!(r.measure(60_000), 0.0);
        r.record(50.0, 60_000);
        assert_eq!(r.measure(60_000), 50.0);
    }

    #[test]
    fn quota_is_exceeded_only_above_the_bound() {
        let q = ReplicationQuotaManager::new(11, 1000);
        q.record_at(10_000_000, 0);
        assert!(!q.is_quota_exceeded_at(0), "no bound means never exceeded");
        q.update_quota(1000);
        assert!(q.is_quota_exceeded_at(0));
        let q = ReplicationQuotaManager::new(11, 1000);
        q.update_quota(1000);
        q.record_at(1000, 0);
        assert!(!q.is_quota_exceeded_at(0), "exactly at the bound is acceptable");
        q.record_at(1, 10);
        assert!(q.is_quota_exceeded_at(10));
        // 1001 bytes over 1.001 s is back to the bound.
        assert!(!q.is_quota_exceeded_at(1001));
        q.update_quota(UNLIMITED);
        assert!(!q.is_quota_exceeded_at(10));
    }

    #[test]
    fn sustained_throughput_converges_to_the_bound() {
        // A fetcher that moves 100 KB whenever the quota allows, polled every 10 ms for 30 s.
        let q = ReplicationQuotaManager::new(11, 1000);
        q.update_quota(1_000_000);
        let mut moved = 0u64;
        let mut t = 0;
        while t < 30_000 {
            if !q.is_quota_exceeded_at(t) {
                q.record_at(100_000, t);
                moved += 100_000;
            }
            t += 10;
        }
        let rate = moved as f64 / 30.0;
        assert!((950_000.0..1_100_000.0).contains(&rate), "rate {rate}");
    }

    #[test]
    fn throttled_partitions() {
        let q = ReplicationQuotaManager::default();
        let tp = |p| TopicPartition { topic: "t".into(), partition: p };
        assert!(!q.is_throttled(&tp(0)));
        q.mark_throttled("t", ThrottledPartitions::Some(vec![1, 3]));
        assert!(!q.is_throttled(&tp(0)));
        assert!(q.is_throttled(&tp(3)));
        q.mark_throttled("t", ThrottledPartitions::All);
        assert!(q.is_throttled(&tp(7)));
        q.remove_throttle("t");
        assert!(!q.is_throttled(&tp(7)));
    }

    #[test]
    fn parse_throttled_replica_lists() {
        let prop = "leader.replication.throttled.replicas";
        assert_eq!(parse_throttled_partitions(prop, "*", 1), Ok(ThrottledPartitions::All));
        assert_eq!(parse_throttled_partitions(prop, " * ", 1), Ok(ThrottledPartitions::All));
        assert_eq!(parse_throttled_partitions(prop, "", 1), Ok(ThrottledPartitions::Some(vec![])));
        assert_eq!(
            parse_throttled_partitions(prop, "0:1,1:2,2:1, 3 : 1", 1),
            Ok(ThrottledPartitions::Some(vec![0, 2, 3]))
        );
        assert_eq!(parse_throttled_partitions(prop, "0:1,1:2", 5), Ok(ThrottledPartitions::Some(vec![])));
        assert!(parse_throttled_partitions(prop, "0:1,x", 1).is_err());
        assert!(parse_throttled_partitions(prop, "0-1", 1).is_err());
        assert!(parse_throttled_partitions(prop, "a:1", 1).is_err());
    }
}
