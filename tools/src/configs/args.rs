//! `kafka-configs` command line: clap tokenizes, then Kafka 2.8's `ConfigCommand` checks run in
//! its order with its messages.

use clap::{Arg, ArgAction, ArgMatches, Command};

use super::ConfigsError;
use crate::cli::{self, flag, given, many, rest, value};
use crate::topics::usage::{clap_error_message, render_usage, OptionHelp};

/// Entity types accepted with `--zookeeper`.
pub const ZK_ENTITY_TYPES: [&str; 5] = ["topics", "clients", "users", "brokers", "ips"];
/// Entity types accepted with `--bootstrap-server`.
pub const BROKER_ENTITY_TYPES: [&str; 6] = ["topics", "clients", "users", "brokers", "ips", "broker-loggers"];

/// Parsed and checked `kafka-configs` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigCommandOptions {
    /// `--zookeeper`.
    pub zookeeper: Option<String>,
    /// `--bootstrap-server` (refused when running).
    pub bootstrap_server: Option<String>,
    /// `--alter` (otherwise `--describe`).
    pub alter: bool,
    /// Entity types in Kafka's order: `--entity-type` values, then specific flags.
    pub entity_types: Vec<String>,
    /// Entity names in Kafka's order; an empty string stands for a default entity.
    pub entity_names: Vec<String>,
    /// `--add-config k1=v1,k2=[a,b]`.
    pub add_config: Option<String>,
    /// `--add-config-file`.
    pub add_config_file: Option<String>,
    /// `--delete-config k1,k2` (repeatable), split on commas.
    pub delete_configs: Vec<String>,
    /// Whether `--delete-config` was given at all.
    pub has_delete_config: bool,
}

const HELP: &[OptionHelp] = &[
    OptionHelp { flag: "--add-config", arg: Some("String"), help: "Overrides to set, 'k1=v1,k2=[v1,v2,v2],k3=v3' (brackets group values containing commas)." },
    OptionHelp { flag: "--add-config-file", arg: Some("String"), help: "Properties file with the overrides to set." },
    OptionHelp { flag: "--all", arg: None, help: "Show every config, defaults included (needs --bootstrap-server)." },
    OptionHelp { flag: "--alter", arg: None, help: "Change the overrides of an entity." },
    OptionHelp { flag: "--bootstrap-server", arg: Some("server to connect to"), help: "Broker to talk to instead of ZooKeeper (not supported by this implementation yet)." },
    OptionHelp { flag: "--broker", arg: Some("String"), help: "Short for --entity-type brokers --entity-name <id>." },
    OptionHelp { flag: "--broker-defaults", arg: None, help: "Short for --entity-type brokers --entity-default." },
    OptionHelp { flag: "--broker-logger", arg: Some("String"), help: "Logger levels of a broker (needs --bootstrap-server)." },
    OptionHelp { flag: "--client", arg: Some("String"), help: "Short for --entity-type clients --entity-name <client id>." },
    OptionHelp { flag: "--client-defaults", arg: None, help: "Short for --entity-type clients --entity-default." },
    OptionHelp { flag: "--command-config", arg: Some("command config property file"), help: "Admin client properties, used with --bootstrap-server." },
    OptionHelp { flag: "--delete-config", arg: Some("String"), help: "Override keys to remove, 'k1,k2'." },
    OptionHelp { flag: "--describe", arg: None, help: "Show the overrides of one entity, or of every entity of a type." },
    OptionHelp { flag: "--entity-default", arg: None, help: "The default entity of clients/users/brokers/ips (pairs with --entity-type)." },
    OptionHelp { flag: "--entity-name", arg: Some("String"), help: "Topic name, client id, user principal, broker id or IP." },
    OptionHelp { flag: "--entity-type", arg: Some("String"), help: "topics, clients, users, brokers or ips (users and clients may be combined)." },
    OptionHelp { flag: "--force", arg: None, help: "Accepted for compatibility; has no effect." },
    OptionHelp { flag: "--help", arg: None, help: "Show this table." },
    OptionHelp { flag: "--ip", arg: Some("String"), help: "Short for --entity-type ips --entity-name <ip>." },
    OptionHelp { flag: "--ip-defaults", arg: None, help: "Short for --entity-type ips --entity-default." },
    OptionHelp { flag: "--topic", arg: Some("String"), help: "Short for --entity-type topics --entity-name <topic>." },
    OptionHelp { flag: "--user", arg: Some("String"), help: "Short for --entity-type users --entity-name <principal>." },
    OptionHelp { flag: "--user-defaults", arg: None, help: "Short for --entity-type users --entity-default." },
    OptionHelp { flag: "--version", arg: None, help: "Print the Kafka version this tool mirrors." },
    OptionHelp { flag: "--zk-tls-config-file", arg: Some("ZooKeeper TLS configuration"), help: "ZooKeeper TLS client properties (TLS is not supported yet)." },
    OptionHelp { flag: "--zookeeper", arg: Some("urls"), help: "ZooKeeper connect string host:port[/chroot] (deprecated in Kafka 2.8)." },
];

