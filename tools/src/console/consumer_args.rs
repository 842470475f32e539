//! Options of `kafka-console-consumer`, their validation (with Kafka's messages) and how
//! they become consumer settings.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use super::usage::{missing_required, parse_args, usage_error, UsageExit, KAFKA_VERSION};
use crate::client::consumer::{ConsumerConfig, OffsetSpec, Subscription};
use crate::client::group_assignor::Assignor;
use crate::client::formatter::MessageFormatter;
use crate::client::props::{load_props_file, parse_key_value_args, Props};

/// Command-line options, named as in Kafka 2.8.
#[derive(Debug, Parser)]
#[command(
    name = "kafka-console-consumer",
    about = "Read records from Kafka and write them to standard output.",
    disable_version_flag = true,
    infer_long_args = true,
    args_override_self = true,
    allow_negative_numbers = true
)]
pub struct ConsumerArgs {
    /// Broker(s) to bootstrap from, as HOST1:PORT1,HOST2:PORT2 (required unless --zookeeper).
    #[arg(long, value_name = "server to connect to")]
    pub bootstrap_server: Option<String>,
    /// Legacy (pre-2.0) ZooKeeper connect string: brokers are found under /brokers/ids and
    /// --group offsets are kept in ZooKeeper (OffsetCommit/OffsetFetch v0).
    #[arg(long, value_name = "urls")]
    pub zookeeper: Option<String>,
    /// Topic to read from.
    #[arg(long, value_name = "topic")]
    pub topic: Option<String>,
    /// Regular expression selecting the topics to read from.
    #[arg(long, value_name = "whitelist")]
    pub whitelist: Option<String>,
    /// Read only this partition; starts at the end unless --offset is given.
    #[arg(long, value_name = "partition")]
    pub partition: Option<i32>,
    /// Start offset: a non-negative number, 'earliest' or 'latest' (default latest).
    #[arg(long, value_name = "consume offset")]
    pub offset: Option<String>,
    /// Start at the earliest offset when no committed position exists.
    #[arg(long)]
    pub from_beginning: bool,
    /// Consumer group id.
    #[arg(long, value_name = "consumer group id")]
    pub group: Option<String>,
    /// Stop after this many records.
    #[arg(long, value_name = "num_messages")]
    pub max_messages: Option<i32>,
    /// Stop when no record arrives for this many ms.
    #[arg(long, value_name = "timeout_ms")]
    pub timeout_ms: Option<i32>,
    /// Skip records that fail to format instead of stopping.
    #[arg(long)]
    pub skip_message_on_error: bool,
    /// Formatter class; only the default formatter is available.
    #[arg(long, value_name = "class")]
    pub formatter: Option<String>,
    /// Formatter setting (print.key, print.value, print.timestamp, print.partition,
    /// print.offset, print.headers, key.separator, line.separator, headers.separator,
    /// null.literal), repeatable.
    #[arg(long, value_name = "prop")]
    pub property: Vec<String>,
    /// Consumer setting as key=value (repeatable).
    #[arg(long, value_name = "consumer_prop")]
    pub consumer_property: Vec<String>,
    /// Properties file of consumer settings; --consumer-property entries override it.
    #[arg(long = "consumer.config", value_name = "config file")]
    pub consumer_config: Option<PathBuf>,
    /// Key deserializer class (accepted; keys are printed as bytes).
    #[arg(long, value_name = "deserializer for key")]
    pub key_deserializer: Option<String>,
    /// Value deserializer class (accepted; values are printed as bytes).
    #[arg(long, value_name = "deserializer for values")]
    pub value_deserializer: Option<String>,
    /// read_uncommitted (default) or read_committed.
    #[arg(long, value_name = "isolation level")]
    pub isolation_level: Option<String>,
    /// Print lifecycle events (system tests).
    #[arg(long)]
    pub enable_systest_events: bool,
    /// Print the version and exit.
    #[arg(long)]
    pub version: bool,
}

/// Everything the consumer binary needs.
#[derive(Debug, Clone)]
pub struct ConsoleConsumerSettings {
    /// Bootstrap servers.
    pub bootstrap: String,
    /// What to read.
    pub subscription: Subscription,
    /// Consumer settings.
    pub consumer: ConsumerConfig,
    /// Output format.
    pub formatter: MessageFormatter,
    /// `--max-messages` (-1 = unlimited).
    pub max_messages: i32,
    /// `--timeout-ms`, if given and non-negative.
    pub timeout: Option<Duration>,
    /// Group id (explicit or generated).
    pub group_id: String,
    /// Whether the group id was given by the user.
    pub group_given: bool,
    /// Group membership settings (used when the group id was given).
    pub group: GroupSettings,
    /// `--zookeeper`: the legacy path (brokers from ZooKeeper, v0 offsets).
    pub zookeeper: Option<String>,
    /// `client.id`.
    pub client_id: String,
    /// `--skip-message-on-error`.
    pub skip_message_on_error: bool,
    /// `--enable-systest-events`.
    pub systest_events: bool,
}

