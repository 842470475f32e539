//! `kafka-consumer-groups`: list, describe, delete consumer groups and reset or delete their
//! committed offsets through the group coordinator, as Kafka 2.8's `ConsumerGroupCommand`
//! (bootstrap-server only).
//!
//! * [`args`] — options and Kafka's checks (usage on stderr, exit 1);
//! * [`reset`] — reset-offset planning, datetime/duration parsing, CSV plans (pure);
//! * [`output`] — the tables and messages (pure);
//! * [`command`] — the actions over [`crate::client::group_admin`].
//!
//! Like Kafka 2.8, failures found while running (unknown group, active group on reset,
//! coordinator timeouts) are printed as `Error: ...` on stdout and the exit status stays 0;
//! only argument problems exit 1.

pub mod args;
pub mod command;
pub mod output;
pub mod reset;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::client::group_admin::GroupAdmin;
use crate::client::props::load_props_file;
use crate::topics::{block_on, report_args_exit};
use args::{parse_args, usage, GroupAction, GroupOptions};
use command::CommandError;

/// Run with `args` (program name excluded); returns the exit code.
pub fn run_with(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = match parse_args(args) {
        Ok(o) => o,
        Err(exit) => return report_args_exit(exit, &usage(), out, err),
    };
    for w in &opts.warnings {
        let _ = writeln!(err, "{w}");
    }
    let outcome = match block_on(run(&opts, &mut *out, &mut *err)) {
        Ok(r) => r,
        Err(e) => Err(CommandError::Failed(e)),
    };
    let code = match outcome {
        Ok(()) => 0,
        Err(CommandError::Usage(m)) => {
            let _ = writeln!(err, "{m}");
            let _ = write!(err, "{}", usage());
            1
        }
        Err(CommandError::Failed(m)) => {
            output::print_error(
                out,
                &format!("Executing consumer group command failed due to {m}"),
            );
            let _ = writeln!(err, "{m}");
            0
        }
    };
    let _ = out.flush();
    code
}

async fn run(
    opts: &GroupOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CommandError> {
    if let Some(path) = &opts.command_config {
        load_props_file(Path::new(path)).map_err(|e| CommandError::Failed(e.to_string()))?;
    }
    let mut admin = GroupAdmin::new(
        &opts.bootstrap_server,
        Duration::from_millis(opts.timeout_ms.max(0) as u64),
    );
    match &opts.action {
        GroupAction::List { states } => command::list(&mut admin, states, out).await,
        GroupAction::Describe(view) => command::describe(&mut admin, opts, *view, out, err).await,
        GroupAction::Delete => command::delete(&mut admin, opts, out).await,
        GroupAction::DeleteOffsets => command::delete_offsets(&mut admin, opts, out).await,
        GroupAction::ResetOffsets(reset) => {
            let plan = command::reset_offsets(&mut admin, opts, reset, out).await?;
            if reset.export {
                let _ = writeln!(out, "{}", reset::export_csv(&plan, opts.groups.len() == 1));
            } else {
                output::print_offsets_to_reset(&plan, out);
            }
            Ok(())
        }
    }
}

/// Entry point of the binary.
pub fn main_exit_code() -> i32 {
    crate::cli::main_exit_code(run_with)
}
