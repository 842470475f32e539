//! `kafka-consumer-groups` command line: clap only tokenizes; Kafka 2.8's checks
//! (`ConsumerGroupCommandOptions.checkArgs`, then the one-action rule) run in Kafka's order
//! with Kafka's messages.

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::cli::{self, flag, given, many, rest, value};
use crate::topics::usage::{clap_error_message, render_usage, ArgsExit, OptionHelp};

/// Text shown with the usage table for `--help`.
pub const HELP_TEXT: &str =
    "This tool helps to list all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets.";

/// The action of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupAction {
    /// `--list`, with `--state` filter (`Some(vec![])` = `--state` without a value).
    List {
        /// States to show (`None`: plain list of ids).
        states: Option<Vec<String>>,
    },
    /// `--describe`.
    Describe(DescribeView),
    /// `--delete`.
    Delete,
    /// `--delete-offsets`.
    DeleteOffsets,
    /// `--reset-offsets`.
    ResetOffsets(ResetOptions),
}

/// What `--describe` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescribeView {
    /// `--offsets` (the default).
    Offsets,
    /// `--members`, with `--verbose`.
    Members {
        /// Show each member's partitions.
        verbose: bool,
    },
    /// `--state`.
    State,
}

/// How new offsets are chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetSpec {
    /// `--to-offset N`.
    ToOffset(i64),
    /// `--to-earliest`.
    ToEarliest,
    /// `--to-latest`.
    ToLatest,
    /// `--to-current`.
    ToCurrent,
    /// `--shift-by N`.
    ShiftBy(i64),
    /// `--to-datetime` (text, parsed when running like Kafka does).
    ToDatetime(String),
    /// `--by-duration` (text, parsed when running).
    ByDuration(String),
    /// `--from-file` (path).
    FromFile(String),
}

/// `--reset-offsets` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetOptions {
    /// The reset scenario; `None` when none was given (Kafka complains only when running).
    pub spec: Option<ResetSpec>,
    /// `--execute`.
    pub execute: bool,
    /// `--export`.
    pub export: bool,
    /// `--all-topics`.
    pub all_topics: bool,
}

/// Checked arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOptions {
    /// What to do.
    pub action: GroupAction,
    /// `--bootstrap-server`.
    pub bootstrap_server: String,
    /// `--group` values in order.
    pub groups: Vec<String>,
    /// `--all-groups`.
    pub all_groups: bool,
    /// `--topic` values in order (`t` or `t:0,1`).
    pub topics: Vec<String>,
    /// `--timeout` in ms (default 5000).
    pub timeout_ms: i64,
    /// `--command-config`.
    pub command_config: Option<String>,
    /// Warnings Kafka prints on stderr while checking (the reset dry-run notice).
    pub warnings: Vec<String>,
}

