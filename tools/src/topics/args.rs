//! `kafka-topics` command line: tokenizing with clap, then the same consistency checks, in the
//! same order and with the same messages, as Kafka 2.8's `TopicCommand`.

use clap::{ArgMatches, Command};

use super::usage::{clap_error_message, render_usage, ArgsExit, OptionHelp};
use crate::cli::{self, flag, many, rest, value};

/// The single action a run performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicAction {
    /// `--create`
    Create,
    /// `--list`
    List,
    /// `--describe`
    Describe,
    /// `--alter`
    Alter,
    /// `--delete`
    Delete,
}

/// Parsed and checked `kafka-topics` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicCommandOptions {
    /// What to do (always set after a successful parse).
    pub action: Option<TopicAction>,
    /// `--zookeeper host:port[/chroot]`.
    pub zookeeper: Option<String>,
    /// `--bootstrap-server` (accepted by the parser, refused when running).
    pub bootstrap_server: Option<String>,
    /// `--command-config` (only meaningful with `--bootstrap-server`).
    pub command_config: Option<String>,
    /// `--topic`: a literal name for create, a regular expression otherwise.
    pub topic: Option<String>,
    /// `--partitions`.
    pub partitions: Option<i32>,
    /// `--replication-factor`.
    pub replication_factor: Option<i32>,
    /// `--replica-assignment`, unparsed (parse errors are command errors, as in Kafka).
    pub replica_assignment: Option<String>,
    /// `--config k=v`, in order.
    pub configs: Vec<String>,
    /// `--delete-config k` (also spelled `--deleteConfig`), in order.
    pub delete_configs: Vec<String>,
    /// `--if-exists`.
    pub if_exists: bool,
    /// `--if-not-exists`.
    pub if_not_exists: bool,
    /// `--under-replicated-partitions`.
    pub under_replicated: bool,
    /// `--unavailable-partitions`.
    pub unavailable: bool,
    /// `--under-min-isr-partitions` (refused with `--zookeeper`).
    pub under_min_isr: bool,
    /// `--at-min-isr-partitions` (refused with `--zookeeper`).
    pub at_min_isr: bool,
    /// `--topics-with-overrides`.
    pub topics_with_overrides: bool,
    /// `--exclude-internal`.
    pub exclude_internal: bool,
    /// `--disable-rack-aware`.
    pub disable_rack_aware: bool,
}

impl TopicCommandOptions {
    /// The action (a checked parse always has one).
    pub fn action(&self) -> TopicAction {
        self.action.unwrap_or(TopicAction::List)
    }
}

/// The usage table printed with argument errors and `--help`.
pub fn usage() -> String {
    render_usage(HELP)
}

