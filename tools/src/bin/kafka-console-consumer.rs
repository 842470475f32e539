//! `kafka-console-consumer`: prints records of a topic (or of topics matching a pattern)
//! to stdout in Kafka 2.8's default format, and reports the count on exit.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tools::client::cluster::Cluster;
use tools::client::consumer::{Consumer, Subscription};
use tools::client::error::ClientToolError;
use tools::client::group::{GroupConfig, GroupMember};
use tools::client::group_consumer::{Coordination, GroupConsumer, GroupConsumerConfig};
use tools::client::group_legacy;
use tools::client::records::ConsumedRecord;
use tools::client::log::{log, Level};
use tools::console::consumer_args::{parse_consumer_args, ConsoleConsumerSettings};

/// Logger name Kafka's console consumer logs under.
const LOGGER: &str = "kafka.tools.ConsoleConsumer$";

fn main() -> ExitCode {
    init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match parse_consumer_args(&args) {
        Ok(s) => s,
        Err(exit) => return ExitCode::from(exit.report() as u8),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("failed to start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(run(settings));
    ExitCode::from(code as u8)
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KAFKA_RS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Why consumption ended.
enum Stop {
    Done,
    Signal(i32),
}

/// Where records come from: the partitions the group assigned, or direct assignment.
enum Source {
    /// `--partition`, or no user-given group: every partition (or the one asked for) is read
    /// by this process and nothing is committed. Kafka 2.8 would join a throwaway
    /// `console-consumer-<n>` group with auto-commit off; as the only member of that group it
    /// gets every partition and commits nothing, which is what direct assignment does without
    /// leaving a dead group behind in the coordinator.
    Direct(Box<Consumer>),
    /// A user-given group: partitions come from the group (or, with `--zookeeper`, from the
    /// legacy offsets in ZooKeeper) and consumed positions are committed.
    Group(Box<GroupConsumer>),
}

impl Source {
    async fn poll(&mut self, timeout: Duration, max: usize) -> Result<Vec<(String, ConsumedRecord)>, ClientToolError> {
        match self {
            Source::Direct(c) => c.poll(timeout).await,
            Source::Group(g) => g.poll(timeout, max).await,
        }
    }

    async fn close(&mut self) {
        if let Source::Group(g) = self {
            g.close().await;
        }
    }
}

async fn run(mut s: ConsoleConsumerSettings) -> i32 {
    if let Some(zk) = s.zookeeper.clone() {
        eprintln!(
            "Note: --zookeeper is the legacy (pre-2.0) consumer path, which Kafka 2.8's console consumer no longer accepts; brokers are read from ZooKeeper /brokers/ids{} — prefer --bootstrap-server.",
            if s.group_given { " and the group's offsets are kept in ZooKeeper (/consumers/<group>/offsets) through OffsetCommit/OffsetFetch v0" } else { "" }
        );
        if s.bootstrap.is_empty() {
            match group_legacy::bootstrap_from_zookeeper(&zk).await {
                Ok(b) => s.bootstrap = b,
                Err(e) => {
                    log(Level::Error, &format!("Unknown error when running consumer: {e}"), LOGGER);
                    return 1;
                }
            }
        }
    }
    let (Ok(mut sigint), Ok(mut sigterm)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        eprintln!("failed to install signal handlers");
        return 1;
    };
    let mut cluster = Cluster::new(&s.bootstrap, &s.client_id, Duration::from_secs(30) + s.consumer.max_wait);
    cluster.set_log_prefix(format!(
        "Consumer clientId={}, groupId={}",
        s.client_id, s.group_id
    ));
    let consumer = Consumer::new(cluster, s.consumer.clone(), s.subscription.clone());
    let direct = !s.group_given || matches!(s.subscription, Subscription::Partition { .. });
    let mut source = if direct {
        Source::Direct(Box::new(consumer))
    } else {
        let coordination = if s.zookeeper.is_some() {
            Coordination::Legacy { group_id: s.group_id.clone() }
        } else {
            let mut cfg = GroupConfig::new(&s.group_id, &s.client_id);
            cfg.session_timeout = s.group.session_timeout;
            cfg.heartbeat_interval = s.group.heartbeat_interval;
            cfg.rebalance_timeout = s.group.max_poll_interval;
            cfg.assignors = s.group.assignors.clone();
            cfg.retry_backoff = s.consumer.retry_backoff;
            Coordination::Member(Box::new(GroupMember::new(cfg)))
        };
        let cfg = GroupConsumerConfig {
            auto_offset_reset: s.consumer.auto_offset_reset,
            auto_commit: s.group.auto_commit,
            auto_commit_interval: s.group.auto_commit_interval,
            exclude_internal: s.consumer.exclude_internal,
            ..GroupConsumerConfig::default()
        };
        Source::Group(Box::new(GroupConsumer::new(consumer, coordination, s.subscription.clone(), cfg)))
    };
    let mut count: i64 = 0;
    let max = s.max_messages as i64;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let stop = 'outer: loop {
        if !(count < max || max == -1) {
            break Stop::Done;
        }
        let wait = s.timeout.unwrap_or(Duration::from_secs(3600));
        let polled = tokio::select! {
            r = source.poll(wait, if max == -1 { 500 } else { (max - count).clamp(1, 500) as usize }) => r,
            _ = sigint.recv() => break Stop::Signal(130),
            _ = sigterm.recv() => break Stop::Signal(143),
        };
        let records = match polled {
            Ok(r) if r.is_empty() && s.timeout.is_some() => {
                log(Level::Error, "Error processing message, terminating consumer process: ", LOGGER);
                eprintln!("org.apache.kafka.common.errors.TimeoutException");
                break Stop::Done;
            }
            Ok(r) => r,
            Err(e) => {
                log(Level::Error, "Error processing message, terminating consumer process: ", LOGGER);
                eprintln!("{e}");
                break Stop::Done;
            }
        };
        for (_topic, record) in records {
            if !(count < max || max == -1) {
                break;
            }
            count += 1;
            if let Err(e) = s.formatter.write(&record, &mut out) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    eprintln!("Unable to write to standard out, closing consumer.");
                    break 'outer Stop::Done;
                }
                if s.skip_message_on_error {
                    log(Level::Error, &format!("Error processing message, skipping this message: {e}"), LOGGER);
                } else {
                    log(Level::Error, &format!("Unknown error when running consumer: {e}"), LOGGER);
                    break 'outer Stop::Done;
                }
            }
        }
        if out.flush().is_err() {
            eprintln!("Unable to write to standard out, closing consumer.");
            break Stop::Done;
        }
    };
    let _ = out.flush();
    drop(out);
    source.close().await;
    eprintln!("Processed a total of {count} messages");
    if s.systest_events {
        println!("shutdown_complete");
    }
    match stop {
        Stop::Done => 0,
        Stop::Signal(code) => code,
    }
}
