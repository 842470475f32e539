//! The broker configuration keys this implementation knows, with Kafka 2.8's types, defaults and
//! validators. The table drives parsing, validation and DescribeConfigs for broker resources.

use super::ConfigError;

/// Value type of a key (Kafka's `ConfigDef.Type`); the DescribeConfigs v3+ `config_type` codes follow
/// the same order (BOOLEAN=1 ... PASSWORD=8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl ConfigType {
    /// DescribeConfigs `ConfigType` code (KIP-569).
    pub fn describe_code(self) -> i8 {
        match self {
            ConfigType::Boolean => 1,
            ConfigType::String => 2,
            ConfigType::Int => 3,
            ConfigType::Short => 4,
            ConfigType::Long => 5,
            ConfigType::Double => 6,
            ConfigType::List => 7,
            ConfigType::Class => 8,
            ConfigType::Password => 9,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }
}

/// Extra validation beyond the type.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    None,
    AtLeast(i64),
    Between(i64, i64),
    AtLeastF(f64),
    BetweenF(f64, f64),
    OneOf(&'static [&'static str]),
    ListOf(&'static [&'static str]),
}

/// One known key.
#[derive(Debug, Clone, Copy)]
pub struct ConfigDef {
    pub name: &'static str,
    pub ty: ConfigType,
    /// Default as Kafka renders it; `None` = no default (null).
    pub default: Option<&'static str>,
    pub check: Check,
}

const fn d(name: &'static str, ty: ConfigType, default: Option<&'static str>, check: Check) -> ConfigDef {
    ConfigDef { name, ty, default, check }
}

use Check::*;
use ConfigType::*;

const LONG_MAX: &str = "9223372036854775807";
const INT_MAX: &str = "2147483647";
const COMPRESSION: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

