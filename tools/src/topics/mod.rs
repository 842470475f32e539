//! `kafka-topics`: create, list, describe, alter and delete topics by writing ZooKeeper directly,
//! as Kafka 2.8's `TopicCommand` does with `--zookeeper`.
//!
//! * [`args`] — flags and Kafka's consistency checks (usage on stderr, exit 1 when wrong);
//! * [`assignment`] — `--replica-assignment` parsing and checks;
//! * [`overrides`] — `--config`/`--delete-config` parsing, validation and merging (shared with
//!   `kafka-configs`);
//! * [`describe`] — the exact `--describe` lines and report filters;
//! * [`command`] — the actions themselves against ZooKeeper.
//!
//! `--bootstrap-server` is parsed and checked like Kafka's, then refused: only the ZooKeeper
//! path is implemented so far.

pub mod args;
pub mod assignment;
pub mod command;
pub mod describe;
pub mod overrides;
pub mod usage;

use std::io::Write;
use std::time::Duration;

use zk_schema::KafkaZkClient;

use args::{parse_args, usage as topics_usage};
use usage::{ArgsExit, KAFKA_VERSION};

/// ZooKeeper session and connection timeouts of Kafka's admin tools (30 s each).
pub const ZK_TIMEOUT: Duration = Duration::from_secs(30);

/// Print a failed command the way Kafka's tool does (`Error while executing topic command : ...`
/// on stdout, where Kafka prints it) and mirror it on stderr, where Kafka logs the exception.
pub fn report_error(message: &str, out: &mut dyn Write, err: &mut dyn Write) {
    let text = format!("Error while executing topic command : {message}");
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
    let _ = writeln!(err, "{text}");
}

/// Handle an argument-checking outcome; returns the exit code.
pub fn report_args_exit(exit: ArgsExit, usage: &str, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match exit {
        ArgsExit::Usage(message) => {
            let _ = writeln!(err, "{message}");
            let _ = write!(err, "{usage}");
            1
        }
        ArgsExit::Fatal(message) => {
            let _ = writeln!(err, "{message}");
            1
        }
        ArgsExit::Version => {
            let _ = writeln!(out, "{KAFKA_VERSION}");
            0
        }
    }
}

/// Run a tool's async work on a single-threaded runtime.
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    Ok(runtime.block_on(future))
}

/// Open the tool's ZooKeeper session (chroot created if missing).
pub async fn connect(connect: &str) -> Result<KafkaZkClient, String> {
    KafkaZkClient::connect(connect, ZK_TIMEOUT, ZK_TIMEOUT).await.map_err(|e| e.to_string())
}

/// Close the session: dropping the last handle makes the session task send CloseSession, which
/// needs the runtime for a moment longer.
pub async fn close(zk: KafkaZkClient) {
    drop(zk);
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Run `kafka-topics` with `args` (program name excluded); returns the exit code.
pub fn run_with(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = match parse_args(args) {
        Ok(o) => o,
        Err(exit) => return report_args_exit(exit, &topics_usage(), out, err),
    };
    let Some(connect_string) = opts.zookeeper.clone() else {
        report_error("only --zookeeper is supported by this tool for now", out, err);
        return 1;
    };
    let outcome = block_on(async {
        let zk = connect(&connect_string).await?;
        let result = command::execute(&zk, &opts, &mut *out).await;
        close(zk).await;
        result.map_err(|e| e.0)
    })
    .and_then(|r| r);
    let _ = out.flush();
    match outcome {
        Ok(()) => 0,
        Err(message) => {
            report_error(&message, out, err);
            1
        }
    }
}

/// Entry point of the `kafka-topics` binary.
pub fn main_exit_code() -> i32 {
    crate::cli::main_exit_code(run_with)
}
