//! The ZooKeeper-mode actions of `kafka-reassign-partitions` (`--generate`, `--execute`,
//! `--verify`) and the pure computations behind them (throttle values, verify status lines).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use zk_schema::admin::{assign_replicas_to_brokers, AdminZkClient};
use zk_schema::{paths, KafkaZkClient, ZkError};

use super::json::{
    duplicates, format_reassign_znode, format_reassignment_json, parse_reassign_znode, parse_reassignment,
    parse_topics_to_move, scala_list, tp_string, ReassignmentEntry, Tp,
};
use crate::topics::assignment::java_split;
use crate::topics::command::{ensure_config_changes_path, placement_brokers, zk_message};

/// Topic config listing the replicas that lead a throttled move (`p:broker,...`).
pub const TOPIC_LEADER_THROTTLE: &str = "leader.replication.throttled.replicas";
/// Topic config listing the replicas that follow in a throttled move.
pub const TOPIC_FOLLOWER_THROTTLE: &str = "follower.replication.throttled.replicas";
/// Broker config: leader-side replication rate limit, B/s.
pub const BROKER_LEADER_THROTTLE: &str = "leader.replication.throttled.rate";
/// Broker config: follower-side replication rate limit, B/s.
pub const BROKER_FOLLOWER_THROTTLE: &str = "follower.replication.throttled.rate";
/// Broker config: log-dir move rate limit (cleared with the others).
pub const BROKER_LOG_DIR_THROTTLE: &str = "replica.alter.log.dirs.io.max.bytes.per.second";

/// Kafka's answer when a reassignment is already running.
pub const CANNOT_EXECUTE_BECAUSE_OF_EXISTING: &str = "Cannot execute because there is an existing partition assignment.  \
Use --additional to override this and create a new partition assignment in addition to the existing one. \
The --additional flag can also be used to change the throttle by resubmitting the current reassignment.";

/// Printed before throttles are set.
pub const RUN_VERIFY_PERIODICALLY: &str =
    "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.";

/// Printed by `--verify` in ZooKeeper mode.
pub const VERIFY_ZK_WARNING: &str = "Warning: because you are using the deprecated --zookeeper option, the results may be incomplete.  Use --bootstrap-server instead for more accurate results.";

/// Kafka's refusal of non-`any` log dirs in ZooKeeper mode.
pub const LOG_DIRS_NEED_BOOTSTRAP: &str = "bootstrap-server needs to be provided when replica reassignments are present.";

/// How an action fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReassignError {
    /// Printed as is (Kafka's `TerseReassignmentFailureException`).
    Terse(String),
    /// Printed as `Error: <message>`.
    Failed(String),
}

impl From<ZkError> for ReassignError {
    fn from(e: ZkError) -> Self {
        ReassignError::Failed(zk_message(e))
    }
}

impl From<String> for ReassignError {
    fn from(m: String) -> Self {
        ReassignError::Failed(m)
    }
}

type Result<T> = std::result::Result<T, ReassignError>;

fn line(out: &mut dyn Write, s: &str) {
    let _ = writeln!(out, "{s}");
}

fn join<T: ToString>(items: impl IntoIterator<Item = T>, sep: &str) -> String {
    items.into_iter().map(|i| i.to_string()).collect::<Vec<_>>().join(sep)
}

/// `--broker-list "1,2,3"` as Kafka reads it (no trimming; duplicates refused).
pub fn parse_broker_list(list: &str) -> Result<Vec<i32>> {
    let ids = java_split(list, ',')
        .into_iter()
        .map(|s| s.parse::<i32>().map_err(|_| format!("For input string: \"{s}\"")))
        .collect::<std::result::Result<Vec<i32>, String>>()?;
    let dups = duplicates(&ids);
    if !dups.is_empty() {
        return Err(ReassignError::Failed(format!("Broker list contains duplicate entries: {}", join(dups, ","))));
    }
    Ok(ids)
}