/// Every broker key the project knows, in Kafka's documentation order (roughly).
pub static DEFS: &[ConfigDef] = &[
    // ZooKeeper
    d("zookeeper.connect", String, None, None),
    d("zookeeper.session.timeout.ms", Int, Some("18000"), None),
    d("zookeeper.connection.timeout.ms", Int, None, None),
    d("zookeeper.max.in.flight.requests", Int, Some("10"), AtLeast(1)),
    d("zookeeper.set.acl", Boolean, Some("false"), None),
    // General
    d("broker.id", Int, Some("-1"), None),
    d("broker.id.generation.enable", Boolean, Some("true"), None),
    d("reserved.broker.max.id", Int, Some("1000"), AtLeast(0)),
    d("broker.rack", String, None, None),
    d("message.max.bytes", Int, Some("1048588"), AtLeast(0)),
    d("num.network.threads", Int, Some("3"), AtLeast(1)),
    d("num.io.threads", Int, Some("8"), AtLeast(1)),
    d("background.threads", Int, Some("10"), AtLeast(1)),
    d("queued.max.requests", Int, Some("500"), AtLeast(1)),
    d("queued.max.request.bytes", Long, Some("-1"), None),
    d("request.timeout.ms", Int, Some("30000"), None),
    // Socket server
    d("listeners", String, None, None),
    d("advertised.listeners", String, None, None),
    d("listener.security.protocol.map", String, Some("PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"), None),
    d("control.plane.listener.name", String, None, None),
    d("host.name", String, Some(""), None),
    d("port", Int, Some("9092"), None),
    d("advertised.host.name", String, None, None),
    d("advertised.port", Int, None, None),
    d("socket.send.buffer.bytes", Int, Some("102400"), None),
    d("socket.receive.buffer.bytes", Int, Some("102400"), None),
    d("socket.request.max.bytes", Int, Some("104857600"), AtLeast(1)),
    d("max.connections.per.ip", Int, Some(INT_MAX), AtLeast(0)),
    d("max.connections", Int, Some(INT_MAX), AtLeast(0)),
    d("connections.max.idle.ms", Long, Some("600000"), None),
    // Logs
    d("log.dir", String, Some("/tmp/kafka-logs"), None),
    d("log.dirs", String, None, None),
    d("num.partitions", Int, Some("1"), AtLeast(1)),
    d("log.segment.bytes", Int, Some("1073741824"), AtLeast(14)),
    d("log.roll.ms", Long, None, None),
    d("log.roll.hours", Int, Some("168"), AtLeast(1)),
    d("log.roll.jitter.ms", Long, None, None),
    d("log.roll.jitter.hours", Int, Some("0"), AtLeast(0)),
    d("log.retention.ms", Long, None, None),
    d("log.retention.minutes", Int, None, None),
    d("log.retention.hours", Int, Some("168"), None),
    d("log.retention.bytes", Long, Some("-1"), None),
    d("log.retention.check.interval.ms", Long, Some("300000"), AtLeast(1)),
    d("log.cleanup.policy", List, Some("delete"), ListOf(&["compact", "delete"])),
    d("log.cleaner.enable", Boolean, Some("true"), None),
    d("log.cleaner.threads", Int, Some("1"), AtLeast(0)),
    d("log.cleaner.io.max.bytes.per.second", Double, Some("1.7976931348623157E308"), None),
    d("log.cleaner.dedupe.buffer.size", Long, Some("134217728"), None),
    d("log.cleaner.io.buffer.size", Int, Some("524288"), AtLeast(0)),
    d("log.cleaner.io.buffer.load.factor", Double, Some("0.9"), None),
    d("log.cleaner.backoff.ms", Long, Some("15000"), AtLeast(0)),
    d("log.cleaner.min.cleanable.ratio", Double, Some("0.5"), BetweenF(0.0, 1.0)),
    d("log.cleaner.delete.retention.ms", Long, Some("86400000"), AtLeast(0)),
    d("log.cleaner.min.compaction.lag.ms", Long, Some("0"), AtLeast(0)),
    d("log.cleaner.max.compaction.lag.ms", Long, Some(LONG_MAX), AtLeast(1)),
    d("log.index.size.max.bytes", Int, Some("10485760"), AtLeast(4)),
    d("log.index.interval.bytes", Int, Some("4096"), AtLeast(0)),
    d("log.flush.interval.messages", Long, Some(LONG_MAX), AtLeast(1)),
    d("log.segment.delete.delay.ms", Long, Some("60000"), AtLeast(0)),
    d("log.flush.scheduler.interval.ms", Long, Some(LONG_MAX), None),
    d("log.flush.interval.ms", Long, None, None),
    d("log.flush.offset.checkpoint.interval.ms", Int, Some("60000"), AtLeast(0)),
    d("log.flush.start.offset.checkpoint.interval.ms", Int, Some("60000"), AtLeast(0)),
    d("log.preallocate", Boolean, Some("false"), None),
    d("num.recovery.threads.per.data.dir", Int, Some("1"), AtLeast(1)),
    d("auto.create.topics.enable", Boolean, Some("true"), None),
    d("min.insync.replicas", Int, Some("1"), AtLeast(1)),
    d("log.message.format.version", String, Some("2.8-IV1"), None),
    d("log.message.timestamp.type", String, Some("CreateTime"), OneOf(&["CreateTime", "LogAppendTime"])),
    d("log.message.timestamp.difference.max.ms", Long, Some(LONG_MAX), AtLeast(0)),
    d("log.message.downconversion.enable", Boolean, Some("true"), None),
    d("compression.type", String, Some("producer"), OneOf(COMPRESSION)),
    // Replication
    d("controller.socket.timeout.ms", Int, Some("30000"), None),
    d("default.replication.factor", Int, Some("1"), None),
    d("replica.lag.time.max.ms", Long, Some("30000"), None),
    d("replica.socket.timeout.ms", Int, Some("30000"), None),
    d("replica.socket.receive.buffer.bytes", Int, Some("65536"), None),
    d("replica.fetch.max.bytes", Int, Some("1048576"), AtLeast(0)),
    d("replica.fetch.wait.max.ms", Int, Some("500"), None),
    d("replica.fetch.backoff.ms", Int, Some("1000"), AtLeast(0)),
    d("replica.fetch.min.bytes", Int, Some("1"), None),
    d("replica.fetch.response.max.bytes", Int, Some("10485760"), AtLeast(0)),
    d("num.replica.fetchers", Int, Some("1"), None),
    d("replica.high.watermark.checkpoint.interval.ms", Long, Some("5000"), None),
    d("fetch.purgatory.purge.interval.requests", Int, Some("1000"), None),
    d("producer.purgatory.purge.interval.requests", Int, Some("1000"), None),
    d("delete.records.purgatory.purge.interval.requests", Int, Some("1"), None),
    d("auto.leader.rebalance.enable", Boolean, Some("true"), None),
    d("leader.imbalance.per.broker.percentage", Int, Some("10"), None),
    d("leader.imbalance.check.interval.seconds", Long, Some("300"), AtLeast(1)),
    d("unclean.leader.election.enable", Boolean, Some("false"), None),
    d("security.inter.broker.protocol", String, None, None),
    d("inter.broker.listener.name", String, None, None),
    d("inter.broker.protocol.version", String, Some("2.8-IV1"), None),
    // Controlled shutdown
    d("controlled.shutdown.max.retries", Int, Some("3"), None),
    d("controlled.shutdown.retry.backoff.ms", Long, Some("5000"), None),
    d("controlled.shutdown.enable", Boolean, Some("true"), None),
    // Group coordinator
    d("group.min.session.timeout.ms", Int, Some("6000"), None),
    d("group.max.session.timeout.ms", Int, Some("1800000"), None),
    d("group.initial.rebalance.delay.ms", Int, Some("3000"), None),
    d("group.max.size", Int, Some(INT_MAX), AtLeast(1)),
    // Offsets
    d("offset.metadata.max.bytes", Int, Some("4096"), None),
    d("offsets.load.buffer.size", Int, Some("5242880"), AtLeast(1)),
    d("offsets.topic.replication.factor", Short, Some("3"), AtLeast(1)),
    d("offsets.topic.num.partitions", Int, Some("50"), AtLeast(1)),
    d("offsets.topic.segment.bytes", Int, Some("104857600"), AtLeast(1)),
    d("offsets.topic.compression.codec", Int, Some("0"), None),
    d("offsets.retention.minutes", Int, Some("10080"), AtLeast(1)),
    d("offsets.retention.check.interval.ms", Long, Some("600000"), AtLeast(1)),
    d("offsets.commit.timeout.ms", Int, Some("5000"), AtLeast(1)),
    d("offsets.commit.required.acks", Short, Some("-1"), None),
    // Transactions
    d("transactional.id.expiration.ms", Int, Some("604800000"), AtLeast(1)),
    d("transaction.max.timeout.ms", Int, Some("900000"), AtLeast(1)),
    d("transaction.state.log.load.buffer.size", Int, Some("5242880"), AtLeast(1)),
    d("transaction.state.log.replication.factor", Short, Some("3"), AtLeast(1)),
    d("transaction.state.log.num.partitions", Int, Some("50"), AtLeast(1)),
    d("transaction.state.log.segment.bytes", Int, Some("104857600"), AtLeast(1)),
    d("transaction.state.log.min.isr", Int, Some("2"), AtLeast(1)),
    d("transaction.abort.timed.out.transaction.cleanup.interval.ms", Int, Some("10000"), AtLeast(1)),
    d("transaction.remove.expired.transaction.cleanup.interval.ms", Int, Some("3600000"), AtLeast(1)),
    // Fetch sessions, misc
    d("max.incremental.fetch.session.cache.slots", Int, Some("1000"), AtLeast(0)),
    d("fetch.max.bytes", Int, Some("57671680"), AtLeast(1024)),
    d("delete.topic.enable", Boolean, Some("true"), None),
];