/// The usage table printed with argument errors and `--help`.
pub fn usage() -> String {
    render_usage(HELP)
}

/// Specific entity flags and the entity type each stands for, in Kafka's order.
const ENTITY_FLAGS: [(&str, &str); 6] = [
    ("topic", "topics"),
    ("client", "clients"),
    ("user", "users"),
    ("broker", "brokers"),
    ("broker-logger", "broker-loggers"),
    ("ip", "ips"),
];
/// Default-entity flags and their entity types, in Kafka's order.
const DEFAULT_FLAGS: [(&str, &str); 4] =
    [("client-defaults", "clients"), ("user-defaults", "users"), ("broker-defaults", "brokers"), ("ip-defaults", "ips")];

fn command() -> Command {
    let mut cmd = cli::command("kafka-configs")
        .arg(value("zookeeper"))
        .arg(value("bootstrap-server"))
        .arg(value("command-config"))
        .arg(value("zk-tls-config-file"))
        .arg(many("entity-type"))
        .arg(many("entity-name"))
        .arg(Arg::new("entity-default").long("entity-default").action(ArgAction::Count))
        .arg(value("add-config"))
        .arg(value("add-config-file"))
        .arg(many("delete-config"))
        .arg(flag("alter"))
        .arg(flag("describe"))
        .arg(flag("all"))
        .arg(flag("force"))
        .arg(flag("help"))
        .arg(flag("version"))
        .arg(rest());
    for (f, _) in ENTITY_FLAGS {
        cmd = cmd.arg(value(f));
    }
    for (f, _) in DEFAULT_FLAGS {
        cmd = cmd.arg(flag(f));
    }
    cmd
}

/// Names from `--entity-name`/`--entity-default` in command-line order (a default is ""),
/// then the specific flags' values, then "" per default flag (Kafka's `entityNames`).
fn entity_names(m: &ArgMatches) -> Vec<String> {
    let mut positional: Vec<(usize, String)> = Vec::new();
    if let (Some(idx), Some(vals)) = (m.indices_of("entity-name"), m.get_many::<String>("entity-name")) {
        positional.extend(idx.zip(vals.cloned()));
    }
    if given(m, "entity-default") {
        if let Some(idx) = m.indices_of("entity-default") {
            positional.extend(idx.map(|i| (i, String::new())));
        }
    }
    positional.sort_by_key(|(i, _)| *i);
    let mut names: Vec<String> = positional.into_iter().map(|(_, n)| n).collect();
    for (f, _) in ENTITY_FLAGS {
        if let Some(v) = m.get_one::<String>(f) {
            names.push(v.clone());
        }
    }
    for (f, _) in DEFAULT_FLAGS {
        if given(m, f) {
            names.push(String::new());
        }
    }
    names
}

/// Whether `name` is an IP literal or a resolvable host (Kafka's `isValidIpEntity`).
pub fn is_valid_ip_entity(name: &str) -> bool {
    use std::net::ToSocketAddrs;
    name == "<default>" || name.parse::<std::net::IpAddr>().is_ok() || (name, 0).to_socket_addrs().is_ok()
}