/// Kafka's checks of an `--execute` file; returns the targets by partition.
pub fn check_execute_entries(entries: &[ReassignmentEntry]) -> Result<BTreeMap<Tp, Vec<i32>>> {
    if entries.is_empty() {
        return Err(ReassignError::Failed("Partition reassignment list cannot be empty".into()));
    }
    if entries.iter().any(|e| e.replicas.is_empty()) {
        return Err(ReassignError::Failed("Partition replica list cannot be empty".into()));
    }
    let tps: Vec<Tp> = entries.iter().map(|e| e.tp.clone()).collect();
    let dup_tps = duplicates(&tps);
    if !dup_tps.is_empty() {
        return Err(ReassignError::Failed(format!(
            "Partition reassignment contains duplicate topic partitions: {}",
            join(dup_tps.iter().map(tp_string), ",")
        )));
    }
    let dup_replicas: Vec<String> = entries
        .iter()
        .filter_map(|e| {
            let d = duplicates(&e.replicas);
            (!d.is_empty()).then(|| format!("{} contains multiple entries for {}", tp_string(&e.tp), join(d, ",")))
        })
        .collect();
    if !dup_replicas.is_empty() {
        return Err(ReassignError::Failed(format!(
            "Partition replica lists may not contain duplicate entries: {}",
            dup_replicas.join(". ")
        )));
    }
    if entries.iter().any(|e| e.has_log_dirs()) {
        return Err(ReassignError::Failed(LOG_DIRS_NEED_BOOTSTRAP.into()));
    }
    Ok(entries.iter().map(|e| (e.tp.clone(), e.replicas.clone())).collect())
}

/// ZooKeeper itself cannot validate a reassignment, so the tool checks that every partition
/// exists and every target broker is registered (Kafka's messages, partitions first).
pub fn check_partitions_and_brokers(
    proposed: &BTreeMap<Tp, Vec<i32>>,
    current: &BTreeMap<Tp, Vec<i32>>,
    live: &BTreeSet<i32>,
) -> Result<()> {
    let missing: Vec<String> = proposed.keys().filter(|tp| !current.contains_key(*tp)).map(tp_string).collect();
    if !missing.is_empty() {
        return Err(ReassignError::Failed(format!(
            "The proposed assignment contains non-existent partitions: {}",
            scala_list(&missing)
        )));
    }
    let unknown: BTreeSet<i32> = proposed.values().flatten().copied().filter(|b| !live.contains(b)).collect();
    if !unknown.is_empty() {
        return Err(ReassignError::Failed(format!(
            "The proposed assignment contains non-existent brokerIDs: {}",
            join(unknown, ",")
        )));
    }
    Ok(())
}

/// A partition's move: replicas it has now, replicas it gains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMove {
    /// Current replicas.
    pub sources: BTreeSet<i32>,
    /// Target replicas not among the current ones.
    pub destinations: BTreeSet<i32>,
}

/// Moves per topic and partition (Kafka's `calculateProposedMoveMap` with nothing in flight).
pub fn proposed_moves(
    proposed: &BTreeMap<Tp, Vec<i32>>,
    current: &BTreeMap<Tp, Vec<i32>>,
) -> Result<BTreeMap<String, BTreeMap<i32, PartitionMove>>> {
    let mut out: BTreeMap<String, BTreeMap<i32, PartitionMove>> = BTreeMap::new();
    for (tp, replicas) in proposed {
        let sources: BTreeSet<i32> = match current.get(tp) {
            Some(c) => c.iter().copied().collect(),
            None => {
                return Err(ReassignError::Failed(format!(
                    "Trying to reassign a topic partition {} with 0 replicas",
                    tp_string(tp)
                )))
            }
        };
        let destinations = replicas.iter().copied().filter(|r| !sources.contains(r)).collect();
        out.entry(tp.0.clone()).or_default().insert(tp.1, PartitionMove { sources, destinations });
    }
    Ok(out)
}

/// `(leader throttles, follower throttles)` per topic: every current replica of each listed
/// partition leads, every new replica follows; `p:broker` items sorted as strings and
/// comma-joined (Kafka keeps them in a `TreeSet[String]`).
pub fn throttled_replicas(
    moves: &BTreeMap<String, BTreeMap<i32, PartitionMove>>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut leaders = BTreeMap::new();
    let mut followers = BTreeMap::new();
    for (topic, parts) in moves {
        let mut l = BTreeSet::new();
        let mut f = BTreeSet::new();
        for (p, m) in parts {
            l.extend(m.sources.iter().map(|b| format!("{p}:{b}")));
            f.extend(m.destinations.iter().filter(|b| !m.sources.contains(b)).map(|b| format!("{p}:{b}")));
        }
        leaders.insert(topic.clone(), join(l, ","));
        followers.insert(topic.clone(), join(f, ","));
    }
    (leaders, followers)
}

