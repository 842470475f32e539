//! Command-line plumbing shared by the admin tools (`kafka-topics`, `kafka-configs`,
//! `kafka-reassign-partitions`, `kafka-leader-election`, `kafka-preferred-replica-election`):
//! the clap settings that make clap tokenize like joptsimple, the argument shapes they all use,
//! and the `main` of each binary.

use std::io::Write;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

/// A clap command for the tool `name`: arguments come without the program name, and
/// `--help`/`--version` are ordinary flags the tool answers itself; unambiguous prefixes of
/// long options are accepted, as joptsimple does.
pub fn command(name: &'static str) -> Command {
    Command::new(name).no_binary_name(true).disable_help_flag(true).disable_version_flag(true).infer_long_args(true)
}

/// `--name <value>`, given at most once (the value may start with `-`).
pub fn value(name: &'static str) -> Arg {
    Arg::new(name).long(name).num_args(1).allow_hyphen_values(true).action(ArgAction::Set)
}

/// `--name <value>`, may be repeated (the value may start with `-`).
pub fn many(name: &'static str) -> Arg {
    Arg::new(name).long(name).num_args(1).allow_hyphen_values(true).action(ArgAction::Append)
}

/// `--name` without a value.
pub fn flag(name: &'static str) -> Arg {
    Arg::new(name).long(name).action(ArgAction::SetTrue)
}

/// The words that are not options: joptsimple keeps them aside and the commands ignore them.
pub fn rest() -> Arg {
    Arg::new("rest").num_args(0..).action(ArgAction::Append).hide(true)
}

/// Whether the option `name` was on the command line.
pub fn given(m: &ArgMatches, name: &str) -> bool {
    m.value_source(name) == Some(ValueSource::CommandLine)
}

/// The `main` of a tool: runs `run_with` on the process arguments (program name excluded)
/// with the locked stdout and stderr, and returns its exit code.
pub fn main_exit_code(run_with: impl FnOnce(&[String], &mut dyn Write, &mut dyn Write) -> i32) -> i32 {
    let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    run_with(&args, &mut out, &mut err)
}
