//! `kafka-reassign-partitions --bootstrap-server`: the same actions through the brokers' admin
//! APIs (Metadata, ListPartitionReassignments, AlterPartitionReassignments sent to the
//! controller), reported like Kafka 2.8's admin-client path.
//!
//! Not supported here: throttles (`--throttle`, clearing them on `--verify`/`--cancel`) and
//! log-dir moves, which need IncrementalAlterConfigs/AlterReplicaLogDirs.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Duration;

use wire::kafka_protocol::messages::alter_partition_reassignments_request::{ReassignablePartition, ReassignableTopic};
use wire::kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use wire::kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, ApiKey, BrokerId, ListPartitionReassignmentsRequest, MetadataRequest, TopicName,
};
use wire::kafka_protocol::protocol::StrBytes;
use wire::KafkaConnection;
use zk_schema::admin::{assign_replicas_to_brokers, BrokerMetadata};

use super::command::{
    check_execute_entries, parse_broker_list, reassignment_states, render_states, PartitionReassignmentState,
    ReassignError, CANNOT_EXECUTE_BECAUSE_OF_EXISTING, LOG_DIRS_NEED_BOOTSTRAP,
};
use super::json::{duplicates, format_reassignment_json, parse_reassignment, parse_topics_to_move, tp_string, Tp};
use crate::election::client::{exception_text, find_controller, open};
use crate::topics::command::placement_brokers;

type Result<T> = std::result::Result<T, ReassignError>;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A reassignment in flight as ListPartitionReassignments reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ongoing {
    /// All replicas (target plus those being removed).
    pub replicas: Vec<i32>,
    /// Replicas being added.
    pub adding: Vec<i32>,
    /// Replicas being removed.
    pub removing: Vec<i32>,
}

/// Kafka's `curReassignmentsToString`.
pub fn ongoing_to_string(ongoing: &BTreeMap<Tp, Ongoing>) -> String {
    if ongoing.is_empty() {
        return "No partition reassignments found.".into();
    }
    let join = |v: &[i32]| v.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",");
    let lines: Vec<String> = ongoing
        .iter()
        .map(|(tp, o)| {
            format!(
                "{}: replicas: {}.{}{}",
                tp_string(tp),
                join(&o.replicas),
                if o.adding.is_empty() { String::new() } else { format!(" adding: {}.", join(&o.adding)) },
                if o.removing.is_empty() { String::new() } else { format!(" removing: {}.", join(&o.removing)) }
            )
        })
        .collect();
    format!("Current partition reassignments:\n{}", lines.join("\n"))
}

/// Verify states in admin mode: a listed reassignment is in progress (current = its replicas),
/// otherwise the topic's replicas decide (missing topic = no replicas).
pub fn admin_states(
    targets: &BTreeMap<Tp, Vec<i32>>,
    ongoing: &BTreeMap<Tp, Ongoing>,
    current: &BTreeMap<Tp, Vec<i32>>,
) -> BTreeMap<Tp, PartitionReassignmentState> {
    let in_progress: BTreeSet<Tp> = ongoing.keys().cloned().collect();
    let mut merged = current.clone();
    for (tp, o) in ongoing {
        merged.insert(tp.clone(), o.replicas.clone());
    }
    reassignment_states(targets, &merged, &in_progress)
}

/// A connection to the controller plus the cluster's brokers (with racks).
struct Admin {
    conn: KafkaConnection,
    brokers: Vec<BrokerMetadata>,
}

fn failed(m: impl Into<String>) -> ReassignError {
    ReassignError::Failed(m.into())
}

impl Admin {
    async fn connect(bootstrap: &str) -> Result<Admin> {
        let servers: Vec<String> =
            bootstrap.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        let (_, addr) = find_controller(&servers, TIMEOUT).await.map_err(failed)?;
        let conn = open(&addr, TIMEOUT).await.map_err(failed)?;
        let mut admin = Admin { conn, brokers: Vec::new() };
        let resp = admin.metadata(Some(&[])).await?;
        admin.brokers = resp
            .brokers
            .iter()
            .map(|b| BrokerMetadata { id: b.node_id.0, rack: b.rack.as_ref().map(|r| r.to_string()) })
            .collect();
        admin.brokers.sort_by_key(|b| b.id);
        Ok(admin)
    }

