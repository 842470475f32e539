//! `kafka-server <server.properties> [--override key=value]...`
//!
//! Starts one ZooKeeper-mode broker and runs it until SIGTERM or SIGINT, then shuts it down
//! gracefully (exit 0). Bad arguments, a bad configuration or a failed startup print one clear line
//! and exit 1. Logs go to stdout as `[timestamp] LEVEL message (module)`; the level filter comes
//! from `KAFKA_LOG_LEVEL` or `RUST_LOG` (default `info`).

use std::fmt;

use broker::config::{parse_args, KafkaConfig};
use broker::server::KafkaServer;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

const USAGE: &str = "USAGE: kafka-server server.properties [--override property=value]*";

/// Kafka's log4j pattern `[%d] %p %m (%c)%n`.
struct KafkaFormat;

/// `yyyy-MM-dd HH:mm:ss,SSS` (UTC) from the system clock.
fn timestamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as i64;
    let millis = now.subsec_millis();
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02},{millis:03}",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

impl<S, N> FormatEvent<S, N> for KafkaFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        write!(writer, "[{}] {} ", timestamp(), meta.level())?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer, " ({})", meta.target())
    }
}

fn init_logging() {
    let filter = std::env::var("KAFKA_LOG_LEVEL")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "info".to_string());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).event_format(KafkaFormat).with_writer(std::io::stdout).init();
}

async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot listen for SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    let mut int = match signal(SignalKind::interrupt()) {
        Ok(s) => s,
        Err(_) => {
            term.recv().await;
            return "SIGTERM";
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, overrides) = match parse_args(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("{USAGE}");
            std::process::exit(1);
        }
    };
    init_logging();
    let config = match KafkaConfig::load(&path, &overrides) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            std::process::exit(1);
        }
    };
    for key in config.unknown_keys() {
        tracing::warn!("The configuration '{key}' was supplied but isn't a known config.");
    }
    raise_open_file_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("kafka-broker").build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async move {
        let mut server = match KafkaServer::startup(config).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("Fatal error during KafkaServer startup. Prepare to shutdown: {e}");
                return 1;
            }
        };
        let sig = wait_for_signal().await;
        tracing::info!("Received {sig}; shutting down");
        server.shutdown().await;
        0
    });
    // Background tasks (ZooKeeper session, log manager threads) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    std::process::exit(code);
}

/// A broker holds one open file per log segment plus one per connection: raise the soft limit on
/// open files to the hard limit (what Kafka's service units do with `LimitNOFILE`), so thousands of
/// partitions don't hit "Too many open files" on a default shell limit.
fn raise_open_file_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => tracing::info!("raised the open-file limit from {soft} to {hard}"),
            Err(e) => tracing::warn!("could not raise the open-file limit from {soft}: {e}"),
        },
        Ok(_) => {}
        Err(e) => tracing::warn!("could not read the open-file limit: {e}"),
    }
}