/// The definition of `name`, if known.
pub fn find(name: &str) -> Option<&'static ConfigDef> {
    DEFS.iter().find(|d| d.name == name)
}

/// Check a raw value against a definition; returns the trimmed value Kafka would keep.
pub fn validate(def: &ConfigDef, raw: &str) -> Result<String, ConfigError> {
    let v = raw.trim();
    let not_a = || ConfigError::invalid(def.name, raw, &format!("Not a number of type {}", def.ty.name()));
    let num: Option<i64> = match def.ty {
        Int => Some(v.parse::<i32>().map_err(|_| not_a())? as i64),
        Short => Some(v.parse::<i16>().map_err(|_| not_a())? as i64),
        Long => Some(v.parse::<i64>().map_err(|_| not_a())?),
        _ => Option::None,
    };
    let float: Option<f64> = match def.ty {
        Double => Some(v.parse::<f64>().map_err(|_| not_a())?),
        _ => Option::None,
    };
    if def.ty == Boolean && !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
        return Err(ConfigError::invalid(def.name, raw, "Expected value to be either true or false"));
    }
    match def.check {
        Check::None => {}
        AtLeast(min) => {
            if num.is_some_and(|n| n < min) {
                return Err(ConfigError::invalid(def.name, raw, &format!("Value must be at least {min}")));
            }
        }
        Between(min, max) => {
            if num.is_some_and(|n| n < min) {
                return Err(ConfigError::invalid(def.name, raw, &format!("Value must be at least {min}")));
            }
            if num.is_some_and(|n| n > max) {
                return Err(ConfigError::invalid(def.name, raw, &format!("Value must be no more than {max}")));
            }
        }
        AtLeastF(min) => {
            if float.is_some_and(|n| n < min) {
                return Err(ConfigError::invalid(def.name, raw, &format!("Value must be at least {min}")));
            }
        }
        BetweenF(min, max) => {
            if float.is_some_and(|n| n < min) {
                return Err(ConfigError::invalid(def.name, raw, &format!("Value must be at least {min:?}")));
            }
            if float.is_some_and(|n| n > max) {
                return Err(ConfigError::invalid(def.name, raw, &format!("Value must be no more than {max:?}")));
            }
        }
        OneOf(allowed) => {
            let ok = if def.name == "compression.type" {
                allowed.contains(&v.to_ascii_lowercase().as_str())
            } else {
                allowed.contains(&v)
            };
            if !ok {
                return Err(ConfigError::invalid(def.name, raw, &format!("String must be one of: {}", allowed.join(", "))));
            }
        }
        ListOf(allowed) => {
            for item in v.split(',').map(str::trim) {
                if !allowed.contains(&item) {
                    return Err(ConfigError::invalid(
                        def.name,
                        raw,
                        &format!("String must be one of: {}", allowed.join(", ")),
                    ));
                }
            }
        }
    }
    Ok(v.to_string())
}