    async fn metadata(
        &mut self,
        topics: Option<&[String]>,
    ) -> Result<wire::kafka_protocol::messages::MetadataResponse> {
        let version = self.conn.require_version(ApiKey::Metadata as i16, 1, 11).map_err(|e| failed(e.to_string()))?;
        let mut req = MetadataRequest::default().with_topics(topics.map(|ts| {
            ts.iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_string(t.clone())))))
                .collect()
        }));
        if version >= 4 {
            req.allow_auto_topic_creation = false;
        }
        self.conn.send(&req, version).await.map_err(|e| failed(e.to_string()))
    }

    /// Replicas of every partition of `topics`; a missing topic is Kafka's error.
    async fn replicas(&mut self, topics: &BTreeSet<String>) -> Result<BTreeMap<Tp, Vec<i32>>> {
        let names: Vec<String> = topics.iter().cloned().collect();
        let resp = self.metadata(Some(&names)).await?;
        let mut out = BTreeMap::new();
        for t in resp.topics {
            let name = t.name.map(|n| n.0.to_string()).unwrap_or_default();
            if t.error_code == 3 {
                return Err(failed(format!(
                    "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Topic {name} not found."
                )));
            }
            for p in t.partitions {
                out.insert((name.clone(), p.partition_index), p.replica_nodes.iter().map(|b| b.0).collect());
            }
        }
        Ok(out)
    }

    async fn ongoing(&mut self) -> Result<BTreeMap<Tp, Ongoing>> {
        let version = self
            .conn
            .require_version(ApiKey::ListPartitionReassignments as i16, 0, 0)
            .map_err(|e| failed(e.to_string()))?;
        let req = ListPartitionReassignmentsRequest::default().with_timeout_ms(TIMEOUT.as_millis() as i32);
        let resp = self.conn.send(&req, version).await.map_err(|e| failed(e.to_string()))?;
        if resp.error_code != 0 {
            return Err(failed(exception_text(resp.error_code, resp.error_message.as_deref())));
        }
        let ids = |v: &[BrokerId]| v.iter().map(|b| b.0).collect::<Vec<i32>>();
        let mut out = BTreeMap::new();
        for t in resp.topics {
            for p in t.partitions {
                out.insert(
                    (t.name.0.to_string(), p.partition_index),
                    Ongoing {
                        replicas: ids(&p.replicas),
                        adding: ids(&p.adding_replicas),
                        removing: ids(&p.removing_replicas),
                    },
                );
            }
        }
        Ok(out)
    }

    /// Start (`Some`) or cancel (`None`) reassignments; returns per-partition failures.
    async fn alter(&mut self, changes: &BTreeMap<Tp, Option<Vec<i32>>>) -> Result<BTreeMap<Tp, String>> {
        let version = self
            .conn
            .require_version(ApiKey::AlterPartitionReassignments as i16, 0, 0)
            .map_err(|e| failed(e.to_string()))?;
        let mut by_topic: BTreeMap<&str, Vec<ReassignablePartition>> = BTreeMap::new();
        for ((t, p), r) in changes {
            by_topic.entry(t.as_str()).or_default().push(
                ReassignablePartition::default()
                    .with_partition_index(*p)
                    .with_replicas(r.as_ref().map(|v| v.iter().map(|b| BrokerId(*b)).collect())),
            );
        }
        let req = AlterPartitionReassignmentsRequest::default().with_timeout_ms(TIMEOUT.as_millis() as i32).with_topics(
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    ReassignableTopic::default().with_name(TopicName(StrBytes::from_string(t.to_string()))).with_partitions(ps)
                })
                .collect(),
        );
        let resp = self.conn.send(&req, version).await.map_err(|e| failed(e.to_string()))?;
        let mut errors = BTreeMap::new();
        if resp.error_code != 0 {
            let text = exception_text(resp.error_code, resp.error_message.as_deref());
            for tp in changes.keys() {
                errors.insert(tp.clone(), message_of(&text));
            }
            return Ok(errors);
        }
        for t in resp.responses {
            for p in t.partitions {
                if p.error_code != 0 {
                    let text = exception_text(p.error_code, p.error_message.as_deref());
                    errors.insert((t.name.0.to_string(), p.partition_index), message_of(&text));
                }
            }
        }
        Ok(errors)
    }
}

/// The `getMessage()` part of an exception text.
fn message_of(text: &str) -> String {
    text.split_once(": ").map(|(_, m)| m.to_string()).unwrap_or_else(|| text.to_string())
}