/// Parse `kafka-configs` arguments (without the program name) and run Kafka's checks.
pub fn parse_args(args: &[String]) -> Result<ConfigCommandOptions, ConfigsError> {
    const HELP_MESSAGE: &str =
        "This tool helps to manipulate and describe entity config for a topic, client, user, broker or ip";
    if args.is_empty() {
        return Err(ConfigsError::Usage(HELP_MESSAGE.into()));
    }
    let m = command().try_get_matches_from(args).map_err(|e| ConfigsError::Usage(clap_error_message(&e)))?;
    let has = |name: &str| given(&m, name);
    if has("help") {
        return Err(ConfigsError::Usage(HELP_MESSAGE.into()));
    }
    if has("version") {
        return Err(ConfigsError::Version);
    }
    let illegal = |s: String| Err(ConfigsError::Illegal(s));

    if ["alter", "describe"].iter().filter(|a| has(a)).count() != 1 {
        return Err(ConfigsError::Usage("Command must include exactly one action: --describe, --alter".into()));
    }
    if has("describe") {
        if let Some(bad) = ["alter", "add-config", "delete-config"].iter().find(|o| has(o)) {
            return Err(ConfigsError::Usage(format!("Option \"[describe]\" can't be used with option \"[{bad}]\"")));
        }
    }

    let mut types: Vec<String> = m.get_many::<String>("entity-type").map(|v| v.cloned().collect()).unwrap_or_default();
    types.extend(ENTITY_FLAGS.iter().filter(|(f, _)| has(f)).map(|(_, t)| t.to_string()));
    types.extend(DEFAULT_FLAGS.iter().filter(|(f, _)| has(f)).map(|(_, t)| t.to_string()));
    let mut distinct: Vec<&String> = Vec::new();
    let mut extra: Vec<&String> = Vec::new();
    for t in &types {
        if distinct.contains(&t) {
            extra.push(t);
        } else {
            distinct.push(t);
        }
    }
    if !extra.is_empty() {
        let extra: Vec<&str> = extra.iter().map(|s| s.as_str()).collect();
        return illegal(format!("Duplicate entity type(s) specified: {}", extra.join(",")));
    }
    let (allowed, connect_opt): (&[&str], &str) = if has("bootstrap-server") {
        (&BROKER_ENTITY_TYPES, "--bootstrap-server")
    } else {
        (&ZK_ENTITY_TYPES, "--zookeeper")
    };
    if let Some(bad) = types.iter().find(|t| !allowed.contains(&t.as_str())) {
        return illegal(format!(
            "Invalid entity type {bad}, the entity type must be one of {} with the {connect_opt} argument",
            allowed.join(",")
        ));
    }
    if types.is_empty() {
        return illegal("At least one entity type must be specified".into());
    }
    if types.len() > 1 && !(types.len() == 2 && types.contains(&"users".into()) && types.contains(&"clients".into())) {
        return illegal("Only 'users' and 'clients' entity types may be specified together".into());
    }
    let specific = ENTITY_FLAGS.iter().chain(DEFAULT_FLAGS.iter()).any(|(f, _)| has(f));
    if (has("entity-name") || has("entity-type") || has("entity-default")) && specific {
        return illegal("--entity-{type,name,default} should not be used in conjunction with specific entity flags".into());
    }
    let names = entity_names(&m);
    let has_entity_name = names.iter().any(|n| !n.is_empty());
    let has_entity_default = names.iter().any(|n| n.is_empty());

    match (has("bootstrap-server"), has("zookeeper")) {
        (false, false) => {
            return illegal("One of the required --bootstrap-server or --zookeeper arguments must be specified".into())
        }
        (true, true) => return illegal("Only one of --bootstrap-server or --zookeeper must be specified".into()),
        _ => {}
    }
    if has("all") && has("zookeeper") {
        return illegal("--bootstrap-server must be specified for --all".into());
    }
    let first_value = |name: &str| m.get_many::<String>(name).and_then(|mut v| v.next().cloned());
    if has_entity_name && (types.iter().any(|t| t == "brokers" || t == "broker-loggers")) {
        for id in ["entity-name", "broker", "broker-logger"].iter().filter_map(|o| first_value(o)) {
            if id.trim().parse::<i32>().is_err() {
                return illegal(format!(
                    "The entity name for {} must be a valid integer broker id, but it is: {id}",
                    types[0]
                ));
            }
        }
    }
    if has_entity_name && types.iter().any(|t| t == "ips") {
        for ip in ["entity-name", "ip"].iter().filter_map(|o| first_value(o)) {
            if !is_valid_ip_entity(&ip) {
                return illegal(format!(
                    "The entity name for {} must be a valid IP or resolvable host, but it is: {ip}",
                    types[0]
                ));
            }
        }
    }
    if has("describe") && types.iter().any(|t| t == "broker-loggers") && !has_entity_name {
        return illegal(format!("an entity name must be specified with --describe of {}", types.join(",")));
    }
    if has("alter") {
        if types.iter().any(|t| ["users", "clients", "brokers", "ips"].contains(&t.as_str())) {
            if !has_entity_name && !has_entity_default {
                return illegal(
                    "an entity-name or default entity must be specified with --alter of users, clients, brokers or ips"
                        .into(),
                );
            }
        } else if !has_entity_name {
            return illegal(format!("an entity name must be specified with --alter of {}", types.join(",")));
        }
        if has("add-config") && has("add-config-file") {
            return illegal("Only one of --add-config or --add-config-file must be specified".into());
        }
        if !has("add-config") && !has("add-config-file") && !has("delete-config") {
            return illegal(
                "At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter"
                    .into(),
            );
        }
    }

    let delete_configs: Vec<String> = m
        .get_many::<String>("delete-config")
        .map(|v| v.flat_map(|s| s.split(',').map(str::to_string).collect::<Vec<_>>()).collect())
        .unwrap_or_default();
    Ok(ConfigCommandOptions {
        zookeeper: m.get_one::<String>("zookeeper").cloned(),
        bootstrap_server: m.get_one::<String>("bootstrap-server").cloned(),
        alter: has("alter"),
        entity_types: types,
        entity_names: names,
        add_config: m.get_one::<String>("add-config").cloned(),
        add_config_file: m.get_one::<String>("add-config-file").cloned(),
        delete_configs,
        has_delete_config: has("delete-config"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ConfigCommandOptions, ConfigsError> {
        let args: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse_args(&args)
    }

    fn illegal(s: &str) -> String {
        match parse(s) {
            Err(ConfigsError::Illegal(m)) => m,
            other => panic!("{s}: expected an illegal-argument error, got {other:?}"),
        }
    }

    #[test]
    fn topic_alter_long_and_short_forms() {
        let o = parse("--zookeeper zk:2181 --entity-type topics --entity-name T --alter --add-config a=1,b=[x,y] --delete-config c,d --delete-config e")
            .unwrap();
        assert!(o.alter);
        assert_eq!(o.entity_types, vec!["topics"]);
        assert_eq!(o.entity_names, vec!["T"]);
        assert_eq!(o.add_config.as_deref(), Some("a=1,b=[x,y]"));
        assert_eq!(o.delete_configs, vec!["c", "d", "e"]);
        let short = parse("--zookeeper zk:2181 --topic T --alter --add-config a=1").unwrap();
        assert_eq!(short.entity_types, vec!["topics"]);
        assert_eq!(short.entity_names, vec!["T"]);
    }

    #[test]
    fn names_follow_command_line_order() {
        let o = parse("--zookeeper zk --describe --entity-type users --entity-default --entity-type clients --entity-name c1")
            .unwrap();
        assert_eq!(o.entity_types, vec!["users", "clients"]);
        assert_eq!(o.entity_names, vec!["", "c1"]);
        let o = parse("--zookeeper zk --describe --user-defaults").unwrap();
        assert_eq!((o.entity_types, o.entity_names), (vec!["users".to_string()], vec![String::new()]));
    }

    #[test]
    fn kafka_checks() {
        assert_eq!(
            parse("--zookeeper zk --entity-type topics"),
            Err(ConfigsError::Usage("Command must include exactly one action: --describe, --alter".into()))
        );
        assert_eq!(
            parse("--zookeeper zk --topic T --describe --add-config a=1"),
            Err(ConfigsError::Usage("Option \"[describe]\" can't be used with option \"[add-config]\"".into()))
        );
        assert_eq!(illegal("--zookeeper zk --describe --entity-type topics --entity-type topics"), "Duplicate entity type(s) specified: topics");
        assert_eq!(
            illegal("--zookeeper zk --describe --entity-type topic"),
            "Invalid entity type topic, the entity type must be one of topics,clients,users,brokers,ips with the --zookeeper argument"
        );
        assert_eq!(illegal("--zookeeper zk --describe"), "At least one entity type must be specified");
        assert_eq!(
            illegal("--zookeeper zk --describe --entity-type topics --entity-type brokers"),
            "Only 'users' and 'clients' entity types may be specified together"
        );
        assert_eq!(
            illegal("--zookeeper zk --describe --entity-type topics --topic T"),
            "Duplicate entity type(s) specified: topics"
        );
        assert_eq!(
            illegal("--zookeeper zk --describe --entity-name x --topic T"),
            "--entity-{type,name,default} should not be used in conjunction with specific entity flags"
        );
        assert_eq!(
            illegal("--describe --topic T"),
            "One of the required --bootstrap-server or --zookeeper arguments must be specified"
        );
        assert_eq!(illegal("--zookeeper zk --describe --topic T --all"), "--bootstrap-server must be specified for --all");
        assert_eq!(
            illegal("--zookeeper zk --describe --broker x"),
            "The entity name for brokers must be a valid integer broker id, but it is: x"
        );
        assert_eq!(illegal("--zookeeper zk --alter --entity-type topics --add-config a=1"), "an entity name must be specified with --alter of topics");
        assert_eq!(
            illegal("--zookeeper zk --alter --entity-type clients --add-config a=1"),
            "an entity-name or default entity must be specified with --alter of users, clients, brokers or ips"
        );
        assert_eq!(
            illegal("--zookeeper zk --alter --topic T"),
            "At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter"
        );
        assert_eq!(
            illegal("--zookeeper zk --alter --topic T --add-config a=1 --add-config-file f"),
            "Only one of --add-config or --add-config-file must be specified"
        );
        assert!(parse("--zookeeper zk --alter --entity-type brokers --entity-default --add-config a=1").is_ok());
        assert!(parse("--zookeeper zk --describe --ip 127.0.0.1").is_ok());
    }

    #[test]
    fn bad_tokens_and_help() {
        assert_eq!(parse("--zookeeper zk --describe --bogus"), Err(ConfigsError::Usage("bogus is not a recognized option".into())));
        assert!(matches!(parse("--help"), Err(ConfigsError::Usage(m)) if m.starts_with("This tool helps")));
        assert_eq!(parse("--version"), Err(ConfigsError::Version));
    }
}
