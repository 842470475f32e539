//! Topic-level log configuration (`LogConfig`), Kafka 2.8 names, defaults and validators.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::StorageError;

/// How record timestamps are interpreted (`message.timestamp.type`). Decides whether the
/// leader keeps producer timestamps or stamps its own clock on append.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimestampType {
    /// Keep the producer's timestamp (Kafka default).
    CreateTime,
    /// The broker overwrites the batch max timestamp with its append time.
    LogAppendTime,
}

impl TimestampType {
    /// Parses Kafka's spelling (`CreateTime` / `LogAppendTime`).
    pub fn parse(s: &str) -> Option<TimestampType> {
        match s.trim() {
            "CreateTime" => Some(TimestampType::CreateTime),
            "LogAppendTime" => Some(TimestampType::LogAppendTime),
            _ => None,
        }
    }
}

impl fmt::Display for TimestampType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        })
    }
}

/// `cleanup.policy`: whether old segments are deleted by retention, compacted, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CleanupPolicy {
    /// Time/size retention deletes old segments (Kafka default).
    Delete,
    /// Log compaction only (retention never deletes by time/size).
    Compact,
    /// Both compaction and retention.
    CompactDelete,
}

impl CleanupPolicy {
    /// Parses Kafka's list syntax: `delete`, `compact`, `compact,delete`, `delete,compact`.
    pub fn parse(s: &str) -> Option<CleanupPolicy> {
        let (mut compact, mut delete) = (false, false);
        for item in s.split(',').map(str::trim) {
            match item {
                "compact" => compact = true,
                "delete" => delete = true,
                _ => return None,
            }
        }
        match (compact, delete) {
            (true, true) => Some(CleanupPolicy::CompactDelete),
            (true, false) => Some(CleanupPolicy::Compact),
            (false, true) => Some(CleanupPolicy::Delete),
            (false, false) => None,
        }
    }

    /// True when time/size retention applies.
    pub fn is_delete(self) -> bool {
        matches!(self, CleanupPolicy::Delete | CleanupPolicy::CompactDelete)
    }

    /// True when the log is compacted (records must carry keys).
    pub fn is_compact(self) -> bool {
        matches!(self, CleanupPolicy::Compact | CleanupPolicy::CompactDelete)
    }
}

impl fmt::Display for CleanupPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
        })
    }
}

/// The effective configuration of one topic's logs: broker defaults with topic
/// overrides applied. Every field is a Kafka 2.8 topic config of the same name.
#[derive(Clone, Debug, PartialEq)]
pub struct LogConfig {
    /// `segment.bytes`: roll a segment before it would exceed this size.
    pub segment_bytes: i32,
    /// `segment.ms`: roll a segment after this much time.
    pub segment_ms: i64,
    /// `segment.jitter.ms`: random reduction of `segment.ms` per segment.
    pub segment_jitter_ms: i64,
    /// `segment.index.bytes`: size each index is pre-allocated to.
    pub segment_index_bytes: i32,
    /// `index.interval.bytes`: bytes appended between two index entries.
    pub index_interval_bytes: i32,
    /// `retention.bytes`: max partition size before old segments are deleted (-1 = unlimited).
    pub retention_bytes: i64,
    /// `retention.ms`: max age of a segment (-1 = unlimited).
    pub retention_ms: i64,
    /// `max.message.bytes`: largest batch accepted.
    pub max_message_bytes: i32,
    /// `flush.messages`: fsync after this many unflushed messages.
    pub flush_messages: i64,
    /// `flush.ms`: fsync after this much time.
    pub flush_ms: i64,
    /// `file.delete.delay.ms`: how long deleted files linger before removal.
    pub file_delete_delay_ms: i64,
    /// `delete.retention.ms`: tombstone retention for compacted topics.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`.
    pub max_compaction_lag_ms: i64,
    /// `min.cleanable.dirty.ratio`.
    pub min_cleanable_dirty_ratio: f64,
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
    /// `unclean.leader.election.enable` (used by the controller).
    pub unclean_leader_election_enable: bool,
    /// `min.insync.replicas` (used by the broker for acks=all).
    pub min_insync_replicas: i32,
    /// `compression.type`.
    pub compression_type: String,
    /// `preallocate` (accepted and reported; segments are not pre-allocated by this implementation).
    pub preallocate: bool,
    /// `message.format.version`.
    pub message_format_version: String,
    /// `message.timestamp.type`.
    pub message_timestamp_type: TimestampType,
    /// `message.timestamp.difference.max.ms`.
    pub message_timestamp_difference_max_ms: i64,
    /// `message.downconversion.enable`.
    pub message_downconversion_enable: bool,
    /// `leader.replication.throttled.replicas`.
    pub leader_replication_throttled_replicas: String,
    /// `follower.replication.throttled.replicas`.
    pub follower_replication_throttled_replicas: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            segment_jitter_ms: 0,
            segment_index_bytes: 10 * 1024 * 1024,
            index_interval_bytes: 4096,
            retention_bytes: -1,
            retention_ms: 604_800_000,
            max_message_bytes: 1_048_588,
            flush_messages: i64::MAX,
            flush_ms: i64::MAX,
            file_delete_delay_ms: 60_000,
            delete_retention_ms: 86_400_000,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            min_cleanable_dirty_ratio: 0.5,
            cleanup_policy: CleanupPolicy::Delete,
            unclean_leader_election_enable: false,
            min_insync_replicas: 1,
            compression_type: "producer".to_string(),
            preallocate: false,
            message_format_version: "2.8-IV1".to_string(),
            message_timestamp_type: TimestampType::CreateTime,
            message_timestamp_difference_max_ms: i64::MAX,
            message_downconversion_enable: true,
            leader_replication_throttled_replicas: String::new(),
            follower_replication_throttled_replicas: String::new(),
        }
    }
}

