//! Options of `kafka-console-producer` and how they combine into producer settings:
//! an explicitly given option wins over `--producer-property`/`--producer.config`, which
//! win over the option's default (Kafka's "maybe merge" rule).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use wire::kafka_protocol::records::Compression;

use super::usage::{missing_required, parse_args, usage_error, valid_host_ports, UsageExit, KAFKA_VERSION};
use crate::client::producer::ProducerConfig;
use crate::client::props::{bool_prop, load_props_file, parse_key_value_args, Props};

/// Command-line options, named as in Kafka 2.8.
#[derive(Debug, Parser)]
#[command(
    name = "kafka-console-producer",
    about = "Read data from standard input and publish it to Kafka.",
    disable_version_flag = true,
    infer_long_args = true,
    args_override_self = true,
    allow_negative_numbers = true
)]
pub struct ProducerArgs {
    /// Broker(s) to bootstrap from, as HOST1:PORT1,HOST2:PORT2 (this or --broker-list is required).
    #[arg(long, value_name = "server to connect to")]
    pub bootstrap_server: Option<String>,
    /// Older spelling of --bootstrap-server (deprecated); --bootstrap-server wins when both are given.
    #[arg(long, value_name = "broker-list")]
    pub broker_list: Option<String>,
    /// Topic to write to (required).
    #[arg(long, value_name = "topic")]
    pub topic: Option<String>,
    /// Send each line as soon as it is read and wait for its acknowledgement.
    #[arg(long)]
    pub sync: bool,
    /// Codec for record batches: none, gzip, snappy, lz4 or zstd; the bare flag means gzip.
    #[arg(long, value_name = "compression-codec", num_args = 0..=1, default_missing_value = "gzip")]
    pub compression_codec: Option<String>,
    /// Batch size in bytes (overridden by --max-partition-memory-bytes).
    #[arg(long, value_name = "size")]
    pub batch_size: Option<i64>,
    /// Retries for a failed send before reporting it (default 3).
    #[arg(long, value_name = "Integer")]
    pub message_send_max_retries: Option<i64>,
    /// Pause before retrying and before refreshing metadata (default 100 ms).
    #[arg(long, value_name = "Integer")]
    pub retry_backoff_ms: Option<i64>,
    /// Linger in ms: how long a line may wait to fill a batch when not --sync (default 1000).
    #[arg(long, value_name = "timeout_ms")]
    pub timeout: Option<i64>,
    /// Acknowledgements to wait for: 0, 1 or all/-1 (default 1).
    #[arg(long, value_name = "request required acks")]
    pub request_required_acks: Option<String>,
    /// Produce request timeout in ms (default 1500).
    #[arg(long, value_name = "request timeout ms")]
    pub request_timeout_ms: Option<i64>,
    /// Metadata expiry (default 300000 ms); accepted for compatibility.
    #[arg(long, value_name = "metadata expiration interval")]
    pub metadata_expiry_ms: Option<i64>,
    /// How long to wait for metadata before failing a send (default 60000 ms).
    #[arg(long, value_name = "max block on send")]
    pub max_block_ms: Option<i64>,
    /// Producer buffer memory (default 33554432); accepted for compatibility.
    #[arg(long, value_name = "total memory in bytes")]
    pub max_memory_bytes: Option<i64>,
    /// Per-partition batch size in bytes (default 16384).
    #[arg(long, value_name = "memory in bytes per partition")]
    pub max_partition_memory_bytes: Option<i64>,
    /// Socket send buffer size (default 102400); accepted for compatibility.
    #[arg(long, value_name = "size")]
    pub socket_buffer_size: Option<i64>,
    /// Message reader class; only the default line reader is available.
    #[arg(long, value_name = "reader_class")]
    pub line_reader: Option<String>,
    /// Line reader setting: parse.key=true|false, key.separator=SEP, ignore.error=true|false (repeatable).
    #[arg(long, value_name = "prop")]
    pub property: Vec<String>,
    /// Producer setting as key=value (repeatable).
    #[arg(long, value_name = "producer_prop")]
    pub producer_property: Vec<String>,
    /// Properties file of producer settings; --producer-property entries override it.
    #[arg(long = "producer.config", value_name = "config file")]
    pub producer_config: Option<PathBuf>,
    /// Print the version and exit.
    #[arg(long)]
    pub version: bool,
}

/// How stdin lines become records (Kafka's LineMessageReader properties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderConfig {
    /// `parse.key`.
    pub parse_key: bool,
    /// `key.separator` (default TAB).
    pub key_separator: String,
    /// `ignore.error`: a line without separator becomes a keyless record.
    pub ignore_error: bool,
}

/// Everything the producer binary needs.
#[derive(Debug, Clone)]
pub struct ConsoleProducerSettings {
    /// Bootstrap servers.
    pub bootstrap: String,
    /// Topic to write to.
    pub topic: String,
    /// `--sync`.
    pub sync: bool,
    /// `client.id`.
    pub client_id: String,
    /// Producer settings.
    pub producer: ProducerConfig,
    /// Line reader settings.
    pub reader: ReaderConfig,
}

const INTRO: &str = "Read data from standard input and publish it to Kafka.";