/// Broker keys that supply the default of a topic config, most specific first
/// (Kafka's `LogConfig.TopicConfigSynonyms` plus the broker's own fallbacks, e.g. ms → minutes → hours).
pub fn topic_config_synonyms(topic_key: &str) -> &'static [&'static str] {
    match topic_key {
        "segment.bytes" => &["log.segment.bytes"],
        "segment.ms" => &["log.roll.ms", "log.roll.hours"],
        "segment.jitter.ms" => &["log.roll.jitter.ms", "log.roll.jitter.hours"],
        "segment.index.bytes" => &["log.index.size.max.bytes"],
        "flush.messages" => &["log.flush.interval.messages"],
        "flush.ms" => &["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
        "retention.bytes" => &["log.retention.bytes"],
        "retention.ms" => &["log.retention.ms", "log.retention.minutes", "log.retention.hours"],
        "max.message.bytes" => &["message.max.bytes"],
        "index.interval.bytes" => &["log.index.interval.bytes"],
        "file.delete.delay.ms" => &["log.segment.delete.delay.ms"],
        "delete.retention.ms" => &["log.cleaner.delete.retention.ms"],
        "min.compaction.lag.ms" => &["log.cleaner.min.compaction.lag.ms"],
        "max.compaction.lag.ms" => &["log.cleaner.max.compaction.lag.ms"],
        "min.cleanable.dirty.ratio" => &["log.cleaner.min.cleanable.ratio"],
        "cleanup.policy" => &["log.cleanup.policy"],
        "unclean.leader.election.enable" => &["unclean.leader.election.enable"],
        "min.insync.replicas" => &["min.insync.replicas"],
        "compression.type" => &["compression.type"],
        "preallocate" => &["log.preallocate"],
        "message.format.version" => &["log.message.format.version"],
        "message.timestamp.type" => &["log.message.timestamp.type"],
        "message.timestamp.difference.max.ms" => &["log.message.timestamp.difference.max.ms"],
        "message.downconversion.enable" => &["log.message.downconversion.enable"],
        _ => &[],
    }
}

/// Type of a topic config key, for DescribeConfigs v3+.
pub fn topic_config_type(topic_key: &str) -> ConfigType {
    match topic_key {
        "segment.bytes" | "segment.index.bytes" | "max.message.bytes" | "index.interval.bytes"
        | "min.insync.replicas" => Int,
        "min.cleanable.dirty.ratio" => Double,
        "cleanup.policy" | "leader.replication.throttled.replicas" | "follower.replication.throttled.replicas" => List,
        "unclean.leader.election.enable" | "preallocate" | "message.downconversion.enable" => Boolean,
        "compression.type" | "message.format.version" | "message.timestamp.type" => String,
        _ => Long,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_unique_names_and_valid_defaults() {
        let mut names: Vec<&str> = DEFS.iter().map(|d| d.name).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len(), "duplicate key in DEFS");
        for def in DEFS {
            if let Some(v) = def.default {
                validate(def, v).unwrap_or_else(|e| panic!("default of {}: {e}", def.name));
            }
        }
    }

    #[test]
    fn messages_match_kafka() {
        let e = validate(find("num.partitions").unwrap(), "abc").unwrap_err();
        assert_eq!(e.to_string(), "Invalid value abc for configuration num.partitions: Not a number of type INT");
        let e = validate(find("num.partitions").unwrap(), "0").unwrap_err();
        assert_eq!(e.to_string(), "Invalid value 0 for configuration num.partitions: Value must be at least 1");
        let e = validate(find("delete.topic.enable").unwrap(), "yes").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value yes for configuration delete.topic.enable: Expected value to be either true or false"
        );
        assert!(validate(find("log.cleanup.policy").unwrap(), "compact, delete").is_ok());
        assert!(validate(find("log.cleanup.policy").unwrap(), "remove").is_err());
        assert!(validate(find("offsets.topic.replication.factor").unwrap(), "40000").is_err());
        assert_eq!(validate(find("num.io.threads").unwrap(), " 4 ").unwrap(), "4");
    }
}