/// Every broker that sends or receives data in the moves.
pub fn reassigning_brokers(moves: &BTreeMap<String, BTreeMap<i32, PartitionMove>>) -> BTreeSet<i32> {
    moves
        .values()
        .flat_map(|parts| parts.values())
        .flat_map(|m| m.sources.iter().chain(m.destinations.iter()).copied())
        .collect()
}

/// Where one partition stands, for `--verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionReassignmentState {
    /// Replicas in `/brokers/topics/<T>` now.
    pub current: Vec<i32>,
    /// Replicas the file asks for.
    pub target: Vec<i32>,
    /// Not listed in `/admin/reassign_partitions` any more.
    pub done: bool,
}

/// States of the file's partitions given the topic assignments and the partitions still in
/// `/admin/reassign_partitions`.
pub fn reassignment_states(
    targets: &BTreeMap<Tp, Vec<i32>>,
    current: &BTreeMap<Tp, Vec<i32>>,
    in_progress: &BTreeSet<Tp>,
) -> BTreeMap<Tp, PartitionReassignmentState> {
    targets
        .iter()
        .map(|(tp, target)| {
            (
                tp.clone(),
                PartitionReassignmentState {
                    current: current.get(tp).cloned().unwrap_or_default(),
                    target: target.clone(),
                    done: !in_progress.contains(tp),
                },
            )
        })
        .collect()
}

/// Kafka's `partitionReassignmentStatesToString`, one line per element.
pub fn render_states(states: &BTreeMap<Tp, PartitionReassignmentState>) -> Vec<String> {
    let mut out = vec!["Status of partition reassignment:".to_string()];
    for (tp, s) in states {
        let tp = tp_string(tp);
        out.push(if !s.done {
            format!("Reassignment of partition {tp} is still in progress.")
        } else if s.current == s.target {
            format!("Reassignment of partition {tp} is complete.")
        } else {
            format!(
                "There is no active reassignment of partition {tp}, but replica set is {} rather than {}.",
                join(&s.current, ","),
                join(&s.target, ",")
            )
        });
    }
    out
}

/// `Clearing broker-level throttles on broker(s) ...` / topic-level line.
pub fn clearing_line(level: &str, noun: &str, items: &[String]) -> String {
    format!(
        "Clearing {level}-level throttles on {noun}{} {}",
        if items.len() == 1 { "" } else { "s" },
        items.join(",")
    )
}

fn read_file(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ReassignError::Failed(path.to_string()),
        _ => ReassignError::Failed(format!("{path}: {e}")),
    })
}

/// Current replica lists of `topics`' partitions (missing topics contribute nothing).
async fn current_assignment(zk: &KafkaZkClient, topics: &BTreeSet<String>) -> Result<BTreeMap<Tp, Vec<i32>>> {
    let mut out = BTreeMap::new();
    for topic in topics {
        if let Some((node, _)) = zk.get_topic(topic).await? {
            for (p, r) in node.partitions {
                out.insert((topic.clone(), p), r);
            }
        }
    }
    Ok(out)
}

