//! `kafka-preferred-replica-election` (deprecated in Kafka 2.8): writes
//! `/admin/preferred_replica_election` for the controller, as `PreferredReplicaLeaderElectionCommand`
//! does with `--zookeeper`. With `--bootstrap-server` it sends ElectLeaders (PREFERRED) instead.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use zk_schema::model::{PartitionRef, PartitionsZNode};
use zk_schema::{paths, KafkaZkClient, ZkError};

use super::client::{elect_leaders, ElectError, ElectionType};
use super::json::{parse_election_partitions, ElectionFileKind};
use super::{read_file, sorted_tps, uncaught, ADMIN_COMMAND_FAILED, ADMIN_OPERATION};
use crate::cli::{command, flag, given, rest, value};
use crate::reassign::json::{tp_string, Tp};
use crate::topics::usage::{clap_error_message, render_usage, ArgsExit, OptionHelp};
use crate::topics::{block_on, close, connect, report_args_exit};

/// First line of every run.
pub const DEPRECATED: &str = "This tool is deprecated. Please use kafka-leader-election tool. Tracking issue: KAFKA-8405";
const HELP_TEXT: &str = "This tool helps to causes leadership for each partition to be transferred back to the 'preferred replica', it can be used to balance leadership among the servers.";

const HELP: &[OptionHelp] = &[
    OptionHelp { flag: "--admin.config", arg: Some("String: config file"), help: "Admin client properties for --bootstrap-server (ignored by this implementation)." },
    OptionHelp { flag: "--bootstrap-server", arg: Some("String: host:port"), help: "Broker to send the election request to (replaces --zookeeper)." },
    OptionHelp { flag: "--help", arg: None, help: "Show this table." },
    OptionHelp { flag: "--path-to-json-file", arg: Some("String: list of partitions for which preferred replica leader election needs to be triggered"), help: "File with the partitions to elect, {\"partitions\":[{\"topic\":\"foo\",\"partition\":1}]}; all partitions when omitted." },
    OptionHelp { flag: "--version", arg: None, help: "Print the Kafka version this tool mirrors." },
    OptionHelp { flag: "--zookeeper", arg: Some("String: urls"), help: "ZooKeeper connect string host:port[/chroot] (deprecated in Kafka 2.8)." },
];

/// The usage table.
pub fn usage() -> String {
    render_usage(HELP)
}

/// Checked arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreferredOptions {
    /// `--zookeeper`.
    pub zookeeper: Option<String>,
    /// `--bootstrap-server`.
    pub bootstrap_server: Option<String>,
    /// `--path-to-json-file`.
    pub json_file: Option<String>,
    /// `--admin.config` (ignored).
    pub admin_config: Option<String>,
}

/// Parse and check the arguments (program name excluded).
pub fn parse_args(args: &[String]) -> Result<PreferredOptions, ArgsExit> {
    let cmd = command("kafka-preferred-replica-election")
        .arg(value("zookeeper"))
        .arg(value("bootstrap-server"))
        .arg(value("path-to-json-file"))
        .arg(value("admin.config"))
        .arg(flag("help"))
        .arg(flag("version"))
        .arg(rest());
    let m = cmd.try_get_matches_from(args).map_err(|e| ArgsExit::Usage(clap_error_message(&e)))?;
    let has = |name: &str| given(&m, name);
    if args.is_empty() || has("help") {
        return Err(ArgsExit::Usage(HELP_TEXT.into()));
    }
    if has("version") {
        return Err(ArgsExit::Version);
    }
    if has("admin.config") && !has("bootstrap-server") {
        return Err(ArgsExit::Fatal(uncaught(
            "joptsimple.UnavailableOptionException",
            "Option(s) [admin.config] are unavailable given other options on the command line",
        )));
    }
    if has("bootstrap-server") == has("zookeeper") {
        return Err(ArgsExit::Usage("Exactly one of '[bootstrap-server]' or '[zookeeper]' must be provided".into()));
    }
    let one = |name: &str| m.get_one::<String>(name).cloned();
    Ok(PreferredOptions {
        zookeeper: one("zookeeper"),
        bootstrap_server: one("bootstrap-server"),
        json_file: one("path-to-json-file"),
        admin_config: one("admin.config"),
    })
}

