//! `kafka-leader-election`: elect preferred or unclean leaders through the controller with
//! ElectLeaders, reporting like Kafka 2.8's `LeaderElectionCommand`.

use std::io::Write;
use std::time::Duration;

use super::client::{elect_leaders, exception_text, ElectError, ElectionType, PartitionOutcome, ELECTION_NOT_NEEDED};
use super::json::{parse_election_partitions, ElectionFileKind};
use super::{read_file, uncaught, ADMIN_COMMAND_FAILED, ADMIN_OPERATION};
use crate::cli::{command, flag, given, rest, value};
use crate::reassign::json::{tp_string, Tp};
use crate::topics::usage::{clap_error_message, render_usage, ArgsExit, OptionHelp};
use crate::topics::{block_on, report_args_exit};

const HELP_TEXT: &str = "This tool attempts to elect a new leader for a set of topic partitions. The type of elections supported are preferred replicas and unclean replicas.";

/// Overall time limit (Kafka's tool uses 30 s for the admin client's API timeout).
pub const TIMEOUT: Duration = Duration::from_secs(30);

const HELP: &[OptionHelp] = &[
    OptionHelp { flag: "--admin.config", arg: Some("String: config file"), help: "Admin client properties (ignored by this implementation)." },
    OptionHelp { flag: "--all-topic-partitions", arg: None, help: "Elect leaders of every partition (excludes --topic and --path-to-json-file)." },
    OptionHelp { flag: "--bootstrap-server", arg: Some("String: host:port"), help: "REQUIRED: broker(s) to bootstrap from; the request goes to the controller." },
    OptionHelp { flag: "--election-type", arg: Some("[PREFERRED,UNCLEAN]: election type"), help: "REQUIRED: preferred (move leadership to the preferred replica) or unclean (elect an out-of-sync live replica when no in-sync one is left)." },
    OptionHelp { flag: "--help", arg: None, help: "Show this table." },
    OptionHelp { flag: "--partition", arg: Some("Integer: partition id"), help: "Partition of --topic to elect a leader for." },
    OptionHelp { flag: "--path-to-json-file", arg: Some("String: Path to JSON file"), help: "File with the partitions: {\"partitions\":[{\"topic\":\"foo\",\"partition\":1}]}." },
    OptionHelp { flag: "--topic", arg: Some("String: topic name"), help: "Topic of the partition to elect a leader for (with --partition)." },
    OptionHelp { flag: "--version", arg: None, help: "Print the Kafka version this tool mirrors." },
];

/// The usage table.
pub fn usage() -> String {
    render_usage(HELP)
}

/// Checked arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElectionOptions {
    /// `--bootstrap-server`.
    pub bootstrap_server: String,
    /// `--election-type`.
    pub election_type: ElectionType,
    /// `--path-to-json-file`.
    pub json_file: Option<String>,
    /// `--topic` + `--partition`.
    pub single: Option<Tp>,
    /// `--admin.config` (ignored).
    pub admin_config: Option<String>,
}

/// How argument handling ends a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaderArgsExit {
    /// Usage table or version, as the other tools.
    Args(ArgsExit),
    /// An exception escaping `main` (the JVM's line on stderr, exit 1).
    Uncaught(String),
}

