//! `kafka-console-consumer`: prints records of a topic (or of topics matching a pattern)
//! to stdout in Kafka 2.8's default format, and reports the count on exit.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tools::client::cluster::Cluster;
use tools::client::consumer::Consumer;
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

async fn run(s: ConsoleConsumerSettings) -> i32 {
    if s.group_given {
        eprintln!(
            "Note: consumer groups are not supported yet; group '{}' is ignored and all partitions are read by direct assignment.",
            s.group_id
        );
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
    let mut consumer = Consumer::new(cluster, s.consumer.clone(), s.subscription.clone());
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
            r = consumer.poll(wait) => r,
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
    eprintln!("Processed a total of {count} messages");
    if s.systest_events {
        println!("shutdown_complete");
    }
    match stop {
        Stop::Done => 0,
        Stop::Signal(code) => code,
    }
}