const HELP: &[OptionHelp] = &[
    OptionHelp { flag: "--alter", arg: None, help: "Change partition count, replica placement of new partitions or configuration of a topic." },
    OptionHelp { flag: "--at-min-isr-partitions", arg: None, help: "With --describe, show only partitions whose ISR size equals min.insync.replicas. Not available with --zookeeper." },
    OptionHelp { flag: "--bootstrap-server", arg: Some("server to connect to"), help: "Broker to talk to instead of ZooKeeper (not supported by this implementation yet)." },
    OptionHelp { flag: "--command-config", arg: Some("command config property file"), help: "Admin client properties file, used with --bootstrap-server." },
    OptionHelp { flag: "--config", arg: Some("name=value"), help: "Topic config override for --create or --alter; may be repeated." },
    OptionHelp { flag: "--create", arg: None, help: "Create a topic." },
    OptionHelp { flag: "--delete", arg: None, help: "Mark topics for deletion." },
    OptionHelp { flag: "--delete-config", arg: Some("name"), help: "Topic config override to remove with --alter (alias --deleteConfig); may be repeated." },
    OptionHelp { flag: "--describe", arg: None, help: "Show partitions, leaders, replicas, ISR and overrides of topics." },
    OptionHelp { flag: "--disable-rack-aware", arg: None, help: "Place replicas without looking at broker racks." },
    OptionHelp { flag: "--exclude-internal", arg: None, help: "Leave internal topics out of --list and --describe." },
    OptionHelp { flag: "--force", arg: None, help: "Accepted for compatibility; has no effect." },
    OptionHelp { flag: "--help", arg: None, help: "Show this table." },
    OptionHelp { flag: "--if-exists", arg: None, help: "With --alter, --delete or --describe: do nothing when no topic matches." },
    OptionHelp { flag: "--if-not-exists", arg: None, help: "With --create: do nothing when the topic is already there." },
    OptionHelp { flag: "--list", arg: None, help: "List topic names." },
    OptionHelp { flag: "--partitions", arg: Some("# of partitions"), help: "Partition count for --create, new total for --alter (keyed data may change partition)." },
    OptionHelp { flag: "--replica-assignment", arg: Some("broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , broker_id_for_part2_replica1 : broker_id_for_part2_replica2 , ..."), help: "Explicit replicas per partition: commas separate partitions, colons separate replicas." },
    OptionHelp { flag: "--replication-factor", arg: Some("replication factor"), help: "Replica count of each partition for --create." },
    OptionHelp { flag: "--topic", arg: Some("topic"), help: "Topic name; a regular expression except with --create (escape dots as \\.)." },
    OptionHelp { flag: "--topics-with-overrides", arg: None, help: "With --describe, show only topics that have config overrides." },
    OptionHelp { flag: "--unavailable-partitions", arg: None, help: "With --describe, show only partitions without a live leader." },
    OptionHelp { flag: "--under-min-isr-partitions", arg: None, help: "With --describe, show only partitions whose ISR is below min.insync.replicas. Not available with --zookeeper." },
    OptionHelp { flag: "--under-replicated-partitions", arg: None, help: "With --describe, show only partitions whose ISR is smaller than the replica list." },
    OptionHelp { flag: "--version", arg: None, help: "Print the Kafka version this tool mirrors." },
    OptionHelp { flag: "--zookeeper", arg: Some("hosts"), help: "ZooKeeper connect string host:port[,host:port][/chroot] (deprecated in Kafka 2.8)." },
];

fn command() -> Command {
    cli::command("kafka-topics")
        .arg(value("zookeeper"))
        .arg(value("bootstrap-server"))
        .arg(value("command-config"))
        .arg(value("topic"))
        .arg(value("partitions"))
        .arg(value("replication-factor"))
        .arg(value("replica-assignment"))
        .arg(many("config"))
        .arg(many("delete-config").alias("deleteConfig"))
        .arg(flag("create"))
        .arg(flag("list"))
        .arg(flag("describe"))
        .arg(flag("alter"))
        .arg(flag("delete"))
        .arg(flag("help"))
        .arg(flag("version"))
        .arg(flag("if-exists"))
        .arg(flag("if-not-exists"))
        .arg(flag("under-replicated-partitions"))
        .arg(flag("unavailable-partitions"))
        .arg(flag("under-min-isr-partitions"))
        .arg(flag("at-min-isr-partitions"))
        .arg(flag("topics-with-overrides"))
        .arg(flag("exclude-internal"))
        .arg(flag("disable-rack-aware"))
        .arg(flag("force"))
        // joptsimple keeps non-option words aside and TopicCommand ignores them.
        .arg(rest())
}

fn parse_int(m: &ArgMatches, name: &str) -> Result<Option<i32>, ArgsExit> {
    match m.get_one::<String>(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<i32>()
            .map(Some)
            .map_err(|_| ArgsExit::Usage(format!("Cannot parse argument '{v}' of option {name}"))),
    }
}