/// Scala's `Set(t-0, t-1)` (sorted here for stable output).
pub fn scala_set(tps: &[Tp]) -> String {
    format!("Set({})", tps.iter().map(tp_string).collect::<Vec<_>>().join(", "))
}

/// The ZooKeeper path: validate against `/brokers/topics`, write the election node, report.
pub async fn elect_via_zookeeper(
    zk: &KafkaZkClient,
    from_user: Option<Vec<Tp>>,
    out: &mut dyn Write,
) -> Result<(), String> {
    let err = |e: ZkError| uncaught(ADMIN_OPERATION, &e.to_string());
    let topics: BTreeSet<String> = match &from_user {
        Some(ps) => ps.iter().map(|(t, _)| t.clone()).collect(),
        None => zk.get_all_topics().await.map_err(err)?.into_iter().collect(),
    };
    let mut existing: BTreeSet<Tp> = BTreeSet::new();
    for topic in &topics {
        if let Some((node, _)) = zk.get_topic(topic).await.map_err(err)? {
            existing.extend(node.partitions.keys().map(|p| (topic.clone(), *p)));
        }
    }
    let (valid, invalid): (Vec<Tp>, Vec<Tp>) = match from_user {
        Some(ps) => sorted_tps(ps).into_iter().partition(|tp| existing.contains(tp)),
        None => (existing.into_iter().collect(), Vec::new()),
    };
    let node = PartitionsZNode::new(
        valid.iter().map(|(topic, partition)| PartitionRef { topic: topic.clone(), partition: *partition }).collect(),
    );
    match zk.create_recursive(paths::PREFERRED_REPLICA_ELECTION, &node.encode()).await {
        Ok(()) => {}
        Err(ZkError::NodeExists(_)) => {
            let current = match zk.get_data(paths::PREFERRED_REPLICA_ELECTION).await.map_err(err)? {
                Some((data, _)) => PartitionsZNode::decode(paths::PREFERRED_REPLICA_ELECTION, &data)
                    .map(|n| n.partitions.into_iter().map(|p| format!("{}-{}", p.topic, p.partition)).collect())
                    .unwrap_or_default(),
                None => Vec::<String>::new(),
            };
            return Err(uncaught(
                ADMIN_OPERATION,
                &format!(
                    "Preferred replica leader election currently in progress for {}. Aborting operation",
                    current.join(",")
                ),
            ));
        }
        Err(e) => return Err(err(e)),
    }
    let _ = writeln!(
        out,
        "Created preferred replica election path with {}",
        valid.iter().map(tp_string).collect::<Vec<_>>().join(",")
    );
    let _ = writeln!(out, "Successfully started preferred replica election for partitions {}", scala_set(&valid));
    for tp in &invalid {
        let _ = writeln!(
            out,
            "Skipping preferred replica leader election for partition {} since it doesn't exist.",
            tp_string(tp)
        );
    }
    Ok(())
}

/// The `--bootstrap-server` path: ElectLeaders (PREFERRED) through the controller, reported
/// with this tool's (2.8) wording.
async fn elect_via_admin(bootstrap: &str, from_user: Option<Vec<Tp>>, out: &mut dyn Write) -> Result<(), String> {
    let results = match elect_leaders(bootstrap, ElectionType::Preferred, from_user, Duration::from_secs(30)).await {
        Ok(r) => r,
        Err(ElectError::Timeout) => {
            let _ = writeln!(out, "Timeout waiting for election results");
            return Err(uncaught(ADMIN_COMMAND_FAILED, "Timeout waiting for election results"));
        }
        Err(ElectError::Other(text)) => {
            let _ = writeln!(out, "Error while making request");
            let _ = out.flush();
            return Err(text);
        }
    };
    let buckets = super::leader::bucket_results(&results);
    if !buckets.succeeded.is_empty() {
        let _ = writeln!(
            out,
            "Successfully completed preferred leader election for partitions {}",
            buckets.succeeded.iter().map(tp_string).collect::<Vec<_>>().join(", ")
        );
    }
    if !buckets.noop.is_empty() {
        // Kafka 2.8 prints the succeeded set here (a bug kept for output compatibility).
        let _ = writeln!(
            out,
            "Preferred replica already elected for partitions {}",
            buckets.succeeded.iter().map(tp_string).collect::<Vec<_>>().join(", ")
        );
    }
    if !buckets.failed.is_empty() {
        for (tp, text) in &buckets.failed {
            let _ = writeln!(out, "Error completing preferred leader election for partition: {}: {text}", tp_string(tp));
        }
        return Err(uncaught(
            ADMIN_COMMAND_FAILED,
            &format!("{} preferred replica(s) could not be elected", buckets.failed.len()),
        ));
    }
    Ok(())
}