/// Parse and check the arguments (program name excluded), in Kafka's order.
pub fn parse_args(args: &[String]) -> Result<LeaderElectionOptions, LeaderArgsExit> {
    let cmd = command("kafka-leader-election")
        .arg(value("bootstrap-server"))
        .arg(value("admin.config"))
        .arg(value("path-to-json-file"))
        .arg(value("topic"))
        .arg(value("partition"))
        .arg(value("election-type"))
        .arg(flag("all-topic-partitions"))
        .arg(flag("help"))
        .arg(flag("version"))
        .arg(rest());
    let usage_exit = |m: String| LeaderArgsExit::Args(ArgsExit::Usage(m));
    let m = cmd.try_get_matches_from(args).map_err(|e| usage_exit(clap_error_message(&e)))?;
    let has = |name: &str| given(&m, name);
    if args.is_empty() || has("help") {
        return Err(usage_exit(HELP_TEXT.into()));
    }
    if has("version") {
        return Err(LeaderArgsExit::Args(ArgsExit::Version));
    }
    let failed = |m: String| LeaderArgsExit::Uncaught(uncaught(ADMIN_COMMAND_FAILED, &m));
    let mut missing = Vec::new();
    if !has("election-type") {
        missing.push("election-type");
    }
    if !has("bootstrap-server") {
        missing.push("bootstrap-server");
    }
    if !missing.is_empty() {
        return Err(failed(format!("Missing required option(s): {}", missing.join(", "))));
    }
    let exclusive = ["topic", "all-topic-partitions", "path-to-json-file"];
    if exclusive.iter().filter(|o| has(o)).count() != 1 {
        return Err(failed(format!(
            "One and only one of the following options is required: {}",
            exclusive.join(", ")
        )));
    }
    match (has("topic"), has("partition")) {
        (true, false) => return Err(failed("Missing required option(s): partition".into())),
        (false, true) => return Err(failed("Option partition is only allowed if topic is used".into())),
        _ => {}
    }
    let conversion = |v: &str, name: &str| {
        LeaderArgsExit::Uncaught(uncaught(
            "joptsimple.OptionArgumentConversionException",
            &format!("Cannot parse argument '{v}' of option {name}"),
        ))
    };
    let raw_type = m.get_one::<String>("election-type").cloned().unwrap_or_default();
    let election_type = ElectionType::parse(&raw_type).ok_or_else(|| conversion(&raw_type, "election-type"))?;
    let single = match (m.get_one::<String>("topic"), m.get_one::<String>("partition")) {
        (Some(t), Some(p)) => Some((t.clone(), p.parse::<i32>().map_err(|_| conversion(p, "partition"))?)),
        _ => None,
    };
    let one = |name: &str| m.get_one::<String>(name).cloned();
    Ok(LeaderElectionOptions {
        bootstrap_server: one("bootstrap-server").unwrap_or_default(),
        election_type,
        json_file: one("path-to-json-file"),
        single,
        admin_config: one("admin.config"),
    })
}

/// Results sorted into elected, not needed, and failed (with the exception text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Buckets {
    /// Elected.
    pub succeeded: Vec<Tp>,
    /// ELECTION_NOT_NEEDED.
    pub noop: Vec<Tp>,
    /// Anything else.
    pub failed: Vec<(Tp, String)>,
}

/// Split results like Kafka's tool does.
pub fn bucket_results(results: &[PartitionOutcome]) -> Buckets {
    let mut b = Buckets::default();
    for r in results {
        match r.error_code {
            0 => b.succeeded.push(r.tp.clone()),
            ELECTION_NOT_NEEDED => b.noop.push(r.tp.clone()),
            code => b.failed.push((r.tp.clone(), exception_text(code, r.message.as_deref()))),
        }
    }
    b
}

/// The report lines and whether any partition failed.
pub fn report_lines(election: ElectionType, results: &[PartitionOutcome]) -> (Vec<String>, usize) {
    let b = bucket_results(results);
    let list = |tps: &[Tp]| tps.iter().map(tp_string).collect::<Vec<_>>().join(", ");
    let mut lines = Vec::new();
    if !b.succeeded.is_empty() {
        lines.push(format!(
            "Successfully completed leader election ({}) for partitions {}",
            election.name(),
            list(&b.succeeded)
        ));
    }
    if !b.noop.is_empty() {
        lines.push(format!("Valid replica already elected for partitions {}", list(&b.noop)));
    }
    for (tp, text) in &b.failed {
        lines.push(format!(
            "Error completing leader election ({}) for partition: {}: {text}",
            election.name(),
            tp_string(tp)
        ));
    }
    (lines, b.failed.len())
}