/// Parse `kafka-topics` arguments (without the program name) and run Kafka's checks.
pub fn parse_args(args: &[String]) -> Result<TopicCommandOptions, ArgsExit> {
    if args.is_empty() {
        return Err(ArgsExit::Usage("Create, delete, describe, or change a topic.".into()));
    }
    let m = command().try_get_matches_from(args).map_err(|e| ArgsExit::Usage(clap_error_message(&e)))?;
    let has = |name: &str| match m.try_get_raw(name) {
        Ok(Some(_)) => m.value_source(name) == Some(clap::parser::ValueSource::CommandLine),
        _ => false,
    };
    if has("help") {
        return Err(ArgsExit::Usage("This tool helps to create, delete, describe, or change a topic.".into()));
    }
    if has("version") {
        return Err(ArgsExit::Version);
    }

    let actions = ["create", "list", "alter", "describe", "delete"];
    if actions.iter().filter(|a| has(a)).count() != 1 {
        return Err(ArgsExit::Usage(
            "Command must include exactly one action: --list, --describe, --create, --alter or --delete".into(),
        ));
    }
    if has("bootstrap-server") == has("zookeeper") {
        return Err(ArgsExit::Fatal("Only one of --bootstrap-server or --zookeeper must be specified".into()));
    }
    let missing = |name: &str| ArgsExit::Usage(format!("Missing required argument \"[{name}]\""));
    if has("describe") && has("if-exists") && !has("topic") {
        return Err(missing("topic"));
    }
    if !has("list") && !has("describe") && !has("topic") {
        return Err(missing("topic"));
    }
    if has("create") && !has("replica-assignment") && has("zookeeper") {
        for required in ["partitions", "replication-factor"] {
            if !has(required) {
                return Err(missing(required));
            }
        }
    }
    if has("bootstrap-server") && has("alter") {
        if has("config") {
            return Err(ArgsExit::Usage(
                "Option combination \"[bootstrap-server],[config]\" can't be used with option \"[alter]\" \
                 (the kafka-configs CLI supports altering topic configs with a --bootstrap-server option)"
                    .into(),
            ));
        }
        if !has("partitions") {
            return Err(missing("partitions"));
        }
    }

    // Options that only make sense with some actions; same order as Kafka checks them.
    const ALL_ACTIONS: [&str; 5] = ["alter", "create", "describe", "list", "delete"];
    const REPORTS: [&str; 4] =
        ["under-replicated-partitions", "under-min-isr-partitions", "at-min-isr-partitions", "unavailable-partitions"];
    let others = |allowed: &[&str]| -> Vec<&'static str> {
        ALL_ACTIONS.iter().copied().filter(|a| !allowed.contains(a)).collect()
    };
    let report_conflicts = |me: &str, extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = others(&["describe"]);
        v.extend(REPORTS.iter().copied().filter(|r| *r != me));
        v.push("topics-with-overrides");
        v.extend_from_slice(extra);
        v
    };
    let mut rules: Vec<(&str, Vec<&'static str>)> = vec![
        ("config", others(&["alter", "create"])),
        ("delete-config", {
            let mut v = others(&["alter"]);
            v.push("bootstrap-server");
            v
        }),
        ("partitions", others(&["alter", "create"])),
        ("replication-factor", others(&["create"])),
        ("replica-assignment", others(&["create", "alter"])),
    ];
    if has("create") {
        rules.push(("replica-assignment", vec!["partitions", "replication-factor"]));
    }
    rules.push(("under-replicated-partitions", report_conflicts("under-replicated-partitions", &[])));
    rules.push(("under-min-isr-partitions", report_conflicts("under-min-isr-partitions", &["zookeeper"])));
    rules.push(("at-min-isr-partitions", report_conflicts("at-min-isr-partitions", &["zookeeper"])));
    rules.push(("unavailable-partitions", report_conflicts("unavailable-partitions", &[])));
    rules.push(("topics-with-overrides", {
        let mut v = others(&["describe"]);
        v.extend_from_slice(&REPORTS);
        v
    }));
    rules.push(("if-exists", others(&["alter", "delete", "describe"])));
    rules.push(("if-not-exists", others(&["create"])));
    rules.push(("exclude-internal", others(&["list", "describe"])));
    for (used, invalid) in &rules {
        if has(used) {
            if let Some(bad) = invalid.iter().find(|o| has(o)) {
                return Err(ArgsExit::Usage(format!("Option \"[{used}]\" can't be used with option \"[{bad}]\"")));
            }
        }
    }

    let action = if has("create") {
        TopicAction::Create
    } else if has("list") {
        TopicAction::List
    } else if has("describe") {
        TopicAction::Describe
    } else if has("alter") {
        TopicAction::Alter
    } else {
        TopicAction::Delete
    };
    let strings = |name: &str| -> Vec<String> {
        m.get_many::<String>(name).map(|v| v.cloned().collect()).unwrap_or_default()
    };
    let one = |name: &str| m.get_one::<String>(name).cloned();
    Ok(TopicCommandOptions {
        action: Some(action),
        zookeeper: one("zookeeper"),
        bootstrap_server: one("bootstrap-server"),
        command_config: one("command-config"),
        topic: one("topic"),
        partitions: parse_int(&m, "partitions")?,
        replication_factor: parse_int(&m, "replication-factor")?,
        replica_assignment: one("replica-assignment").filter(|s| !s.is_empty()),
        configs: strings("config"),
        delete_configs: strings("delete-config"),
        if_exists: has("if-exists"),
        if_not_exists: has("if-not-exists"),
        under_replicated: has("under-replicated-partitions"),
        unavailable: has("unavailable-partitions"),
        under_min_isr: has("under-min-isr-partitions"),
        at_min_isr: has("at-min-isr-partitions"),
        topics_with_overrides: has("topics-with-overrides"),
        exclude_internal: has("exclude-internal"),
        disable_rack_aware: has("disable-rack-aware"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<TopicCommandOptions, ArgsExit> {
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
    fn create_with_everything() {
        let o = parse(
            "--zookeeper localhost:2181/kafka --create --topic NEWS --partitions 3 --replication-factor 2 \
             --config retention.ms=1000 --config cleanup.policy=compact --if-not-exists --disable-rack-aware --force",
        )
        .unwrap();
        assert_eq!(o.action(), TopicAction::Create);
        assert_eq!(o.zookeeper.as_deref(), Some("localhost:2181/kafka"));
        assert_eq!(o.topic.as_deref(), Some("NEWS"));
        assert_eq!(o.partitions, Some(3));
        assert_eq!(o.replication_factor, Some(2));
        assert_eq!(o.configs, vec!["retention.ms=1000", "cleanup.policy=compact"]);
        assert!(o.if_not_exists && o.disable_rack_aware);
    }

    #[test]
    fn equals_syntax_abbreviations_and_old_delete_config() {
        let o = parse("--zookeeper=zk:2181 --alter --topic=T --deleteConfig a --delete-config b --conf x=1").unwrap();
        assert_eq!(o.delete_configs, vec!["a", "b"]);
        assert_eq!(o.configs, vec!["x=1"]);
        // An exact long name wins over a longer one it prefixes.
        let o = parse("--zookeeper zk --describe --topic T --topics-with-overrides").unwrap();
        assert_eq!(o.topic.as_deref(), Some("T"));
        assert!(o.topics_with_overrides);
        // Negative numbers are values, checked later by placement.
        assert_eq!(parse("--zookeeper zk --create --topic T --partitions -1 --replication-factor 1").unwrap().partitions, Some(-1));
    }

    #[test]
    fn action_rules() {
        let one = "Command must include exactly one action: --list, --describe, --create, --alter or --delete";
        assert_eq!(usage_msg("--zookeeper zk"), one);
        assert_eq!(usage_msg("--zookeeper zk --list --describe"), one);
        assert_eq!(usage_msg("--help"), "This tool helps to create, delete, describe, or change a topic.");
        assert_eq!(parse_args(&[]), Err(ArgsExit::Usage("Create, delete, describe, or change a topic.".into())));
        assert_eq!(parse("--version"), Err(ArgsExit::Version));
        assert_eq!(
            parse("--list"),
            Err(ArgsExit::Fatal("Only one of --bootstrap-server or --zookeeper must be specified".into()))
        );
    }

    #[test]
    fn required_and_invalid_combinations() {
        assert_eq!(usage_msg("--zookeeper zk --create --partitions 1"), "Missing required argument \"[topic]\"");
        assert_eq!(usage_msg("--zookeeper zk --delete"), "Missing required argument \"[topic]\"");
        assert_eq!(
            usage_msg("--zookeeper zk --create --topic T --replication-factor 1"),
            "Missing required argument \"[partitions]\""
        );
        assert_eq!(usage_msg("--zookeeper zk --create --topic T --partitions 1"), "Missing required argument \"[replication-factor]\"");
        assert_eq!(
            usage_msg("--zookeeper zk --create --topic T --replica-assignment 1:2 --partitions 1"),
            "Option \"[replica-assignment]\" can't be used with option \"[partitions]\""
        );
        assert_eq!(
            usage_msg("--zookeeper zk --list --config a=b"),
            "Option \"[config]\" can't be used with option \"[list]\""
        );
        assert_eq!(
            usage_msg("--zookeeper zk --create --topic T --partitions 1 --replication-factor 1 --delete-config a"),
            "Option \"[delete-config]\" can't be used with option \"[create]\""
        );
        assert_eq!(
            usage_msg("--zookeeper zk --alter --topic T --replication-factor 1"),
            "Option \"[replication-factor]\" can't be used with option \"[alter]\""
        );
        assert_eq!(
            usage_msg("--zookeeper zk --describe --under-replicated-partitions --unavailable-partitions"),
            "Option \"[under-replicated-partitions]\" can't be used with option \"[unavailable-partitions]\""
        );
        assert_eq!(
            usage_msg("--zookeeper zk --describe --under-min-isr-partitions"),
            "Option \"[under-min-isr-partitions]\" can't be used with option \"[zookeeper]\""
        );
        assert_eq!(
            usage_msg("--zookeeper zk --list --topics-with-overrides"),
            "Option \"[topics-with-overrides]\" can't be used with option \"[list]\""
        );
        assert_eq!(
            usage_msg("--zookeeper zk --create --topic T --partitions 1 --replication-factor 1 --if-exists"),
            "Option \"[if-exists]\" can't be used with option \"[create]\""
        );
        assert_eq!(
            usage_msg("--zookeeper zk --delete --topic T --if-not-exists"),
            "Option \"[if-not-exists]\" can't be used with option \"[delete]\""
        );
        assert_eq!(
            usage_msg("--zookeeper zk --delete --topic T --exclude-internal"),
            "Option \"[exclude-internal]\" can't be used with option \"[delete]\""
        );
        assert_eq!(usage_msg("--zookeeper zk --describe --if-exists"), "Missing required argument \"[topic]\"");
        // --replica-assignment alone satisfies create.
        assert!(parse("--zookeeper zk --create --topic T --replica-assignment 1:2,2:1").is_ok());
    }

    #[test]
    fn bad_tokens() {
        assert_eq!(usage_msg("--zookeeper zk --list --bogus"), "bogus is not a recognized option");
        assert_eq!(usage_msg("--zookeeper zk --create --topic T --partitions x --replication-factor 1"), "Cannot parse argument 'x' of option partitions");
        assert!(!usage_msg("--list --zookeeper").is_empty());
        // Stray words are ignored, as joptsimple's non-option arguments are.
        assert!(parse("--zookeeper zk --list stray").is_ok());
    }

    #[test]
    fn usage_lists_every_flag() {
        let u = usage();
        for f in ["--zookeeper <hosts>", "--replica-assignment", "--delete-config <name>", "--if-not-exists"] {
            assert!(u.contains(f), "{f}");
        }
    }
}