const HELP: &[OptionHelp] = &[
    OptionHelp { flag: "--all-groups", arg: None, help: "Apply to all consumer groups." },
    OptionHelp { flag: "--all-topics", arg: None, help: "Consider all topics assigned to a group in the `reset-offsets` process." },
    OptionHelp { flag: "--bootstrap-server", arg: Some("String: server to connect to"), help: "REQUIRED: The server(s) to connect to." },
    OptionHelp { flag: "--by-duration", arg: Some("String: duration"), help: "Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'" },
    OptionHelp { flag: "--command-config", arg: Some("String: command config property file"), help: "Property file containing configs to be passed to Admin Client and Consumer." },
    OptionHelp { flag: "--delete", arg: None, help: "Pass in groups to delete topic partition offsets and ownership information over the entire consumer group. For instance --group g1 --group g2" },
    OptionHelp { flag: "--delete-offsets", arg: None, help: "Delete offsets of consumer group. Supports one consumer group at the time, and multiple topics." },
    OptionHelp { flag: "--describe", arg: None, help: "Describe consumer group and list offset lag (number of messages not yet processed) related to given group." },
    OptionHelp { flag: "--dry-run", arg: None, help: "Only show results without executing changes on Consumer Groups. Supported operations: reset-offsets." },
    OptionHelp { flag: "--execute", arg: None, help: "Execute operation. Supported operations: reset-offsets." },
    OptionHelp { flag: "--export", arg: None, help: "Export operation execution to a CSV file. Supported operations: reset-offsets." },
    OptionHelp { flag: "--from-file", arg: Some("String: path to CSV file"), help: "Reset offsets to values defined in CSV file." },
    OptionHelp { flag: "--group", arg: Some("String: consumer group"), help: "The consumer group we wish to act on." },
    OptionHelp { flag: "--help", arg: None, help: "Print usage information." },
    OptionHelp { flag: "--list", arg: None, help: "List all consumer groups." },
    OptionHelp { flag: "--members", arg: None, help: "Describe members of the group (with --describe)." },
    OptionHelp { flag: "--offsets", arg: None, help: "Describe the group and list all topic partitions in the group along with their offset lag (the default of --describe)." },
    OptionHelp { flag: "--reset-offsets", arg: None, help: "Reset offsets of consumer group; groups must be inactive. --dry-run (the default) plans, --execute applies, --export prints CSV. One of --to-datetime, --by-duration, --to-earliest, --to-latest, --shift-by, --from-file, --to-current, --to-offset; scope --all-topics or --topic (unless --from-file)." },
    OptionHelp { flag: "--shift-by", arg: Some("Long: number-of-offsets"), help: "Reset offsets shifting current offset by 'n', where 'n' can be positive or negative." },
    OptionHelp { flag: "--state", arg: Some("String"), help: "With --describe: the state of the group. With --list: list groups with their state, optionally only those in the given comma-separated states." },
    OptionHelp { flag: "--timeout", arg: Some("Long: timeout (ms)"), help: "Maximum time in ms to wait for the group operations (default: 5000)." },
    OptionHelp { flag: "--to-current", arg: None, help: "Reset offsets to current offset." },
    OptionHelp { flag: "--to-datetime", arg: Some("String: datetime"), help: "Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'" },
    OptionHelp { flag: "--to-earliest", arg: None, help: "Reset offsets to earliest offset." },
    OptionHelp { flag: "--to-latest", arg: None, help: "Reset offsets to latest offset." },
    OptionHelp { flag: "--to-offset", arg: Some("Long: offset"), help: "Reset offsets to a specific offset." },
    OptionHelp { flag: "--topic", arg: Some("String: topic"), help: "The topic to act on; with reset-offsets partitions may be given as topic1:0,1,2 (repeatable)." },
    OptionHelp { flag: "--verbose", arg: None, help: "Provide additional information, if any, when describing the group." },
    OptionHelp { flag: "--version", arg: None, help: "Display Kafka version." },
];

/// The usage table.
pub fn usage() -> String {
    render_usage(HELP)
}

const VALUE_OPTIONS: [&str; 8] = [
    "bootstrap-server",
    "timeout",
    "command-config",
    "to-offset",
    "from-file",
    "to-datetime",
    "by-duration",
    "shift-by",
];
const MANY_OPTIONS: [&str; 2] = ["group", "topic"];
const FLAG_OPTIONS: [&str; 18] = [
    "all-topics",
    "list",
    "describe",
    "all-groups",
    "delete",
    "reset-offsets",
    "delete-offsets",
    "dry-run",
    "execute",
    "export",
    "to-earliest",
    "to-latest",
    "to-current",
    "members",
    "verbose",
    "offsets",
    "help",
    "version",
];
const RESET_SCENARIOS: [&str; 8] = [
    "to-offset",
    "shift-by",
    "to-datetime",
    "by-duration",
    "to-earliest",
    "to-latest",
    "to-current",
    "from-file",
];

fn command() -> Command {
    let mut cmd = cli::command("kafka-consumer-groups");
    for name in VALUE_OPTIONS {
        cmd = cmd.arg(value(name));
    }
    for name in MANY_OPTIONS {
        cmd = cmd.arg(many(name));
    }
    for name in FLAG_OPTIONS {
        cmd = cmd.arg(flag(name));
    }
    // `--state [value]`: joptsimple's optional argument.
    cmd = cmd.arg(
        Arg::new("state")
            .long("state")
            .num_args(0..=1)
            .default_missing_value("")
            .action(ArgAction::Set),
    );
    cmd.arg(rest())
}

