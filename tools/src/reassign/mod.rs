//! `kafka-reassign-partitions`: propose, start and check partition reassignments through
//! ZooKeeper (`/admin/reassign_partitions`), as Kafka 2.8's `ReassignPartitionsCommand` does with
//! `--zookeeper`.
//!
//! * [`args`] — flags and Kafka's checks (usage on stderr, exit 1);
//! * [`json`] — the tool's JSON files and Kafka's rendering of assignments;
//! * [`command`] — `--generate`, `--execute` (with `--throttle`) and `--verify` against ZooKeeper.
//!
//! * [`admin`] — the `--bootstrap-server` path (`--list`, `--cancel`, `--additional` too) over
//!   ListPartitionReassignments/AlterPartitionReassignments; throttles and log-dir moves are
//!   refused there.

pub mod admin;
pub mod args;
pub mod command;
pub mod json;

use std::io::Write;

use crate::topics::{block_on, close, connect, report_args_exit};
use args::{parse_args, usage, ReassignAction};
use command::ReassignError;

/// What Kafka 2.8 prints first when run with `--zookeeper`.
pub const ZK_DEPRECATION: &str = "Warning: --zookeeper is deprecated, and will be removed in a future version of Kafka.";

/// Run with `args` (program name excluded); returns the exit code.
pub fn run_with(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = match parse_args(args) {
        Ok(o) => o,
        Err(exit) => return report_args_exit(exit, &usage(), out, err),
    };
    let outcome: Result<(), ReassignError> = match (&opts.bootstrap_server, &opts.zookeeper) {
        (Some(bootstrap), _) => run_admin(&opts, bootstrap, out, err),
        (None, None) => Err(ReassignError::Failed("Please specify --bootstrap-server".into())),
        (None, Some(zk_connect)) => {
            let _ = writeln!(out, "{ZK_DEPRECATION}");
            block_on(async {
                let zk = connect(zk_connect).await.map_err(ReassignError::Failed)?;
                let result = match opts.action {
                    ReassignAction::Generate => command::generate(
                        &zk,
                        opts.topics_to_move_json_file.as_deref().unwrap_or_default(),
                        opts.broker_list.as_deref().unwrap_or_default(),
                        opts.disable_rack_aware,
                        &mut *out,
                    )
                    .await
                    .map(|_| ()),
                    ReassignAction::Execute => command::execute(
                        &zk,
                        opts.reassignment_json_file.as_deref().unwrap_or_default(),
                        opts.throttle,
                        &mut *out,
                    )
                    .await,
                    ReassignAction::Verify => command::verify(
                        &zk,
                        opts.reassignment_json_file.as_deref().unwrap_or_default(),
                        opts.preserve_throttles,
                        &mut *out,
                    )
                    .await
                    .map(|_| ()),
                    ReassignAction::Cancel | ReassignAction::List => {
                        Err(ReassignError::Failed("Unsupported action.".into()))
                    }
                };
                close(zk).await;
                result
            })
            .unwrap_or_else(|e| Err(ReassignError::Failed(e)))
        }
    };
    let code = match outcome {
        Ok(()) => 0,
        Err(ReassignError::Terse(m)) => {
            let _ = writeln!(out, "{m}");
            1
        }
        Err(ReassignError::Failed(m)) => {
            let _ = writeln!(out, "Error: {m}");
            let _ = writeln!(err, "Error: {m}");
            1
        }
    };
    let _ = out.flush();
    code
}

fn run_admin(
    opts: &args::ReassignOptions,
    bootstrap: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), ReassignError> {
    if opts.throttle >= 0 || opts.log_dir_throttle >= 0 {
        return Err(ReassignError::Failed(
            "--throttle and --replica-alter-log-dirs-throttle are not supported with --bootstrap-server by this implementation yet; use --zookeeper for --throttle".into(),
        ));
    }
    let file = opts.reassignment_json_file.as_deref().unwrap_or_default();
    block_on(async {
        match opts.action {
            ReassignAction::Generate => {
                admin::generate(
                    bootstrap,
                    opts.topics_to_move_json_file.as_deref().unwrap_or_default(),
                    opts.broker_list.as_deref().unwrap_or_default(),
                    opts.disable_rack_aware,
                    &mut *out,
                )
                .await
            }
            ReassignAction::Execute => admin::execute(bootstrap, file, opts.additional, &mut *out).await,
            ReassignAction::Verify => admin::verify(bootstrap, file, &mut *err, &mut *out).await.map(|_| ()),
            ReassignAction::List => admin::list(bootstrap, &mut *out).await,
            ReassignAction::Cancel => admin::cancel(bootstrap, file, &mut *out).await,
        }
    })
    .unwrap_or_else(|e| Err(ReassignError::Failed(e)))
}

/// Entry point of the binary.
pub fn main_exit_code() -> i32 {
    crate::cli::main_exit_code(run_with)
}
