//! `kafka-console-producer`: reads stdin line by line and produces each line as a record,
//! with Kafka 2.8's options, prompts, partitioning and error output.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Instant;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tools::client::cluster::Cluster;
use tools::client::producer::{Producer, SendFailure};
use tools::console::line_reader::{parse_line, strip_line_end};
use tools::console::producer_args::{parse_producer_args, ConsoleProducerSettings};

fn main() -> ExitCode {
    init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match parse_producer_args(&args) {
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
    // The stdin reader thread may still be blocked in read(); exit without joining it.
    std::process::exit(code)
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KAFKA_RS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Lines from stdin, read on a plain thread because stdin reads block. Each request for a
/// line prints the `>` prompt first, as Kafka's line reader does.
fn spawn_stdin_reader() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel::<String>(1024);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        loop {
            {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(b">");
                let _ = out.flush();
            }
            let mut buf = Vec::new();
            match input.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = strip_line_end(String::from_utf8_lossy(&buf).into_owned());
                    if tx.blocking_send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

async fn run(s: ConsoleProducerSettings) -> i32 {
    let mut cluster = Cluster::new(&s.bootstrap, &s.client_id, s.producer.request_timeout + std::time::Duration::from_secs(1));
    cluster.set_log_prefix(format!("Producer clientId={}", s.client_id));
    let mut producer = Producer::new(cluster, s.producer.clone());
    let (Ok(mut sigint), Ok(mut sigterm)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        eprintln!("failed to install signal handlers");
        return 1;
    };
    let mut lines = spawn_stdin_reader();
    let mut line_number: u64 = 0;
    let mut exit_code = 0;
    loop {
        let deadline = producer.next_deadline();
        tokio::select! {
            line = lines.recv() => {
                let Some(line) = line else { break };
                line_number += 1;
                let (key, value) = match parse_line(&line, &s.reader, line_number) {
                    Ok(kv) => kv,
                    Err(e) => {
                        eprintln!("{e}");
                        exit_code = 1;
                        break;
                    }
                };
                let sent = producer.send(&s.topic, key, Some(value)).await;
                if s.sync {
                    let mut failures: Vec<SendFailure> = sent.err().into_iter().collect();
                    failures.extend(producer.flush().await);
                    if let Some(f) = failures.first() {
                        eprintln!("java.util.concurrent.ExecutionException: {}", f.error);
                        exit_code = 1;
                        break;
                    }
                } else {
                    if let Err(f) = sent {
                        f.log();
                    }
                    if producer.flush_due() {
                        report(producer.flush().await);
                    }
                }
            }
            _ = sleep_until(deadline), if deadline.is_some() => {
                report(producer.flush().await);
            }
            _ = sigint.recv() => { exit_code = 130; break; }
            _ = sigterm.recv() => { exit_code = 143; break; }
        }
    }
    // Closing the producer sends whatever is still queued.
    report(producer.flush().await);
    exit_code
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending::<()>().await,
    }
}

fn report(failures: Vec<SendFailure>) {
    for f in failures {
        f.log();
    }
}