fn line(out: &mut dyn Write, s: &str) {
    let _ = writeln!(out, "{s}");
}

fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|_| failed(path.to_string()))
}

/// `--generate` over Metadata.
pub async fn generate(
    bootstrap: &str,
    topics_file: &str,
    broker_list: &str,
    disable_rack_aware: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let text = read(topics_file)?;
    let wanted = parse_broker_list(broker_list)?;
    let topics = parse_topics_to_move(&text)?;
    let dup = duplicates(&topics);
    if !dup.is_empty() {
        return Err(failed(format!("List of topics to reassign contains duplicate entries: {}", dup.join(","))));
    }
    let mut admin = Admin::connect(bootstrap).await?;
    let current = admin.replicas(&topics.iter().cloned().collect()).await?;
    let chosen: Vec<BrokerMetadata> = admin.brokers.iter().filter(|b| wanted.contains(&b.id)).cloned().collect();
    let metadatas = placement_brokers(chosen, disable_rack_aware).map_err(|e| failed(e.0))?;
    let mut by_topic: BTreeMap<&str, Vec<&Vec<i32>>> = BTreeMap::new();
    for ((t, _), r) in &current {
        by_topic.entry(t.as_str()).or_default().push(r);
    }
    let mut proposed = BTreeMap::new();
    for (topic, parts) in by_topic {
        let a = assign_replicas_to_brokers(&metadatas, parts.len() as i32, parts[0].len() as i32, None, 0, disable_rack_aware)
            .map_err(|e| failed(crate::topics::command::zk_message(e)))?;
        for (p, r) in a {
            proposed.insert((topic.to_string(), p), r);
        }
    }
    line(out, &format!("Current partition replica assignment\n{}\n", format_reassignment_json(&current)));
    line(out, &format!("Proposed partition reassignment configuration\n{}", format_reassignment_json(&proposed)));
    Ok(())
}

/// `--execute` through AlterPartitionReassignments.
pub async fn execute(bootstrap: &str, file: &str, additional: bool, out: &mut dyn Write) -> Result<()> {
    let proposed = check_execute_entries(&parse_reassignment(&read(file)?)?)?;
    let mut admin = Admin::connect(bootstrap).await?;
    if !additional && !admin.ongoing().await?.is_empty() {
        return Err(ReassignError::Terse(CANNOT_EXECUTE_BECAUSE_OF_EXISTING.into()));
    }
    let live: BTreeSet<i32> = admin.brokers.iter().map(|b| b.id).collect();
    if let Some(unknown) = proposed.values().flatten().find(|b| !live.contains(b)) {
        return Err(failed(format!("Unknown broker id {unknown}")));
    }
    let topics: BTreeSet<String> = proposed.keys().map(|(t, _)| t.clone()).collect();
    let current: BTreeMap<Tp, Vec<i32>> =
        admin.replicas(&topics).await?.into_iter().filter(|(tp, _)| proposed.contains_key(tp)).collect();
    line(
        out,
        &format!(
            "Current partition replica assignment\n\n{}\n\nSave this to use as the --reassignment-json-file option during rollback",
            format_reassignment_json(&current)
        ),
    );
    let changes: BTreeMap<Tp, Option<Vec<i32>>> = proposed.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
    let errors = admin.alter(&changes).await?;
    if !errors.is_empty() {
        let lines: Vec<String> = errors.iter().map(|(tp, m)| format!("{}: {m}", tp_string(tp))).collect();
        return Err(ReassignError::Terse(format!("Error reassigning partition(s):\n{}", lines.join("\n"))));
    }
    line(
        out,
        &format!(
            "Successfully started partition reassignment{} for {}",
            if proposed.len() == 1 { "" } else { "s" },
            proposed.keys().map(tp_string).collect::<Vec<_>>().join(",")
        ),
    );
    Ok(())
}

