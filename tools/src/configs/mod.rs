//! `kafka-configs`: describe and alter dynamic config overrides of topics, clients, users,
//! brokers and IPs stored in ZooKeeper, as Kafka 2.8's `ConfigCommand` does with `--zookeeper`.
//!
//! * [`args`] — flags and Kafka's checks;
//! * [`entity`] — entities, `<default>`, `<user, client>` pairs, name sanitizing, display;
//! * [`values`] — `--add-config` syntax and quota/broker value checks;
//! * [`command`] — describe/alter against ZooKeeper.
//!
//! Not implemented yet: `--bootstrap-server` (refused), SCRAM credential hashing and password
//! encryption for broker configs (both refused with a message).

pub mod args;
pub mod command;
pub mod entity;
pub mod values;

use std::io::Write;

use crate::topics::usage::KAFKA_VERSION;
use crate::topics::{block_on, close, connect};

/// How a `kafka-configs` run fails, mirroring how Kafka's tool reports each kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigsError {
    /// Bad arguments: message and usage table on stderr, exit 1.
    Usage(String),
    /// `--version`: print it on stdout, exit 0.
    Version,
    /// An illegal argument or invalid config (Kafka's `IllegalArgumentException`,
    /// `InvalidConfigurationException`): the message alone on stderr, exit 1.
    Illegal(String),
    /// Anything else: `Error while executing config command with args '...'` and the exception
    /// line on stderr, exit 1.
    Unexpected {
        /// Java exception class Kafka would show.
        class: &'static str,
        /// Its message.
        message: String,
    },
}

/// Print an error the way Kafka's `ConfigCommand.main` does; returns the exit code.
pub fn report(error: ConfigsError, args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match error {
        ConfigsError::Usage(message) => {
            let _ = writeln!(err, "{message}");
            let _ = write!(err, "{}", args::usage());
            1
        }
        ConfigsError::Version => {
            let _ = writeln!(out, "{KAFKA_VERSION}");
            0
        }
        ConfigsError::Illegal(message) => {
            let _ = writeln!(err, "{message}");
            1
        }
        ConfigsError::Unexpected { class, message } => {
            let _ = writeln!(err, "Error while executing config command with args '{}'", args.join(" "));
            let _ = writeln!(err, "{class}: {message}");
            1
        }
    }
}

/// Run `kafka-configs` with `args` (program name excluded); returns the exit code.
pub fn run_with(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = match args::parse_args(args) {
        Ok(o) => o,
        Err(e) => return report(e, args, out, err),
    };
    let Some(connect_string) = opts.zookeeper.clone() else {
        return report(
            ConfigsError::Illegal("only --zookeeper is supported by this tool for now".into()),
            args,
            out,
            err,
        );
    };
    let _ = writeln!(out, "Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.");
    let _ = writeln!(out, "Use --bootstrap-server instead to specify a broker to connect to.");
    let outcome = block_on(async {
        let zk = connect(&connect_string).await.map_err(|message| ConfigsError::Unexpected {
            class: "kafka.zookeeper.ZooKeeperClientTimeoutException",
            message,
        })?;
        let result = command::execute(&zk, &opts, &mut *out).await;
        close(zk).await;
        result
    })
    .unwrap_or_else(|message| Err(ConfigsError::Unexpected { class: "java.lang.RuntimeException", message }));
    let _ = out.flush();
    match outcome {
        Ok(()) => 0,
        Err(e) => report(e, args, out, err),
    }
}

/// Entry point of the `kafka-configs` binary.
pub fn main_exit_code() -> i32 {
    crate::cli::main_exit_code(run_with)
}