/// `--generate`.
pub async fn generate(
    zk: &KafkaZkClient,
    topics_file: &str,
    broker_list: &str,
    disable_rack_aware: bool,
    out: &mut dyn Write,
) -> Result<BTreeMap<Tp, Vec<i32>>> {
    let text = read_file(topics_file)?;
    let brokers = parse_broker_list(broker_list)?;
    let topics = parse_topics_to_move(&text)?;
    let dup = duplicates(&topics);
    if !dup.is_empty() {
        return Err(ReassignError::Failed(format!(
            "List of topics to reassign contains duplicate entries: {}",
            dup.join(",")
        )));
    }
    let current = current_assignment(zk, &topics.iter().cloned().collect()).await?;
    let admin = AdminZkClient::new(zk.clone());
    let all = admin.broker_metadatas().await?;
    let chosen = all.into_iter().filter(|b| brokers.contains(&b.id)).collect();
    let metadatas = placement_brokers(chosen, disable_rack_aware).map_err(|e| ReassignError::Failed(e.0))?;
    let mut by_topic: BTreeMap<&str, Vec<(&i32, &Vec<i32>)>> = BTreeMap::new();
    for ((t, p), r) in &current {
        by_topic.entry(t.as_str()).or_default().push((p, r));
    }
    let mut proposed = BTreeMap::new();
    for (topic, parts) in by_topic {
        let rf = parts[0].1.len() as i32;
        let a = assign_replicas_to_brokers(&metadatas, parts.len() as i32, rf, None, 0, disable_rack_aware)?;
        for (p, r) in a {
            proposed.insert((topic.to_string(), p), r);
        }
    }
    line(out, &format!("Current partition replica assignment\n{}\n", format_reassignment_json(&current)));
    line(out, &format!("Proposed partition reassignment configuration\n{}", format_reassignment_json(&proposed)));
    Ok(proposed)
}

/// `--execute`.
pub async fn execute(zk: &KafkaZkClient, file: &str, throttle: i64, out: &mut dyn Write) -> Result<()> {
    let text = read_file(file)?;
    let proposed = check_execute_entries(&parse_reassignment(&text)?)?;
    let topics: BTreeSet<String> = proposed.keys().map(|(t, _)| t.clone()).collect();
    let current = current_assignment(zk, &topics).await?;
    let live: BTreeSet<i32> = zk.get_all_brokers().await?.into_keys().collect();
    check_partitions_and_brokers(&proposed, &current, &live)?;
    if zk.exists(paths::REASSIGN_PARTITIONS).await?.is_some() {
        return Err(ReassignError::Terse(CANNOT_EXECUTE_BECAUSE_OF_EXISTING.into()));
    }
    let rollback: BTreeMap<Tp, Vec<i32>> =
        current.iter().filter(|(tp, _)| proposed.contains_key(*tp)).map(|(k, v)| (k.clone(), v.clone())).collect();
    line(
        out,
        &format!(
            "Current partition replica assignment\n\n{}\n\nSave this to use as the --reassignment-json-file option during rollback",
            format_reassignment_json(&rollback)
        ),
    );
    if throttle >= 0 {
        line(out, RUN_VERIFY_PERIODICALLY);
        let moves = proposed_moves(&proposed, &current)?;
        let (leaders, followers) = throttled_replicas(&moves);
        ensure_config_changes_path(zk).await?;
        for topic in leaders.keys() {
            let mut configs = zk.get_entity_config("topics", topic).await?;
            configs.insert(TOPIC_LEADER_THROTTLE.into(), leaders[topic].clone());
            configs.insert(TOPIC_FOLLOWER_THROTTLE.into(), followers[topic].clone());
            zk.change_entity_config("topics", topic, &configs).await?;
        }
        for broker in reassigning_brokers(&moves) {
            let name = broker.to_string();
            let mut configs = zk.get_entity_config("brokers", &name).await?;
            configs.insert(BROKER_LEADER_THROTTLE.into(), throttle.to_string());
            configs.insert(BROKER_FOLLOWER_THROTTLE.into(), throttle.to_string());
            zk.change_entity_config("brokers", &name, &configs).await?;
        }
        line(out, &format!("The inter-broker throttle limit was set to {throttle} B/s"));
    }
    match zk.create_recursive(paths::REASSIGN_PARTITIONS, format_reassign_znode(&proposed).as_bytes()).await {
        Ok(()) => {}
        Err(ZkError::NodeExists(_)) => return Err(ReassignError::Terse(CANNOT_EXECUTE_BECAUSE_OF_EXISTING.into())),
        Err(e) => return Err(e.into()),
    }
    line(
        out,
        &format!(
            "Successfully started partition reassignment{} for {}",
            if proposed.len() == 1 { "" } else { "s" },
            join(proposed.keys().map(tp_string), ",")
        ),
    );
    Ok(())
}

/// Partitions listed in `/admin/reassign_partitions` (none when the node is absent).
pub async fn partitions_being_reassigned(zk: &KafkaZkClient) -> Result<BTreeSet<Tp>> {
    match zk.get_data(paths::REASSIGN_PARTITIONS).await? {
        None => Ok(BTreeSet::new()),
        Some((data, _)) => {
            let text = String::from_utf8_lossy(&data);
            Ok(parse_reassign_znode(&text)?.into_keys().collect())
        }
    }
}