/// `--verify` through ListPartitionReassignments and Metadata.
pub async fn verify(bootstrap: &str, file: &str, err: &mut dyn Write, out: &mut dyn Write) -> Result<bool> {
    let entries = parse_reassignment(&read(file)?)?;
    if entries.iter().any(|e| e.has_log_dirs()) {
        return Err(failed(LOG_DIRS_NEED_BOOTSTRAP.replace("bootstrap-server needs to be provided", "log-dir moves are not supported")));
    }
    let targets: BTreeMap<Tp, Vec<i32>> = entries.iter().map(|e| (e.tp.clone(), e.replicas.clone())).collect();
    let mut admin = Admin::connect(bootstrap).await?;
    let ongoing = admin.ongoing().await?;
    let mut current = BTreeMap::new();
    for topic in targets.keys().map(|(t, _)| t.clone()).collect::<BTreeSet<_>>() {
        // A topic that no longer exists has no replicas.
        if let Ok(r) = admin.replicas(&[topic].into()).await {
            current.extend(r);
        }
    }
    for l in render_states(&admin_states(&targets, &ongoing, &current)) {
        line(out, &l);
    }
    let busy = !ongoing.is_empty();
    if !busy {
        let _ = writeln!(
            err,
            "Note: replication throttles are not cleared with --bootstrap-server by this implementation; run --verify with --zookeeper to clear them."
        );
    }
    Ok(busy)
}

/// `--list`.
pub async fn list(bootstrap: &str, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(bootstrap).await?;
    line(out, &ongoing_to_string(&admin.ongoing().await?));
    Ok(())
}

/// `--cancel`: revert the file's partitions that are still moving.
pub async fn cancel(bootstrap: &str, file: &str, out: &mut dyn Write) -> Result<()> {
    let entries = parse_reassignment(&read(file)?)?;
    let targets: BTreeSet<Tp> = entries.into_iter().map(|e| e.tp).collect();
    let mut admin = Admin::connect(bootstrap).await?;
    let moving: BTreeMap<Tp, Option<Vec<i32>>> = admin
        .ongoing()
        .await?
        .into_iter()
        .filter(|(tp, o)| targets.contains(tp) && (!o.adding.is_empty() || !o.removing.is_empty()))
        .map(|(tp, _)| (tp, None))
        .collect();
    if moving.is_empty() {
        line(out, "None of the specified partition reassignments are active.");
    } else {
        let errors = admin.alter(&moving).await?;
        if !errors.is_empty() {
            let lines: Vec<String> = errors.iter().map(|(tp, m)| format!("{}: {m}", tp_string(tp))).collect();
            return Err(ReassignError::Terse(format!(
                "Error cancelling partition reassignment{} for:\n{}",
                if errors.len() == 1 { "" } else { "s" },
                lines.join("\n")
            )));
        }
        line(
            out,
            &format!(
                "Successfully cancelled partition reassignment{} for: {}",
                if moving.len() == 1 { "" } else { "s" },
                moving.keys().map(tp_string).collect::<Vec<_>>().join(",")
            ),
        );
    }
    line(out, "None of the specified partition moves are active.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(t: &str, p: i32) -> Tp {
        (t.to_string(), p)
    }

    #[test]
    fn list_rendering() {
        assert_eq!(ongoing_to_string(&BTreeMap::new()), "No partition reassignments found.");
        let o: BTreeMap<Tp, Ongoing> = [
            (tp("t", 1), Ongoing { replicas: vec![2, 3, 1], adding: vec![3], removing: vec![1] }),
            (tp("t", 0), Ongoing { replicas: vec![1, 2], adding: vec![], removing: vec![] }),
        ]
        .into();
        assert_eq!(
            ongoing_to_string(&o),
            "Current partition reassignments:\nt-0: replicas: 1,2.\nt-1: replicas: 2,3,1. adding: 3. removing: 1."
        );
    }

    #[test]
    fn admin_verify_states() {
        let targets: BTreeMap<Tp, Vec<i32>> = [(tp("t", 0), vec![2, 3]), (tp("t", 1), vec![3, 2]), (tp("gone", 0), vec![1])].into();
        let ongoing: BTreeMap<Tp, Ongoing> =
            [(tp("t", 1), Ongoing { replicas: vec![3, 2, 1], adding: vec![3], removing: vec![1] })].into();
        let current: BTreeMap<Tp, Vec<i32>> = [(tp("t", 0), vec![2, 3]), (tp("t", 1), vec![2, 1])].into();
        assert_eq!(
            render_states(&admin_states(&targets, &ongoing, &current)),
            vec![
                "Status of partition reassignment:",
                "There is no active reassignment of partition gone-0, but replica set is  rather than 1.",
                "Reassignment of partition t-0 is complete.",
                "Reassignment of partition t-1 is still in progress.",
            ]
        );
    }
}