const COMPRESSION_TYPES: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

fn invalid(key: &str, value: &str, why: &str) -> StorageError {
    StorageError::InvalidConfig {
        key: key.to_string(),
        reason: format!("Invalid value {value} for configuration {key}: {why}"),
    }
}

fn parse_long(key: &str, v: &str, min: i64) -> Result<i64, StorageError> {
    let n: i64 = v.trim().parse().map_err(|_| invalid(key, v, "Not a number of type LONG"))?;
    if n < min {
        return Err(invalid(key, v, &format!("Value must be at least {min}")));
    }
    Ok(n)
}

fn parse_int(key: &str, v: &str, min: i32) -> Result<i32, StorageError> {
    let n: i32 = v.trim().parse().map_err(|_| invalid(key, v, "Not a number of type INT"))?;
    if n < min {
        return Err(invalid(key, v, &format!("Value must be at least {min}")));
    }
    Ok(n)
}

fn parse_bool(key: &str, v: &str) -> Result<bool, StorageError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(key, v, "Expected value to be either true or false")),
    }
}

fn valid_message_format_version(v: &str) -> bool {
    // Kafka's ApiVersionValidator accepts every released version string such as
    // "0.10.2", "2.8", "2.8-IV1"; accept that shape for majors 0..=2.
    let (ver, iv) = match v.split_once("-IV") {
        Some((a, b)) => (a, Some(b)),
        None => (v, None),
    };
    if let Some(iv) = iv {
        if iv.is_empty() || !iv.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    let parts: Vec<&str> = ver.split('.').collect();
    (2..=4).contains(&parts.len())
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && matches!(parts[0], "0" | "1" | "2")
}

fn valid_throttled_replicas(v: &str) -> bool {
    // "*" or a comma separated list of "partition:brokerId".
    let v = v.trim();
    if v.is_empty() || v == "*" {
        return true;
    }
    v.split(',').all(|item| match item.trim().split_once(':') {
        Some((p, b)) => p.trim().parse::<i32>().is_ok() && b.trim().parse::<i32>().is_ok(),
        None => false,
    })
}

fn fmt_double(d: f64) -> String {
    if d.fract() == 0.0 && d.is_finite() {
        format!("{d:.1}")
    } else {
        format!("{d}")
    }
}

impl LogConfig {
    /// The topic-level config names Kafka 2.8 accepts, e.g. "segment.bytes"; used by tools and
    /// AlterConfigs to reject unknown keys.
    pub const TOPIC_CONFIG_NAMES: &'static [&'static str] = &[
        "segment.bytes",
        "segment.ms",
        "segment.jitter.ms",
        "segment.index.bytes",
        "flush.messages",
        "flush.ms",
        "retention.bytes",
        "retention.ms",
        "max.message.bytes",
        "index.interval.bytes",
        "file.delete.delay.ms",
        "delete.retention.ms",
        "min.compaction.lag.ms",
        "max.compaction.lag.ms",
        "min.cleanable.dirty.ratio",
        "cleanup.policy",
        "unclean.leader.election.enable",
        "min.insync.replicas",
        "compression.type",
        "preallocate",
        "message.format.version",
        "message.timestamp.type",
        "message.timestamp.difference.max.ms",
        "message.downconversion.enable",
        "leader.replication.throttled.replicas",
        "follower.replication.throttled.replicas",
    ];

    /// Effective config = self (broker defaults) with topic overrides applied; the error names
    /// the bad key and why (unknown key, not a number, out of range), following Kafka's validators.
    pub fn with_overrides(&self, overrides: &BTreeMap<String, String>) -> Result<LogConfig, StorageError> {
        let mut c = self.clone();
        for (key, value) in overrides {
            c.apply(key, value)?;
        }
        if c.min_compaction_lag_ms > c.max_compaction_lag_ms {
            return Err(StorageError::InvalidConfig {
                key: "min.compaction.lag.ms".to_string(),
                reason: format!(
                    "conflict topic config setting min.compaction.lag.ms ({}) > max.compaction.lag.ms ({})",
                    c.min_compaction_lag_ms, c.max_compaction_lag_ms
                ),
            });
        }
        Ok(c)
    }

    /// Validate overrides alone (same errors), for CreateTopics/AlterConfigs/kafka-topics
    /// before writing to ZooKeeper.
    pub fn validate_overrides(overrides: &BTreeMap<String, String>) -> Result<(), StorageError> {
        LogConfig::default().with_overrides(overrides).map(|_| ())
    }

    fn apply(&mut self, key: &str, v: &str) -> Result<(), StorageError> {
        match key {
            "segment.bytes" => self.segment_bytes = parse_int(key, v, 14)?,
            "segment.ms" => self.segment_ms = parse_long(key, v, 1)?,
            "segment.jitter.ms" => self.segment_jitter_ms = parse_long(key, v, 0)?,
            "segment.index.bytes" => self.segment_index_bytes = parse_int(key, v, 0)?,
            "flush.messages" => self.flush_messages = parse_long(key, v, 0)?,
            "flush.ms" => self.flush_ms = parse_long(key, v, 0)?,
            "retention.bytes" => self.retention_bytes = parse_long(key, v, i64::MIN)?,
            "retention.ms" => self.retention_ms = parse_long(key, v, -1)?,
            "max.message.bytes" => self.max_message_bytes = parse_int(key, v, 0)?,
            "index.interval.bytes" => self.index_interval_bytes = parse_int(key, v, 0)?,
            "file.delete.delay.ms" => self.file_delete_delay_ms = parse_long(key, v, 0)?,
            "delete.retention.ms" => self.delete_retention_ms = parse_long(key, v, 0)?,
            "min.compaction.lag.ms" => self.min_compaction_lag_ms = parse_long(key, v, 0)?,
            "max.compaction.lag.ms" => self.max_compaction_lag_ms = parse_long(key, v, 1)?,
            "min.cleanable.dirty.ratio" => {
                let d: f64 = v.trim().parse().map_err(|_| invalid(key, v, "Not a number of type DOUBLE"))?;
                if !(0.0..=1.0).contains(&d) {
                    return Err(invalid(key, v, "Value must be no more than 1"));
                }
                self.min_cleanable_dirty_ratio = d;
            }
            "cleanup.policy" => {
                self.cleanup_policy = CleanupPolicy::parse(v)
                    .ok_or_else(|| invalid(key, v, "String must be one of: compact, delete"))?
            }
            "unclean.leader.election.enable" => self.unclean_leader_election_enable = parse_bool(key, v)?,
            "min.insync.replicas" => self.min_insync_replicas = parse_int(key, v, 1)?,
            "compression.type" => {
                let t = v.trim().to_ascii_lowercase();
                if !COMPRESSION_TYPES.contains(&t.as_str()) {
                    return Err(invalid(key, v, "String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"));
                }
                self.compression_type = t;
            }
            "preallocate" => self.preallocate = parse_bool(key, v)?,
            "message.format.version" => {
                if !valid_message_format_version(v.trim()) {
                    return Err(invalid(key, v, "Version must be a valid Kafka version such as 2.8-IV1"));
                }
                self.message_format_version = v.trim().to_string();
            }
            "message.timestamp.type" => {
                self.message_timestamp_type = TimestampType::parse(v)
                    .ok_or_else(|| invalid(key, v, "String must be one of: CreateTime, LogAppendTime"))?
            }
            "message.timestamp.difference.max.ms" => {
                self.message_timestamp_difference_max_ms = parse_long(key, v, 0)?
            }
            "message.downconversion.enable" => self.message_downconversion_enable = parse_bool(key, v)?,
            "leader.replication.throttled.replicas" | "follower.replication.throttled.replicas" => {
                if !valid_throttled_replicas(v) {
                    return Err(invalid(
                        key,
                        v,
                        "Must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...",
                    ));
                }
                if key.starts_with("leader") {
                    self.leader_replication_throttled_replicas = v.trim().to_string();
                } else {
                    self.follower_replication_throttled_replicas = v.trim().to_string();
                }
            }
            _ => {
                return Err(StorageError::InvalidConfig {
                    key: key.to_string(),
                    reason: format!("Unknown topic config name: {key}"),
                })
            }
        }
        Ok(())
    }

    /// The value of a topic config key rendered as Kafka renders it in DescribeConfigs
    /// (e.g. "1073741824", "delete", "false"); `None` for unknown keys.
    pub fn value_of(&self, key: &str) -> Option<String> {
        Some(match key {
            "segment.bytes" => self.segment_bytes.to_string(),
            "segment.ms" => self.segment_ms.to_string(),
            "segment.jitter.ms" => self.segment_jitter_ms.to_string(),
            "segment.index.bytes" => self.segment_index_bytes.to_string(),
            "flush.messages" => self.flush_messages.to_string(),
            "flush.ms" => self.flush_ms.to_string(),
            "retention.bytes" => self.retention_bytes.to_string(),
            "retention.ms" => self.retention_ms.to_string(),
            "max.message.bytes" => self.max_message_bytes.to_string(),
            "index.interval.bytes" => self.index_interval_bytes.to_string(),
            "file.delete.delay.ms" => self.file_delete_delay_ms.to_string(),
            "delete.retention.ms" => self.delete_retention_ms.to_string(),
            "min.compaction.lag.ms" => self.min_compaction_lag_ms.to_string(),
            "max.compaction.lag.ms" => self.max_compaction_lag_ms.to_string(),
            "min.cleanable.dirty.ratio" => fmt_double(self.min_cleanable_dirty_ratio),
            "cleanup.policy" => self.cleanup_policy.to_string(),
            "unclean.leader.election.enable" => self.unclean_leader_election_enable.to_string(),
            "min.insync.replicas" => self.min_insync_replicas.to_string(),
            "compression.type" => self.compression_type.clone(),
            "preallocate" => self.preallocate.to_string(),
            "message.format.version" => self.message_format_version.clone(),
            "message.timestamp.type" => self.message_timestamp_type.to_string(),
            "message.timestamp.difference.max.ms" => self.message_timestamp_difference_max_ms.to_string(),
            "message.downconversion.enable" => self.message_downconversion_enable.to_string(),
            "leader.replication.throttled.replicas" => self.leader_replication_throttled_replicas.clone(),
            "follower.replication.throttled.replicas" => self.follower_replication_throttled_replicas.clone(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_render_like_kafka() {
        let c = LogConfig::default();
        assert_eq!(c.value_of("segment.bytes").as_deref(), Some("1073741824"));
        assert_eq!(c.value_of("cleanup.policy").as_deref(), Some("delete"));
        assert_eq!(c.value_of("preallocate").as_deref(), Some("false"));
        assert_eq!(c.value_of("min.cleanable.dirty.ratio").as_deref(), Some("0.5"));
        assert_eq!(c.value_of("flush.ms").as_deref(), Some("9223372036854775807"));
        assert_eq!(c.value_of("message.timestamp.type").as_deref(), Some("CreateTime"));
        assert_eq!(c.value_of("nope"), None);
        for k in LogConfig::TOPIC_CONFIG_NAMES {
            assert!(c.value_of(k).is_some(), "{k}");
        }
    }

    #[test]
    fn overrides_apply_and_validate() {
        let c = LogConfig::default()
            .with_overrides(&map(&[
                ("segment.bytes", "1000"),
                ("cleanup.policy", "delete,compact"),
                ("message.timestamp.type", "LogAppendTime"),
                ("compression.type", "lz4"),
                ("leader.replication.throttled.replicas", "0:1,1:2"),
            ]))
            .unwrap();
        assert_eq!(c.segment_bytes, 1000);
        assert_eq!(c.cleanup_policy, CleanupPolicy::CompactDelete);
        assert_eq!(c.value_of("cleanup.policy").as_deref(), Some("compact,delete"));
        assert_eq!(c.message_timestamp_type, TimestampType::LogAppendTime);

        let bad = |k: &str, v: &str| match LogConfig::validate_overrides(&map(&[(k, v)])) {
            Err(StorageError::InvalidConfig { key, .. }) => assert_eq!(key, k),
            other => panic!("{k}={v}: {other:?}"),
        };
        bad("segment.bytes", "13");
        bad("segment.bytes", "abc");
        bad("min.insync.replicas", "0");
        bad("cleanup.policy", "remove");
        bad("compression.type", "brotli");
        bad("message.timestamp.type", "Now");
        bad("unknown.key", "1");
        bad("min.cleanable.dirty.ratio", "1.5");
        bad("preallocate", "yes");
        bad("follower.replication.throttled.replicas", "x");
        assert!(LogConfig::validate_overrides(&map(&[("retention.ms", "-1"), ("message.format.version", "2.8-IV1")])).is_ok());
        assert!(LogConfig::validate_overrides(&map(&[("min.compaction.lag.ms", "10"), ("max.compaction.lag.ms", "5")])).is_err());
    }
}
