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

use Check as C;
use ConfigType as T;

const LONG_MAX: &str = "9223372036854775807";
const INT_MAX: &str = "2147483647";
const COMPRESSION: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

/// Every broker key the project knows, in Kafka's documentation order (roughly).
pub static DEFS: &[ConfigDef] = &[
    // ZooKeeper
    d("zookeeper.connect", T::String, None, C::None),
    d("zookeeper.session.timeout.ms", T::Int, Some("18000"), C::None),
    d("zookeeper.connection.timeout.ms", T::Int, None, C::None),
    d("zookeeper.max.in.flight.requests", T::Int, Some("10"), C::AtLeast(1)),
    d("zookeeper.set.acl", T::Boolean, Some("false"), C::None),
    // General
    d("broker.id", T::Int, Some("-1"), C::None),
    d("broker.id.generation.enable", T::Boolean, Some("true"), C::None),
    d("reserved.broker.max.id", T::Int, Some("1000"), C::AtLeast(0)),
    d("broker.rack", T::String, None, C::None),
    d("message.max.bytes", T::Int, Some("1048588"), C::AtLeast(0)),
    d("num.network.threads", T::Int, Some("3"), C::AtLeast(1)),
    d("num.io.threads", T::Int, Some("8"), C::AtLeast(1)),
    d("background.threads", T::Int, Some("10"), C::AtLeast(1)),
    d("queued.max.requests", T::Int, Some("500"), C::AtLeast(1)),
    d("queued.max.request.bytes", T::Long, Some("-1"), C::None),
    d("request.timeout.ms", T::Int, Some("30000"), C::None),
    // Socket server
    d("listeners", T::String, None, C::None),
    d("advertised.listeners", T::String, None, C::None),
    d("listener.security.protocol.map", T::String, Some("PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"), C::None),
    d("control.plane.listener.name", T::String, None, C::None),
    d("host.name", T::String, Some(""), C::None),
    d("port", T::Int, Some("9092"), C::None),
    d("advertised.host.name", T::String, None, C::None),
    d("advertised.port", T::Int, None, C::None),
    d("socket.send.buffer.bytes", T::Int, Some("102400"), C::None),
    d("socket.receive.buffer.bytes", T::Int, Some("102400"), C::None),
    d("socket.request.max.bytes", T::Int, Some("104857600"), C::AtLeast(1)),
    d("max.connections.per.ip", T::Int, Some(INT_MAX), C::AtLeast(0)),
    d("max.connections", T::Int, Some(INT_MAX), C::AtLeast(0)),
    d("connections.max.idle.ms", T::Long, Some("600000"), C::None),
    // Logs
    d("log.dir", T::String, Some("/tmp/kafka-logs"), C::None),
    d("log.dirs", T::String, None, C::None),
    d("num.partitions", T::Int, Some("1"), C::AtLeast(1)),
    d("log.segment.bytes", T::Int, Some("1073741824"), C::AtLeast(14)),
    d("log.roll.ms", T::Long, None, C::None),
    d("log.roll.hours", T::Int, Some("168"), C::AtLeast(1)),
    d("log.roll.jitter.ms", T::Long, None, C::None),
    d("log.roll.jitter.hours", T::Int, Some("0"), C::AtLeast(0)),
    d("log.retention.ms", T::Long, None, C::None),
    d("log.retention.minutes", T::Int, None, C::None),
    d("log.retention.hours", T::Int, Some("168"), C::None),
    d("log.retention.bytes", T::Long, Some("-1"), C::None),
    d("log.retention.check.interval.ms", T::Long, Some("300000"), C::AtLeast(1)),
    d("log.cleanup.policy", T::List, Some("delete"), C::ListOf(&["compact", "delete"])),
    d("log.cleaner.enable", T::Boolean, Some("true"), C::None),
    d("log.cleaner.threads", T::Int, Some("1"), C::AtLeast(0)),
    d("log.cleaner.io.max.bytes.per.second", T::Double, Some("1.7976931348623157E308"), C::None),
    d("log.cleaner.dedupe.buffer.size", T::Long, Some("134217728"), C::None),
    d("log.cleaner.io.buffer.size", T::Int, Some("524288"), C::AtLeast(0)),
    d("log.cleaner.io.buffer.load.factor", T::Double, Some("0.9"), C::None),
    d("log.cleaner.backoff.ms", T::Long, Some("15000"), C::AtLeast(0)),
    d("log.cleaner.min.cleanable.ratio", T::Double, Some("0.5"), C::BetweenF(0.0, 1.0)),
    d("log.cleaner.delete.retention.ms", T::Long, Some("86400000"), C::AtLeast(0)),
    d("log.cleaner.min.compaction.lag.ms", T::Long, Some("0"), C::AtLeast(0)),
    d("log.cleaner.max.compaction.lag.ms", T::Long, Some(LONG_MAX), C::AtLeast(1)),
    d("log.index.size.max.bytes", T::Int, Some("10485760"), C::AtLeast(4)),
    d("log.index.interval.bytes", T::Int, Some("4096"), C::AtLeast(0)),
    d("log.flush.interval.messages", T::Long, Some(LONG_MAX), C::AtLeast(1)),
    d("log.segment.delete.delay.ms", T::Long, Some("60000"), C::AtLeast(0)),
    d("log.flush.scheduler.interval.ms", T::Long, Some(LONG_MAX), C::None),
    d("log.flush.interval.ms", T::Long, None, C::None),
    d("log.flush.offset.checkpoint.interval.ms", T::Int, Some("60000"), C::AtLeast(0)),
    d("log.flush.start.offset.checkpoint.interval.ms", T::Int, Some("60000"), C::AtLeast(0)),
    d("log.preallocate", T::Boolean, Some("false"), C::None),
    d("num.recovery.threads.per.data.dir", T::Int, Some("1"), C::AtLeast(1)),
    d("auto.create.topics.enable", T::Boolean, Some("true"), C::None),
    d("min.insync.replicas", T::Int, Some("1"), C::AtLeast(1)),
    d("log.message.format.version", T::String, Some("2.8-IV1"), C::None),
    d("log.message.timestamp.type", T::String, Some("CreateTime"), C::OneOf(&["CreateTime", "LogAppendTime"])),
    d("log.message.timestamp.difference.max.ms", T::Long, Some(LONG_MAX), C::AtLeast(0)),
    d("log.message.downconversion.enable", T::Boolean, Some("true"), C::None),
    d("compression.type", T::String, Some("producer"), C::OneOf(COMPRESSION)),
    // Replication
    d("controller.socket.timeout.ms", T::Int, Some("30000"), C::None),
    d("default.replication.factor", T::Int, Some("1"), C::None),
    d("replica.lag.time.max.ms", T::Long, Some("30000"), C::None),
    d("replica.socket.timeout.ms", T::Int, Some("30000"), C::None),
    d("replica.socket.receive.buffer.bytes", T::Int, Some("65536"), C::None),
    d("replica.fetch.max.bytes", T::Int, Some("1048576"), C::AtLeast(0)),
    d("replica.fetch.wait.max.ms", T::Int, Some("500"), C::None),
    d("replica.fetch.backoff.ms", T::Int, Some("1000"), C::AtLeast(0)),
    d("replica.fetch.min.bytes", T::Int, Some("1"), C::None),
    d("replica.fetch.response.max.bytes", T::Int, Some("10485760"), C::AtLeast(0)),
    d("num.replica.fetchers", T::Int, Some("1"), C::None),
    d("replica.high.watermark.checkpoint.interval.ms", T::Long, Some("5000"), C::None),
    d("fetch.purgatory.purge.interval.requests", T::Int, Some("1000"), C::None),
    d("producer.purgatory.purge.interval.requests", T::Int, Some("1000"), C::None),
    d("delete.records.purgatory.purge.interval.requests", T::Int, Some("1"), C::None),
    d("auto.leader.rebalance.enable", T::Boolean, Some("true"), C::None),
    d("leader.imbalance.per.broker.percentage", T::Int, Some("10"), C::None),
    d("leader.imbalance.check.interval.seconds", T::Long, Some("300"), C::AtLeast(1)),
    d("unclean.leader.election.enable", T::Boolean, Some("false"), C::None),
    d("security.inter.broker.protocol", T::String, None, C::None),
    d("inter.broker.listener.name", T::String, None, C::None),
    d("inter.broker.protocol.version", T::String, Some("2.8-IV1"), C::None),
    // Controlled shutdown
    d("controlled.shutdown.max.retries", T::Int, Some("3"), C::None),
    d("controlled.shutdown.retry.backoff.ms", T::Long, Some("5000"), C::None),
    d("controlled.shutdown.enable", T::Boolean, Some("true"), C::None),
    // Group coordinator
    d("group.min.session.timeout.ms", T::Int, Some("6000"), C::None),
    d("group.max.session.timeout.ms", T::Int, Some("1800000"), C::None),
    d("group.initial.rebalance.delay.ms", T::Int, Some("3000"), C::None),
    d("group.max.size", T::Int, Some(INT_MAX), C::AtLeast(1)),
    // Offsets
    d("offset.metadata.max.bytes", T::Int, Some("4096"), C::None),
    d("offsets.load.buffer.size", T::Int, Some("5242880"), C::AtLeast(1)),
    d("offsets.topic.replication.factor", T::Short, Some("3"), C::AtLeast(1)),
    d("offsets.topic.num.partitions", T::Int, Some("50"), C::AtLeast(1)),
    d("offsets.topic.segment.bytes", T::Int, Some("104857600"), C::AtLeast(1)),
    d("offsets.topic.compression.codec", T::Int, Some("0"), C::None),
    d("offsets.retention.minutes", T::Int, Some("10080"), C::AtLeast(1)),
    d("offsets.retention.check.interval.ms", T::Long, Some("600000"), C::AtLeast(1)),
    d("offsets.commit.timeout.ms", T::Int, Some("5000"), C::AtLeast(1)),
    d("offsets.commit.required.acks", T::Short, Some("-1"), C::None),
    // Transactions
    d("transactional.id.expiration.ms", T::Int, Some("604800000"), C::AtLeast(1)),
    d("transaction.max.timeout.ms", T::Int, Some("900000"), C::AtLeast(1)),
    d("transaction.state.log.load.buffer.size", T::Int, Some("5242880"), C::AtLeast(1)),
    d("transaction.state.log.replication.factor", T::Short, Some("3"), C::AtLeast(1)),
    d("transaction.state.log.num.partitions", T::Int, Some("50"), C::AtLeast(1)),
    d("transaction.state.log.segment.bytes", T::Int, Some("104857600"), C::AtLeast(1)),
    d("transaction.state.log.min.isr", T::Int, Some("2"), C::AtLeast(1)),
    d("transaction.abort.timed.out.transaction.cleanup.interval.ms", T::Int, Some("10000"), C::AtLeast(1)),
    d("transaction.remove.expired.transaction.cleanup.interval.ms", T::Int, Some("3600000"), C::AtLeast(1)),
    // Fetch sessions, misc
    d("max.incremental.fetch.session.cache.slots", T::Int, Some("1000"), C::AtLeast(0)),
    d("fetch.max.bytes", T::Int, Some("57671680"), C::AtLeast(1024)),
    d("delete.topic.enable", T::Boolean, Some("true"), C::None),
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
        T::Int => Some(v.parse::<i32>().map_err(|_| not_a())? as i64),
        T::Short => Some(v.parse::<i16>().map_err(|_| not_a())? as i64),
        T::Long => Some(v.parse::<i64>().map_err(|_| not_a())?),
        _ => Option::None,
    };
    let float: Option<f64> = match def.ty {
        T::Double => Some(v.parse::<f64>().map_err(|_| not_a())?),
        _ => Option::None,
    };
    if def.ty == T::Boolean && !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
        return Err(ConfigError::invalid(def.name, raw, "Expected value to be either true or false"));
    }
    match def.check {
        Check::None => {}
        C::AtLeast(min) => {
            if num.is_some_and(|n| n < min) {
                return Err(ConfigError::invalid(def.name, raw, &format!("Value must be at least {min}")));
            }
        }
        C::Between(min, max) => {
            if num.is_some_and(|n| n < min) {
                return Err(ConfigError::invalid(def.name, raw, &format!("Value must be at least {min}")));
            }
            if num.is_some_and(|n| n > max) {
                return Err(ConfigError::invalid(def.name, raw, &format!("Value must be no more than {max}")));
            }
        }
        C::AtLeastF(min) => {
            if float.is_some_and(|n| n < min) {
                return Err(ConfigError::invalid(def.name, raw, &format!("Value must be at least {min}")));
            }
        }
        C::BetweenF(min, max) => {
            if float.is_some_and(|n| n < min) {
                return Err(ConfigError::invalid(def.name, raw, &format!("Value must be at least {min:?}")));
            }
            if float.is_some_and(|n| n > max) {
                return Err(ConfigError::invalid(def.name, raw, &format!("Value must be no more than {max:?}")));
            }
        }
        C::OneOf(allowed) => {
            let ok = if def.name == "compression.type" {
                allowed.contains(&v.to_ascii_lowercase().as_str())
            } else {
                allowed.contains(&v)
            };
            if !ok {
                return Err(ConfigError::invalid(def.name, raw, &format!("String must be one of: {}", allowed.join(", "))));
            }
        }
        C::ListOf(allowed) => {
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
        | "min.insync.replicas" => T::Int,
        "min.cleanable.dirty.ratio" => T::Double,
        "cleanup.policy" | "leader.replication.throttled.replicas" | "follower.replication.throttled.replicas" => T::List,
        "unclean.leader.election.enable" | "preallocate" | "message.downconversion.enable" => T::Boolean,
        "compression.type" | "message.format.version" | "message.timestamp.type" => T::String,
        _ => T::Long,
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
