//! `kafka-reassign-partitions` command line: clap tokenizes, then Kafka 2.8's checks run in
//! Kafka's order with Kafka's messages (`ReassignPartitionsCommand.validateAndParseArgs`).

use clap::{ArgMatches, Command};

use crate::cli::{self, flag, given, rest, value};
use crate::topics::usage::{clap_error_message, render_usage, ArgsExit, OptionHelp};

/// Text shown with the usage table for `--help` and an empty command line.
pub const HELP_TEXT: &str = "This tool helps to move topic partitions between replicas.";

/// The single action of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReassignAction {
    /// `--generate`
    Generate,
    /// `--execute`
    Execute,
    /// `--verify`
    Verify,
    /// `--cancel` (bootstrap-server only)
    Cancel,
    /// `--list` (bootstrap-server only)
    List,
}

/// Checked arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassignOptions {
    /// What to do.
    pub action: ReassignAction,
    /// `--zookeeper`.
    pub zookeeper: Option<String>,
    /// `--bootstrap-server` (refused when running).
    pub bootstrap_server: Option<String>,
    /// `--reassignment-json-file`.
    pub reassignment_json_file: Option<String>,
    /// `--topics-to-move-json-file`.
    pub topics_to_move_json_file: Option<String>,
    /// `--broker-list`.
    pub broker_list: Option<String>,
    /// `--disable-rack-aware`.
    pub disable_rack_aware: bool,
    /// `--throttle` in B/s; -1 when not given.
    pub throttle: i64,
    /// `--preserve-throttles`.
    pub preserve_throttles: bool,
    /// `--additional` (bootstrap-server only).
    pub additional: bool,
    /// `--replica-alter-log-dirs-throttle` in B/s; -1 when not given (bootstrap-server only).
    pub log_dir_throttle: i64,
}

const ACTIONS: [&str; 5] = ["generate", "execute", "verify", "cancel", "list"];

/// The usage table.
pub fn usage() -> String {
    render_usage(HELP)
}

const HELP: &[OptionHelp] = &[
    OptionHelp { flag: "--additional", arg: None, help: "With --execute, add to an ongoing reassignment (needs --bootstrap-server)." },
    OptionHelp { flag: "--bootstrap-server", arg: Some("String: Server(s) to use for bootstrapping"), help: "Broker(s) to bootstrap from; the admin API is used instead of ZooKeeper (no throttles or log-dir moves here)." },
    OptionHelp { flag: "--broker-list", arg: Some("String: brokerlist"), help: "With --generate: the brokers to move the topics to, e.g. \"0,1,2\"." },
    OptionHelp { flag: "--cancel", arg: None, help: "Cancel an active reassignment (needs --bootstrap-server)." },
    OptionHelp { flag: "--command-config", arg: Some("String: Admin client property file"), help: "Admin client properties, used with --bootstrap-server." },
    OptionHelp { flag: "--disable-rack-aware", arg: None, help: "With --generate: place replicas without looking at broker racks." },
    OptionHelp { flag: "--execute", arg: None, help: "Start the reassignment given by --reassignment-json-file." },
    OptionHelp { flag: "--generate", arg: None, help: "Propose an assignment of the topics of --topics-to-move-json-file over --broker-list (nothing is changed)." },
    OptionHelp { flag: "--help", arg: None, help: "Show this table." },
    OptionHelp { flag: "--list", arg: None, help: "List active reassignments (needs --bootstrap-server)." },
    OptionHelp { flag: "--preserve-throttles", arg: None, help: "With --verify: keep the replication throttles after the reassignment completed." },
    OptionHelp { flag: "--reassignment-json-file", arg: Some("String: manual assignment json file path"), help: "Reassignment in Kafka's JSON form: {\"version\":1,\"partitions\":[{\"topic\":\"foo\",\"partition\":1,\"replicas\":[1,2,3],\"log_dirs\":[\"any\",\"any\",\"any\"]}]} (log_dirs optional)." },
    OptionHelp { flag: "--replica-alter-log-dirs-throttle", arg: Some("Long: replicaAlterLogDirsThrottle"), help: "Throttle of moves between log dirs of a broker, B/s (needs --bootstrap-server)." },
    OptionHelp { flag: "--throttle", arg: Some("Long: throttle"), help: "With --execute: throttle replication between brokers to this many B/s; run --verify until done to remove it." },
    OptionHelp { flag: "--timeout", arg: Some("Long: timeout"), help: "Milliseconds to wait for the reassignment to start (needs --bootstrap-server)." },
    OptionHelp { flag: "--topics-to-move-json-file", arg: Some("String: topics to reassign json file path"), help: "With --generate: {\"topics\":[{\"topic\":\"foo\"},{\"topic\":\"foo1\"}],\"version\":1}." },
    OptionHelp { flag: "--verify", arg: None, help: "Report the status of the reassignment of --reassignment-json-file and remove throttles once done." },
    OptionHelp { flag: "--version", arg: None, help: "Print the Kafka version this tool mirrors." },
    OptionHelp { flag: "--zookeeper", arg: Some("String: urls"), help: "ZooKeeper connect string host:port[/chroot] (deprecated in Kafka 2.8)." },
];