/// `--verify`; returns whether some reassignment is still running.
pub async fn verify(zk: &KafkaZkClient, file: &str, preserve_throttles: bool, out: &mut dyn Write) -> Result<bool> {
    let text = read_file(file)?;
    let entries = parse_reassignment(&text)?;
    if entries.iter().any(|e| e.has_log_dirs()) {
        return Err(ReassignError::Failed(LOG_DIRS_NEED_BOOTSTRAP.into()));
    }
    line(out, VERIFY_ZK_WARNING);
    let targets: BTreeMap<Tp, Vec<i32>> = entries.iter().map(|e| (e.tp.clone(), e.replicas.clone())).collect();
    let in_progress = partitions_being_reassigned(zk).await?;
    let topics: BTreeSet<String> = targets.keys().map(|(t, _)| t.clone()).collect();
    let current = current_assignment(zk, &topics).await?;
    for l in render_states(&reassignment_states(&targets, &current, &in_progress)) {
        line(out, &l);
    }
    let ongoing = !in_progress.is_empty();
    if !ongoing && !preserve_throttles {
        clear_all_throttles(zk, &targets, out).await?;
    }
    Ok(ongoing)
}

async fn clear_all_throttles(zk: &KafkaZkClient, targets: &BTreeMap<Tp, Vec<i32>>, out: &mut dyn Write) -> Result<()> {
    let mut brokers: BTreeSet<i32> = zk.get_all_brokers().await?.into_keys().collect();
    brokers.extend(targets.values().flatten().copied());
    let names: Vec<String> = brokers.iter().map(|b| b.to_string()).collect();
    line(out, &clearing_line("broker", "broker", &names));
    for name in &names {
        let mut configs = zk.get_entity_config("brokers", name).await?;
        let before = configs.len();
        for k in [BROKER_LEADER_THROTTLE, BROKER_FOLLOWER_THROTTLE, BROKER_LOG_DIR_THROTTLE] {
            configs.remove(k);
        }
        if configs.len() != before {
            ensure_config_changes_path(zk).await?;
            zk.change_entity_config("brokers", name, &configs).await?;
        }
    }
    let topics: Vec<String> = targets.keys().map(|(t, _)| t.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    line(out, &clearing_line("topic", "topic", &topics));
    for topic in &topics {
        let mut configs = zk.get_entity_config("topics", topic).await?;
        let before = configs.len();
        for k in [TOPIC_LEADER_THROTTLE, TOPIC_FOLLOWER_THROTTLE] {
            configs.remove(k);
        }
        if configs.len() != before {
            ensure_config_changes_path(zk).await?;
            zk.change_entity_config("topics", topic, &configs).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(t: &str, p: i32) -> Tp {
        (t.to_string(), p)
    }

    fn entry(t: &str, p: i32, r: &[i32]) -> ReassignmentEntry {
        ReassignmentEntry { tp: tp(t, p), replicas: r.to_vec(), log_dirs: vec!["any".into(); r.len()] }
    }

    #[test]
    fn broker_lists() {
        assert_eq!(parse_broker_list("1,2,3").unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_broker_list("3,").unwrap(), vec![3]);
        assert_eq!(parse_broker_list("1, 2").unwrap_err(), ReassignError::Failed("For input string: \" 2\"".into()));
        assert_eq!(
            parse_broker_list("1,2,1,2").unwrap_err(),
            ReassignError::Failed("Broker list contains duplicate entries: 1,2".into())
        );
    }

    #[test]
    fn execute_checks() {
        let fail = |e: &[ReassignmentEntry]| match check_execute_entries(e) {
            Err(ReassignError::Failed(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(fail(&[]), "Partition reassignment list cannot be empty");
        assert_eq!(fail(&[entry("t", 0, &[])]), "Partition replica list cannot be empty");
        assert_eq!(
            fail(&[entry("t", 0, &[1]), entry("t", 0, &[2])]),
            "Partition reassignment contains duplicate topic partitions: t-0"
        );
        assert_eq!(
            fail(&[entry("t", 0, &[1, 1]), entry("t", 1, &[2, 3, 2])]),
            "Partition replica lists may not contain duplicate entries: t-0 contains multiple entries for 1. t-1 contains multiple entries for 2"
        );
        let mut dirs = entry("t", 0, &[1]);
        dirs.log_dirs = vec!["/data".into()];
        assert_eq!(fail(&[dirs]), LOG_DIRS_NEED_BOOTSTRAP);
        let ok = check_execute_entries(&[entry("t", 1, &[2, 3]), entry("t", 0, &[1])]).unwrap();
        assert_eq!(ok.keys().cloned().collect::<Vec<_>>(), vec![tp("t", 0), tp("t", 1)]);
    }

    #[test]
    fn existence_checks() {
        let proposed: BTreeMap<Tp, Vec<i32>> = [(tp("t", 0), vec![1, 9, 8]), (tp("t", 5), vec![1])].into();
        let current: BTreeMap<Tp, Vec<i32>> = [(tp("t", 0), vec![1])].into();
        let live: BTreeSet<i32> = [1, 2].into();
        assert_eq!(
            check_partitions_and_brokers(&proposed, &current, &live).unwrap_err(),
            ReassignError::Failed("The proposed assignment contains non-existent partitions: List(t-5)".into())
        );
        let proposed: BTreeMap<Tp, Vec<i32>> = [(tp("t", 0), vec![1, 9, 8])].into();
        assert_eq!(
            check_partitions_and_brokers(&proposed, &current, &live).unwrap_err(),
            ReassignError::Failed("The proposed assignment contains non-existent brokerIDs: 8,9".into())
        );
    }

    #[test]
    fn throttle_values() {
        let proposed: BTreeMap<Tp, Vec<i32>> =
            [(tp("t", 0), vec![2, 3]), (tp("t", 1), vec![1, 2]), (tp("t", 10), vec![3, 4]), (tp("u", 0), vec![5])]
                .into();
        let current: BTreeMap<Tp, Vec<i32>> =
            [(tp("t", 0), vec![1, 2]), (tp("t", 1), vec![2, 1]), (tp("t", 10), vec![1, 2]), (tp("u", 0), vec![4])]
                .into();
        let moves = proposed_moves(&proposed, &current).unwrap();
        let (l, f) = throttled_replicas(&moves);
        // t-1 does not move but its replicas still lead; strings sort lexicographically as in
        // Kafka's TreeSet.
        assert_eq!(l["t"], "0:1,0:2,10:1,10:2,1:1,1:2");
        assert_eq!(f["t"], "0:3,10:3,10:4");
        assert_eq!(l["u"], "0:4");
        assert_eq!(f["u"], "0:5");
        assert_eq!(reassigning_brokers(&moves), [1, 2, 3, 4, 5].into());
        let missing: BTreeMap<Tp, Vec<i32>> = [(tp("x", 0), vec![1])].into();
        assert_eq!(
            proposed_moves(&missing, &current).unwrap_err(),
            ReassignError::Failed("Trying to reassign a topic partition x-0 with 0 replicas".into())
        );
    }

    #[test]
    fn verify_lines() {
        let targets: BTreeMap<Tp, Vec<i32>> =
            [(tp("t", 0), vec![3, 4]), (tp("t", 1), vec![2, 3]), (tp("a", 0), vec![1])].into();
        let current: BTreeMap<Tp, Vec<i32>> =
            [(tp("t", 0), vec![1, 2]), (tp("t", 1), vec![2, 3]), (tp("a", 0), vec![1, 2, 3])].into();
        let in_progress: BTreeSet<Tp> = [tp("a", 0)].into();
        let lines = render_states(&reassignment_states(&targets, &current, &in_progress));
        assert_eq!(
            lines,
            vec![
                "Status of partition reassignment:",
                "Reassignment of partition a-0 is still in progress.",
                "There is no active reassignment of partition t-0, but replica set is 1,2 rather than 3,4.",
                "Reassignment of partition t-1 is complete.",
            ]
        );
        assert_eq!(clearing_line("broker", "broker", &["1".into()]), "Clearing broker-level throttles on broker 1");
        assert_eq!(
            clearing_line("topic", "topic", &["a".into(), "b".into()]),
            "Clearing topic-level throttles on topics a,b"
        );
    }
}