/// Run with `args` (program name excluded) and an overall timeout; returns the exit code.
pub fn run_with_timeout(args: &[String], timeout: Duration, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = match parse_args(args) {
        Ok(o) => o,
        Err(LeaderArgsExit::Args(exit)) => return report_args_exit(exit, &usage(), out, err),
        Err(LeaderArgsExit::Uncaught(text)) => {
            let _ = writeln!(err, "{text}");
            return 1;
        }
    };
    let outcome: Result<(), String> = (|| {
        let partitions = match (&opts.json_file, &opts.single) {
            (Some(path), _) => Some(
                parse_election_partitions(&read_file(path)?, ElectionFileKind::Leader)
                    .map_err(|m| uncaught(ADMIN_OPERATION, &m))?,
            ),
            (None, Some(tp)) => Some(vec![tp.clone()]),
            (None, None) => None,
        };
        let partitions = partitions.map(super::sorted_tps);
        if opts.admin_config.is_some() {
            let _ = writeln!(err, "Note: --admin.config is not supported by this implementation; its properties are ignored.");
        }
        let results = match block_on(elect_leaders(&opts.bootstrap_server, opts.election_type, partitions, timeout))? {
            Ok(r) => r,
            Err(ElectError::Timeout) => {
                let _ = writeln!(out, "Timeout waiting for election results");
                return Err(uncaught(ADMIN_COMMAND_FAILED, "Timeout waiting for election results"));
            }
            Err(ElectError::Other(text)) => return Err(text),
        };
        let (lines, failed) = report_lines(opts.election_type, &results);
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
        if failed > 0 {
            return Err(uncaught(ADMIN_COMMAND_FAILED, &format!("{failed} replica(s) could not be elected")));
        }
        Ok(())
    })();
    let _ = out.flush();
    match outcome {
        Ok(()) => 0,
        Err(text) => {
            let _ = writeln!(err, "{text}");
            1
        }
    }
}

/// Entry point of the binary.
pub fn main_exit_code() -> i32 {
    crate::cli::main_exit_code(|args, out, err| run_with_timeout(args, TIMEOUT, out, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<LeaderElectionOptions, LeaderArgsExit> {
        let args: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse_args(&args)
    }

    fn fails(s: &str) -> String {
        match parse(s) {
            Err(LeaderArgsExit::Uncaught(t)) => t.trim_start_matches("Exception in thread \"main\" ").to_string(),
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn arguments() {
        let o = parse("--bootstrap-server b:9092 --election-type preferred --topic t --partition 2").unwrap();
        assert_eq!(o.election_type, ElectionType::Preferred);
        assert_eq!(o.single, Some(("t".into(), 2)));
        let o = parse("--bootstrap-server b --election-type UNCLEAN --all-topic-partitions").unwrap();
        assert_eq!((o.election_type, o.single), (ElectionType::Unclean, None));
        assert_eq!(parse(""), Err(LeaderArgsExit::Args(ArgsExit::Usage(HELP_TEXT.into()))));
        let prefix = "kafka.common.AdminCommandFailedException: ";
        assert_eq!(fails("--topic t"), format!("{prefix}Missing required option(s): election-type, bootstrap-server"));
        assert_eq!(
            fails("--bootstrap-server b --election-type preferred"),
            format!("{prefix}One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file")
        );
        assert_eq!(
            fails("--bootstrap-server b --election-type preferred --topic t --all-topic-partitions"),
            format!("{prefix}One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file")
        );
        assert_eq!(
            fails("--bootstrap-server b --election-type preferred --topic t"),
            format!("{prefix}Missing required option(s): partition")
        );
        assert_eq!(
            fails("--bootstrap-server b --election-type preferred --all-topic-partitions --partition 1"),
            format!("{prefix}Option partition is only allowed if topic is used")
        );
        assert_eq!(
            fails("--bootstrap-server b --election-type clean --all-topic-partitions"),
            "joptsimple.OptionArgumentConversionException: Cannot parse argument 'clean' of option election-type"
        );
    }

    #[test]
    fn report() {
        let r = |t: &str, p: i32, code: i16, msg: Option<&str>| PartitionOutcome {
            tp: (t.into(), p),
            error_code: code,
            message: msg.map(String::from),
        };
        let (lines, failed) = report_lines(
            ElectionType::Preferred,
            &[r("t", 0, 0, None), r("t", 1, 0, None), r("t", 2, 84, None), r("u", 0, 3, None)],
        );
        assert_eq!(failed, 1);
        assert_eq!(
            lines,
            vec![
                "Successfully completed leader election (PREFERRED) for partitions t-0, t-1",
                "Valid replica already elected for partitions t-2",
                "Error completing leader election (PREFERRED) for partition: u-0: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition.",
            ]
        );
        assert_eq!(report_lines(ElectionType::Unclean, &[]).0, Vec::<String>::new());
    }
}