const VALUE_OPTIONS: [&str; 9] = [
    "zookeeper",
    "bootstrap-server",
    "command-config",
    "reassignment-json-file",
    "topics-to-move-json-file",
    "broker-list",
    "throttle",
    "replica-alter-log-dirs-throttle",
    "timeout",
];
const FLAG_OPTIONS: [&str; 10] = [
    "generate",
    "execute",
    "verify",
    "cancel",
    "list",
    "disable-rack-aware",
    "additional",
    "preserve-throttles",
    "help",
    "version",
];

fn command() -> Command {
    let mut cmd = cli::command("kafka-reassign-partitions");
    for name in VALUE_OPTIONS {
        cmd = cmd.arg(value(name));
    }
    for name in FLAG_OPTIONS {
        cmd = cmd.arg(flag(name));
    }
    cmd.arg(rest())
}

fn parse_long(m: &ArgMatches, name: &str) -> Result<Option<i64>, ArgsExit> {
    match m.get_one::<String>(name) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ArgsExit::Usage(format!("Cannot parse argument '{v}' of option {name}"))),
    }
}

/// Parse and check the arguments (program name excluded).
pub fn parse_args(args: &[String]) -> Result<ReassignOptions, ArgsExit> {
    if args.is_empty() {
        return Err(ArgsExit::Usage(HELP_TEXT.into()));
    }
    let m = command().try_get_matches_from(args).map_err(|e| ArgsExit::Usage(clap_error_message(&e)))?;
    let has = |name: &str| given(&m, name);
    if has("help") {
        return Err(ArgsExit::Usage(HELP_TEXT.into()));
    }
    if has("version") {
        return Err(ArgsExit::Version);
    }
    let throttle = parse_long(&m, "throttle")?;
    let log_dir_throttle = parse_long(&m, "replica-alter-log-dirs-throttle")?;
    parse_long(&m, "timeout")?;
    let chosen: Vec<&str> = ACTIONS.iter().copied().filter(|a| has(a)).collect();
    if chosen.len() != 1 {
        return Err(ArgsExit::Usage(
            "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list".into(),
        ));
    }
    let action_name = chosen[0];
    if !has("bootstrap-server") && !has("zookeeper") {
        return Err(ArgsExit::Usage("Please specify --bootstrap-server".into()));
    }
    let (required, permitted): (&[&str], &[&str]) = match action_name {
        "verify" => (
            &["reassignment-json-file"],
            &["bootstrap-server", "command-config", "preserve-throttles", "zookeeper"],
        ),
        "generate" => (
            &["topics-to-move-json-file", "broker-list"],
            &["bootstrap-server", "broker-list", "command-config", "disable-rack-aware", "zookeeper"],
        ),
        "execute" => (
            &["reassignment-json-file"],
            &[
                "additional",
                "bootstrap-server",
                "command-config",
                "throttle",
                "replica-alter-log-dirs-throttle",
                "timeout",
                "zookeeper",
            ],
        ),
        "cancel" => (
            &["reassignment-json-file"],
            &["bootstrap-server", "command-config", "preserve-throttles", "timeout"],
        ),
        _ => (&[], &["bootstrap-server", "command-config"]),
    };
    for r in required {
        if !has(r) {
            return Err(ArgsExit::Usage(format!("Missing required argument \"[{r}]\"")));
        }
    }
    // Every other option given must be allowed with the action; checked in command-line order.
    let mut present: Vec<(usize, &str)> = VALUE_OPTIONS
        .iter()
        .chain(FLAG_OPTIONS.iter())
        .copied()
        .filter(|o| has(o) && !["help", "version"].contains(o))
        .filter_map(|o| m.index_of(o).map(|i| (i, o)))
        .collect();
    present.sort();
    for (_, opt) in present {
        if opt != action_name && !required.contains(&opt) && !permitted.contains(&opt) {
            return Err(ArgsExit::Usage(format!("Option \"[{opt}]\" can't be used with action \"[{action_name}]\"")));
        }
    }
    if !has("bootstrap-server") {
        for opt in ["additional", "cancel", "command-config", "replica-alter-log-dirs-throttle", "list", "timeout"] {
            if has(opt) {
                return Err(ArgsExit::Fatal(format!("You must specify --bootstrap-server when using \"[{opt}]\"")));
            }
        }
    }
    let action = match action_name {
        "generate" => ReassignAction::Generate,
        "execute" => ReassignAction::Execute,
        "verify" => ReassignAction::Verify,
        "cancel" => ReassignAction::Cancel,
        _ => ReassignAction::List,
    };
    let one = |name: &str| m.get_one::<String>(name).cloned();
    Ok(ReassignOptions {
        action,
        zookeeper: one("zookeeper"),
        bootstrap_server: one("bootstrap-server"),
        reassignment_json_file: one("reassignment-json-file"),
        topics_to_move_json_file: one("topics-to-move-json-file"),
        broker_list: one("broker-list"),
        disable_rack_aware: has("disable-rack-aware"),
        throttle: throttle.unwrap_or(-1),
        preserve_throttles: has("preserve-throttles"),
        additional: has("additional"),
        log_dir_throttle: log_dir_throttle.unwrap_or(-1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ReassignOptions, ArgsExit> {
        let args: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse_args(&args)
    }

    fn usage_msg(s: &str) -> String {
        match parse(s) {
            Err(ArgsExit::Usage(m)) => m,
            other => panic!("{s}: expected usage error, got {other:?}"),
        }
    }

    #[test]
    fn good_command_lines() {
        let o = parse("--zookeeper zk:2181 --generate --topics-to-move-json-file t.json --broker-list 1,2 --disable-rack-aware")
            .unwrap();
        assert_eq!(o.action, ReassignAction::Generate);
        assert_eq!(o.broker_list.as_deref(), Some("1,2"));
        assert!(o.disable_rack_aware);
        assert_eq!(o.throttle, -1);
        let o = parse("--zookeeper zk --execute --reassignment-json-file r.json --throttle 5000").unwrap();
        assert_eq!((o.action, o.throttle), (ReassignAction::Execute, 5000));
        let o = parse("--zookeeper=zk --verify --reassignment-json-file=r.json --preserve-throttles").unwrap();
        assert_eq!(o.action, ReassignAction::Verify);
        assert!(o.preserve_throttles);
    }

    #[test]
    fn kafka_messages() {
        assert_eq!(parse_args(&[]), Err(ArgsExit::Usage(HELP_TEXT.into())));
        assert_eq!(usage_msg("--help"), HELP_TEXT);
        assert_eq!(parse("--version"), Err(ArgsExit::Version));
        assert_eq!(
            usage_msg("--zookeeper zk --generate --execute"),
            "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list"
        );
        assert_eq!(usage_msg("--verify --reassignment-json-file r"), "Please specify --bootstrap-server");
        assert_eq!(usage_msg("--zookeeper zk --verify"), "Missing required argument \"[reassignment-json-file]\"");
        assert_eq!(
            usage_msg("--zookeeper zk --generate --topics-to-move-json-file t"),
            "Missing required argument \"[broker-list]\""
        );
        assert_eq!(
            usage_msg("--zookeeper zk --verify --reassignment-json-file r --throttle 10"),
            "Option \"[throttle]\" can't be used with action \"[verify]\""
        );
        assert_eq!(
            usage_msg("--zookeeper zk --generate --disable-rack-aware --topics-to-move-json-file t --broker-list 1 --reassignment-json-file r"),
            "Option \"[reassignment-json-file]\" can't be used with action \"[generate]\""
        );
        assert_eq!(
            parse("--zookeeper zk --execute --reassignment-json-file r --additional"),
            Err(ArgsExit::Fatal("You must specify --bootstrap-server when using \"[additional]\"".into()))
        );
        assert_eq!(
            usage_msg("--zookeeper zk --execute --reassignment-json-file r --throttle x"),
            "Cannot parse argument 'x' of option throttle"
        );
        assert_eq!(usage_msg("--zookeeper zk --verify --bogus"), "bogus is not a recognized option");
        assert!(usage().contains("--reassignment-json-file <String: manual assignment json file path>"));
    }
}