/// Run with `args` (program name excluded); returns the exit code.
pub fn run_with(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let _ = writeln!(out, "{DEPRECATED}");
    let opts = match parse_args(args) {
        Ok(o) => o,
        Err(exit) => {
            let _ = out.flush();
            return report_args_exit(exit, &usage(), out, err);
        }
    };
    let outcome = (|| {
        let from_user = match &opts.json_file {
            Some(path) => Some(
                parse_election_partitions(&read_file(path)?, ElectionFileKind::Preferred)
                    .map_err(|m| uncaught(ADMIN_OPERATION, &m))?,
            ),
            None => None,
        };
        if opts.admin_config.is_some() {
            let _ = writeln!(err, "Note: --admin.config is not supported by this implementation; its properties are ignored.");
        }
        if let Some(zk_connect) = &opts.zookeeper {
            let _ = writeln!(out, "Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.");
            let _ = writeln!(out, "Use --bootstrap-server instead to specify a broker to connect to.");
            block_on(async {
                let zk = connect(zk_connect).await.map_err(|e| uncaught(ADMIN_OPERATION, &e))?;
                let r = elect_via_zookeeper(&zk, from_user, &mut *out).await;
                close(zk).await;
                // Kafka wraps every failure of the ZooKeeper path.
                r.map_err(|cause| {
                    format!(
                        "{}\nCaused by: {}",
                        uncaught(ADMIN_COMMAND_FAILED, "Admin command failed"),
                        cause.trim_start_matches("Exception in thread \"main\" ")
                    )
                })
            })?
        } else {
            let bootstrap = opts.bootstrap_server.clone().unwrap_or_default();
            block_on(elect_via_admin(&bootstrap, from_user, &mut *out))?
        }
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
    crate::cli::main_exit_code(run_with)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<PreferredOptions, ArgsExit> {
        let args: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse_args(&args)
    }

    #[test]
    fn arguments() {
        let o = parse("--zookeeper zk:2181 --path-to-json-file p.json").unwrap();
        assert_eq!(o.zookeeper.as_deref(), Some("zk:2181"));
        assert_eq!(o.json_file.as_deref(), Some("p.json"));
        assert_eq!(parse(""), Err(ArgsExit::Usage(HELP_TEXT.into())));
        assert_eq!(parse("--help"), Err(ArgsExit::Usage(HELP_TEXT.into())));
        let both = Err(ArgsExit::Usage("Exactly one of '[bootstrap-server]' or '[zookeeper]' must be provided".into()));
        assert_eq!(parse("--zookeeper a --bootstrap-server b"), both);
        assert_eq!(parse("--path-to-json-file p"), both);
        assert_eq!(parse("--version"), Err(ArgsExit::Version));
        assert!(matches!(parse("--zookeeper a --admin.config c"), Err(ArgsExit::Fatal(m)) if m.contains("UnavailableOptionException")));
        assert!(parse("--bootstrap-server a --admin.config c").is_ok());
    }

    #[test]
    fn set_rendering() {
        assert_eq!(scala_set(&[("t".into(), 0), ("t".into(), 1)]), "Set(t-0, t-1)");
        assert_eq!(scala_set(&[]), "Set()");
    }
}