/// Parse and validate the producer's arguments.
pub fn parse_producer_args(args: &[String]) -> Result<ConsoleProducerSettings, UsageExit> {
    let a: ProducerArgs = parse_args(args, INTRO)?;
    if a.version {
        return Err(UsageExit::Info(format!("{KAFKA_VERSION}\n")));
    }
    let topic = a
        .topic
        .clone()
        .ok_or_else(|| usage_error::<ProducerArgs>(&missing_required("topic")))?;
    let bootstrap = match (&a.bootstrap_server, &a.broker_list) {
        (Some(b), _) => b.clone(),
        (None, Some(list)) => {
            if !valid_host_ports(list) {
                return Err(usage_error::<ProducerArgs>(
                    "Please provide valid host:port like host1:9091,host2:9092\n ",
                ));
            }
            list.clone()
        }
        (None, None) => {
            return Err(usage_error::<ProducerArgs>(&missing_required("bootstrap-server")))
        }
    };
    let mut props: Props = match &a.producer_config {
        Some(path) => load_props_file(path).map_err(|e| UsageExit::Error(format!("{e}")))?,
        None => Props::new(),
    };
    props.extend(parse_key_value_args(&a.producer_property));
    let producer = producer_config(&a, &props).map_err(UsageExit::Error)?;
    let reader_props = parse_key_value_args(&a.property);
    let reader = ReaderConfig {
        parse_key: bool_prop(&reader_props, "parse.key", false),
        key_separator: reader_props
            .get("key.separator")
            .cloned()
            .unwrap_or_else(|| "\t".to_string()),
        ignore_error: bool_prop(&reader_props, "ignore.error", false),
    };
    if let Some(class) = &a.line_reader {
        if !class.ends_with("LineMessageReader") {
            return Err(UsageExit::Error(format!(
                "java.lang.ClassNotFoundException: {class} (only the default line reader is supported)"
            )));
        }
    }
    Ok(ConsoleProducerSettings {
        bootstrap,
        topic,
        sync: a.sync,
        client_id: props
            .get("client.id")
            .cloned()
            .unwrap_or_else(|| "console-producer".to_string()),
        producer,
        reader,
    })
}

fn producer_config(a: &ProducerArgs, props: &Props) -> Result<ProducerConfig, String> {
    // Explicit option > property > option default.
    let merged = |opt: Option<i64>, key: &str, default: i64| -> Result<i64, String> {
        match (opt, props.get(key)) {
            (Some(v), _) => Ok(v),
            (None, Some(p)) => p.trim().parse::<i64>().map_err(|_| invalid(p, key, "Not a number of type LONG")),
            (None, None) => Ok(default),
        }
    };
    let ms = |v: i64| Duration::from_millis(v.max(0) as u64);
    let acks_raw = match (&a.request_required_acks, props.get("acks")) {
        (Some(v), _) => v.clone(),
        (None, Some(p)) => p.clone(),
        (None, None) => "1".to_string(),
    };
    let acks = match acks_raw.trim() {
        "all" | "-1" => -1,
        "0" => 0,
        "1" => 1,
        other => return Err(invalid(other, "acks", "String must be one of: all, -1, 0, 1")),
    };
    let batch_size = match (a.max_partition_memory_bytes, a.batch_size) {
        (Some(v), _) | (None, Some(v)) => v,
        (None, None) => merged(None, "batch.size", 16384)?,
    };
    // compression.type always comes from --compression-codec (default none), as in Kafka.
    let codec = a.compression_codec.clone().unwrap_or_else(|| "none".to_string());
    let codec = if codec.is_empty() { "gzip".to_string() } else { codec };
    let compression = match codec.as_str() {
        "none" => Compression::None,
        "gzip" => Compression::Gzip,
        "snappy" => Compression::Snappy,
        "lz4" => Compression::Lz4,
        "zstd" => Compression::Zstd,
        other => {
            return Err(invalid(
                other,
                "compression.type",
                "String must be one of: none, gzip, snappy, lz4, zstd",
            ))
        }
    };
    let linger = merged(a.timeout, "linger.ms", 1000)?;
    let request_timeout = merged(a.request_timeout_ms, "request.timeout.ms", 1500)?;
    Ok(ProducerConfig {
        acks,
        linger: ms(linger),
        batch_size: batch_size.max(1) as usize,
        retries: merged(a.message_send_max_retries, "retries", 3)?.clamp(0, u32::MAX as i64) as u32,
        retry_backoff: ms(merged(a.retry_backoff_ms, "retry.backoff.ms", 100)?),
        request_timeout: ms(request_timeout),
        max_block: ms(merged(a.max_block_ms, "max.block.ms", 60_000)?),
        delivery_timeout: ms(merged(None, "delivery.timeout.ms", 120_000)?.max(linger + request_timeout)),
        max_request_size: merged(None, "max.request.size", 1_048_576)?.max(1) as usize,
        compression,
    })
}

fn invalid(value: &str, key: &str, why: &str) -> String {
    format!("org.apache.kafka.common.config.ConfigException: Invalid value {value} for configuration {key}: {why}")
}

#[cfg(test)]
#[path = "producer_args_tests.rs"]
mod tests;