/// Consumer-group settings of the console consumer (Kafka consumer configs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSettings {
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// `max.poll.interval.ms`.
    pub max_poll_interval: Duration,
    /// `partition.assignment.strategy` protocol names, in preference order.
    pub assignors: Vec<Assignor>,
    /// `enable.auto.commit`.
    pub auto_commit: bool,
    /// `auto.commit.interval.ms`.
    pub auto_commit_interval: Duration,
}

const INTRO: &str =
    "The console consumer is a tool that reads data from Kafka and outputs it to standard output.";

/// Parse and validate the consumer's arguments.
pub fn parse_consumer_args(args: &[String]) -> Result<ConsoleConsumerSettings, UsageExit> {
    let a: ConsumerArgs = parse_args(args, INTRO)?;
    if a.version {
        return Err(UsageExit::Info(format!("{KAFKA_VERSION}\n")));
    }
    let die = |m: &str| usage_error::<ConsumerArgs>(m);
    let mut file_props: Props = match &a.consumer_config {
        Some(path) => load_props_file(path).map_err(|e| UsageExit::Error(format!("{e}")))?,
        None => Props::new(),
    };
    let extra = parse_key_value_args(&a.consumer_property);
    let formatter_props = parse_key_value_args(&a.property);
    if let Some(class) = &a.formatter {
        if !class.ends_with("DefaultMessageFormatter") {
            return Err(UsageExit::Error(format!(
                "java.lang.ClassNotFoundException: {class} (only the default formatter is supported)"
            )));
        }
    }
    if a.topic.is_some() == a.whitelist.is_some() {
        return Err(die("Exactly one of whitelist/topic is required."));
    }
    if a.partition.is_some() {
        if a.topic.is_none() {
            return Err(die("The topic is required when partition is specified."));
        }
        if a.from_beginning && a.offset.is_some() {
            return Err(die("Options from-beginning and offset cannot be specified together."));
        }
    } else if a.offset.is_some() {
        return Err(die("The partition is required when offset is specified."));
    }
    let start = match a.offset.as_deref().map(str::to_ascii_lowercase) {
        Some(o) if o == "earliest" => OffsetSpec::Earliest,
        Some(o) if o == "latest" => OffsetSpec::Latest,
        Some(o) => match o.parse::<i64>() {
            Ok(n) if n >= 0 => OffsetSpec::Offset(n),
            _ => {
                return Err(die(&format!(
                    "The provided offset value '{}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long.",
                    a.offset.as_deref().unwrap_or_default()
                )))
            }
        },
        None if a.from_beginning => OffsetSpec::Earliest,
        None => OffsetSpec::Latest,
    };
    // Kafka 2.8 only takes --bootstrap-server; --zookeeper maps to the legacy path, whose
    // brokers are looked up in ZooKeeper when running.
    let bootstrap = match (&a.bootstrap_server, &a.zookeeper) {
        (Some(b), _) => b.clone(),
        (None, Some(_)) => String::new(),
        (None, None) => return Err(die(&missing_required("bootstrap-server"))),
    };

    let mut ids: Vec<String> = Vec::new();
    for id in [a.group.clone(), file_props.get("group.id").cloned(), extra.get("group.id").cloned()]
        .into_iter()
        .flatten()
    {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > 1 {
        return Err(die(&format!(
            "The group ids provided in different places (directly using '--group', via '--consumer-property', or via '--consumer.config') do not match. Detected group ids: {}",
            ids.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(", ")
        )));
    }
    let group_given = !ids.is_empty();
    let group_id = ids
        .pop()
        .unwrap_or_else(|| format!("console-consumer-{}", rand::random::<u32>() % 100_000));
    if group_given && a.partition.is_some() {
        return Err(die("Options group and partition cannot be specified together."));
    }
    file_props.extend(extra);
    let props = file_props;

    let auto_reset = match props.get("auto.offset.reset") {
        Some(v) => {
            if a.from_beginning && v != "earliest" {
                return Err(UsageExit::Error(format!(
                    "Can't simultaneously specify --from-beginning and 'auto.offset.reset={v}', please remove one option"
                )));
            }
            match v.as_str() {
                "earliest" => Some(OffsetSpec::Earliest),
                "latest" => Some(OffsetSpec::Latest),
                "none" => None,
                other => return Err(UsageExit::Error(config_error(other, "auto.offset.reset", "String must be one of: latest, earliest, none"))),
            }
        }
        None if a.from_beginning => Some(OffsetSpec::Earliest),
        None => Some(OffsetSpec::Latest),
    };
    let isolation = a
        .isolation_level
        .clone()
        .or_else(|| props.get("isolation.level").cloned())
        .unwrap_or_else(|| "read_uncommitted".to_string());
    let isolation_level = match isolation.as_str() {
        "read_uncommitted" => 0,
        "read_committed" => 1,
        other => return Err(UsageExit::Error(config_error(other, "isolation.level", "String must be one of: read_committed, read_uncommitted"))),
    };
    let num = |key: &str, default: i64| -> Result<i64, UsageExit> {
        match props.get(key) {
            Some(v) => v.trim().parse::<i64>().map_err(|_| {
                UsageExit::Error(config_error(v, key, "Not a number of type LONG"))
            }),
            None => Ok(default),
        }
    };
    let ms = |v: i64| Duration::from_millis(v.max(0) as u64);
    let consumer = ConsumerConfig {
        isolation_level,
        max_wait: ms(num("fetch.max.wait.ms", 500)?),
        min_bytes: num("fetch.min.bytes", 1)?.clamp(0, i32::MAX as i64) as i32,
        max_bytes: num("fetch.max.bytes", 52_428_800)?.clamp(0, i32::MAX as i64) as i32,
        partition_max_bytes: num("max.partition.fetch.bytes", 1_048_576)?.clamp(0, i32::MAX as i64) as i32,
        auto_offset_reset: auto_reset,
        allow_auto_create: props
            .get("allow.auto.create.topics")
            .map(|v| v.trim().eq_ignore_ascii_case("true"))
            .unwrap_or(true),
        exclude_internal: props
            .get("exclude.internal.topics")
            .map(|v| v.trim().eq_ignore_ascii_case("true"))
            .unwrap_or(true),
        retry_backoff: ms(num("retry.backoff.ms", 100)?),
        metadata_max_age: ms(num("metadata.max.age.ms", 300_000)?),
    };
    let assignors = match props.get("partition.assignment.strategy") {
        None => vec![Assignor::Range],
        Some(list) => {
            let mut out = Vec::new();
            for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                match Assignor::from_name(name) {
                    Some(a) => out.push(a),
                    None => return Err(UsageExit::Error(format!("org.apache.kafka.common.KafkaException: java.lang.ClassNotFoundException: {name} (only range and roundrobin are supported)"))),
                }
            }
            out
        }
    };
    let group = GroupSettings {
        session_timeout: ms(num("session.timeout.ms", 10_000)?),
        heartbeat_interval: ms(num("heartbeat.interval.ms", 3_000)?),
        max_poll_interval: ms(num("max.poll.interval.ms", 300_000)?),
        assignors,
        auto_commit: props
            .get("enable.auto.commit")
            .map(|v| v.trim().eq_ignore_ascii_case("true"))
            .unwrap_or(true),
        auto_commit_interval: ms(num("auto.commit.interval.ms", 5_000)?),
    };
    let subscription = match (&a.topic, a.partition, &a.whitelist) {
        (Some(t), Some(p), _) => Subscription::Partition {
            topic: t.clone(),
            partition: p,
            start,
        },
        (Some(t), None, _) => Subscription::Topic(t.clone()),
        (None, _, Some(w)) => {
            let re = regex::Regex::new(&format!("^(?:{w})$"))
                .map_err(|e| UsageExit::Error(format!("java.util.regex.PatternSyntaxException: {e}")))?;
            Subscription::Pattern(re)
        }
        (None, _, None) => return Err(die("Exactly one of whitelist/topic is required.")),
    };
    let client_id = props
        .get("client.id")
        .cloned()
        .unwrap_or_else(|| format!("consumer-{group_id}-1"));
    Ok(ConsoleConsumerSettings {
        bootstrap,
        subscription,
        consumer,
        formatter: MessageFormatter::from_props(&formatter_props),
        max_messages: a.max_messages.unwrap_or(-1),
        timeout: a
            .timeout_ms
            .filter(|t| *t >= 0)
            .map(|t| Duration::from_millis(t as u64)),
        group_id,
        group_given,
        group,
        zookeeper: a.zookeeper.clone(),
        client_id,
        skip_message_on_error: a.skip_message_on_error,
        systest_events: a.enable_systest_events,
    })
}

fn config_error(value: &str, key: &str, why: &str) -> String {
    format!("org.apache.kafka.common.config.ConfigException: Invalid value {value} for configuration {key}: {why}")
}

#[cfg(test)]
#[path = "consumer_args_tests.rs"]
mod tests;