fn parse_long(m: &ArgMatches, name: &str) -> Result<Option<i64>, ArgsExit> {
    match m.get_one::<String>(name) {
        None => Ok(None),
        Some(v) => {
            v.trim().parse::<i64>().map(Some).map_err(|_| {
                ArgsExit::Usage(format!("Cannot parse argument '{v}' of option {name}"))
            })
        }
    }
}

/// Kafka's `ConsumerGroupState` names, for `--list --state`.
pub const GROUP_STATES: [&str; 5] = [
    "PreparingRebalance",
    "CompletingRebalance",
    "Stable",
    "Dead",
    "Empty",
];

/// Parse `--state a,b` as Kafka's `consumerGroupStatesFromString` (case-insensitive names).
pub fn parse_states(input: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for s in input.split(',') {
        match GROUP_STATES
            .iter()
            .find(|n| n.eq_ignore_ascii_case(s.trim()))
        {
            Some(n) => {
                if !out.iter().any(|x| x == n) {
                    out.push(n.to_string());
                }
            }
            None => {
                return Err(format!(
                    "Invalid state list '{input}'. Valid states are: {}",
                    GROUP_STATES.join(", ")
                ))
            }
        }
    }
    Ok(out)
}

/// Parse and check the arguments (program name excluded).
pub fn parse_args(args: &[String]) -> Result<GroupOptions, ArgsExit> {
    let m = command()
        .try_get_matches_from(args)
        .map_err(|e| ArgsExit::Usage(clap_error_message(&e)))?;
    let has = |name: &str| given(&m, name);
    // joptsimple's availableIf: these only make sense with --describe (state: or --list).
    for opt in ["members", "verbose", "offsets"] {
        if has(opt) && !has("describe") {
            return Err(ArgsExit::Usage(format!(
                "Option(s) [{opt}] are unavailable given other options on the command line"
            )));
        }
    }
    if has("state") && !has("describe") && !has("list") {
        return Err(ArgsExit::Usage(
            "Option(s) [state] are unavailable given other options on the command line".into(),
        ));
    }
    let timeout_ms = parse_long(&m, "timeout")?.unwrap_or(5000);
    let to_offset = parse_long(&m, "to-offset")?;
    let shift_by = parse_long(&m, "shift-by")?;
    let mut warnings = Vec::new();

    // checkArgs, in Kafka's order.
    if !has("bootstrap-server") {
        return Err(ArgsExit::Usage(
            "Missing required argument \"[bootstrap-server]\"".into(),
        ));
    }
    let group_scope = "[group], [all-groups]";
    if has("describe") {
        if !has("group") && !has("all-groups") {
            return Err(ArgsExit::Usage(format!(
                "Option [describe] takes one of these options: {group_scope}"
            )));
        }
        if ["members", "offsets", "state"]
            .iter()
            .filter(|o| has(o))
            .count()
            > 1
        {
            return Err(ArgsExit::Usage(
                "Option [describe] takes at most one of these options: [members], [offsets], [state]".into(),
            ));
        }
        if m.get_one::<String>("state").is_some_and(|s| !s.is_empty()) {
            return Err(ArgsExit::Usage(
                "Option [describe] does not take a value for [state]".into(),
            ));
        }
    }
    if has("delete") {
        if !has("group") && !has("all-groups") {
            return Err(ArgsExit::Usage(format!(
                "Option [delete] takes one of these options: {group_scope}"
            )));
        }
        if has("topic") {
            return Err(ArgsExit::Usage(
                "The consumer does not support topic-specific offset deletion from a consumer group.".into(),
            ));
        }
    }
    if has("delete-offsets") && (!has("group") || !has("topic")) {
        return Err(ArgsExit::Usage(
            "Option [delete-offsets] takes the following options: [group], [topic]".into(),
        ));
    }
    if has("reset-offsets") {
        if has("dry-run") && has("execute") {
            return Err(ArgsExit::Usage(
                "Option [reset-offsets] only accepts one of [execute] and [dry-run]".into(),
            ));
        }
        if !has("dry-run") && !has("execute") {
            warnings.push("WARN: No action will be performed as the --execute option is missing.In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.".to_string());
        }
        if !has("group") && !has("all-groups") {
            return Err(ArgsExit::Usage(format!(
                "Option [reset-offsets] takes one of these options: {group_scope}"
            )));
        }
        for used in RESET_SCENARIOS {
            if !has(used) {
                continue;
            }
            if let Some(other) = RESET_SCENARIOS.iter().find(|o| **o != used && has(o)) {
                return Err(ArgsExit::Usage(format!(
                    "Option \"[{used}]\" can't be used with option \"[{other}]\""
                )));
            }
        }
    }
    if has("group") && has("all-groups") {
        return Err(ArgsExit::Usage(
            "Option \"[group]\" can't be used with option \"[all-groups]\"".into(),
        ));
    }
    if has("group") && has("list") {
        return Err(ArgsExit::Usage(
            "Option \"[group]\" can't be used with option \"[list]\"".into(),
        ));
    }
    if has("topic") {
        for other in ["list", "describe"] {
            if has(other) {
                return Err(ArgsExit::Usage(format!(
                    "Option \"[topic]\" can't be used with option \"[{other}]\""
                )));
            }
        }
    }
    if has("help") {
        return Err(ArgsExit::Usage(HELP_TEXT.into()));
    }
    if has("version") {
        return Err(ArgsExit::Version);
    }
    let actions = [
        "list",
        "describe",
        "delete",
        "reset-offsets",
        "delete-offsets",
    ];
    if actions.iter().filter(|a| has(a)).count() != 1 {
        return Err(ArgsExit::Usage(
            "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets".into(),
        ));
    }
    let one = |name: &str| m.get_one::<String>(name).cloned();
    let all = |name: &str| {
        m.get_many::<String>(name)
            .map(|v| v.cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let action = if has("list") {
        let states = match one("state") {
            None => None,
            Some(s) if s.is_empty() => Some(Vec::new()),
            Some(s) => Some(parse_states(&s).map_err(ArgsExit::Usage)?),
        };
        GroupAction::List { states }
    } else if has("describe") {
        GroupAction::Describe(if has("members") {
            DescribeView::Members {
                verbose: has("verbose"),
            }
        } else if has("state") {
            DescribeView::State
        } else {
            DescribeView::Offsets
        })
    } else if has("delete") {
        GroupAction::Delete
    } else if has("delete-offsets") {
        GroupAction::DeleteOffsets
    } else {
        let spec = if let Some(n) = to_offset {
            Some(ResetSpec::ToOffset(n))
        } else if has("to-earliest") {
            Some(ResetSpec::ToEarliest)
        } else if has("to-latest") {
            Some(ResetSpec::ToLatest)
        } else if let Some(n) = shift_by {
            Some(ResetSpec::ShiftBy(n))
        } else if let Some(d) = one("to-datetime") {
            Some(ResetSpec::ToDatetime(d))
        } else if let Some(d) = one("by-duration") {
            Some(ResetSpec::ByDuration(d))
        } else if let Some(f) = one("from-file") {
            Some(ResetSpec::FromFile(f))
        } else if has("to-current") {
            Some(ResetSpec::ToCurrent)
        } else {
            None
        };
        GroupAction::ResetOffsets(ResetOptions {
            spec,
            execute: has("execute"),
            export: has("export"),
            all_topics: has("all-topics"),
        })
    };
    Ok(GroupOptions {
        action,
        bootstrap_server: one("bootstrap-server").unwrap_or_default(),
        groups: all("group"),
        all_groups: has("all-groups"),
        topics: all("topic"),
        timeout_ms,
        command_config: one("command-config"),
        warnings,
    })
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;
