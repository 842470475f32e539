//! Performs the controller's ZooKeeper reads and writes in batches (one pipelined round trip per
//! batch) and reports per-partition outcomes, so state machines can retry just the partitions whose
//! conditional write hit BADVERSION (Kafka's `KafkaZkClient.updateLeaderAndIsr` /
//! `createTopicPartitionStatesRaw` / `getTopicPartitionStatesRaw`).

use std::collections::{BTreeMap, BTreeSet};

use zk_schema::client::ZkOp;
use zk_schema::model::{ConfigEntityZNode, PartitionStateZNode, TopicZNode};
use zk_schema::{paths, ZkError};

use crate::context::{LeaderAndIsr, LeaderIsrAndControllerEpoch, ReplicaAssignment, TopicPartition};
use crate::error::{ControllerError, Result};
use crate::zk_backend::ControllerZk;

/// Outcome of a batch of conditional state-znode updates.
#[derive(Debug, Default)]
pub struct UpdateLeaderAndIsrResult {
    /// Partitions that are done: the written state (with its new zkVersion) or why it failed.
    pub finished: Vec<(TopicPartition, std::result::Result<LeaderAndIsr, String>)>,
    /// Partitions whose write hit BADVERSION: re-read and decide again.
    pub updates_to_retry: Vec<TopicPartition>,
}

/// Read the state znodes of `partitions` (pipelined). `None` = no state znode, or one that cannot be
/// parsed (logged; treating it as absent makes that partition fail instead of the whole controller).
pub async fn read_partition_states<Z: ControllerZk>(
    zk: &Z,
    partitions: &[TopicPartition],
) -> Result<Vec<(TopicPartition, Option<LeaderIsrAndControllerEpoch>)>> {
    let node_paths: Vec<String> = partitions.iter().map(|tp| paths::partition_state(&tp.topic, tp.partition)).collect();
    let data = zk.get_data_many(&node_paths).await?;
    let mut out = Vec::with_capacity(partitions.len());
    for ((tp, path), d) in partitions.iter().zip(&node_paths).zip(data) {
        let state = match d.map(|(bytes, stat)| (PartitionStateZNode::decode(path, &bytes), stat)) {
            Some((Ok(node), stat)) => Some(LeaderIsrAndControllerEpoch::from_znode(&node, stat.version)),
            Some((Err(e), _)) => {
                tracing::error!("Ignoring unreadable partition state: {e}");
                None
            }
            None => None,
        };
        out.push((tp.clone(), state));
    }
    Ok(out)
}

/// Conditionally rewrite state znodes: each `LeaderAndIsr.zk_version` is the expected version.
/// `ControllerMoved` aborts the whole batch (the caller resigns).
pub async fn update_leader_and_isr<Z: ControllerZk>(
    zk: &Z,
    controller_epoch: i32,
    epoch_zk_version: i32,
    updates: &[(TopicPartition, LeaderAndIsr)],
) -> Result<UpdateLeaderAndIsrResult> {
    let ops: Vec<ZkOp> = updates
        .iter()
        .map(|(tp, l)| ZkOp::SetData {
            path: paths::partition_state(&tp.topic, tp.partition),
            data: LeaderIsrAndControllerEpoch::new(l.clone(), controller_epoch).to_znode().encode(),
            version: Some(l.zk_version),
        })
        .collect();
    let results = zk.fenced_each(epoch_zk_version, &ops).await;
    let mut out = UpdateLeaderAndIsrResult::default();
    for ((tp, l), r) in updates.iter().zip(results) {
        match r {
            Ok(stat) => {
                let zk_version = stat.map(|s| s.version).unwrap_or(l.zk_version + 1);
                out.finished.push((tp.clone(), Ok(LeaderAndIsr { zk_version, ..l.clone() })));
            }
            Err(ZkError::BadVersion(_)) => out.updates_to_retry.push(tp.clone()),
            Err(ZkError::ControllerMoved) => return Err(ControllerError::ControllerMoved),
            Err(e) => out.finished.push((tp.clone(), Err(e.to_string()))),
        }
    }
    Ok(out)
}

/// Create `/partitions`, `/partitions/<p>` (existing ones are fine) and the `state` znode of each new
/// partition, all fenced. Returns per partition whether its state znode was created.
pub async fn create_partition_states<Z: ControllerZk>(
    zk: &Z,
    epoch_zk_version: i32,
    states: &[(TopicPartition, LeaderIsrAndControllerEpoch)],
) -> Result<Vec<(TopicPartition, std::result::Result<(), String>)>> {
    let topics: BTreeSet<&str> = states.iter().map(|(tp, _)| tp.topic.as_str()).collect();
    let parents: Vec<ZkOp> =
        topics.iter().map(|t| ZkOp::Create { path: paths::topic_partitions(t), data: Vec::new() }).collect();
    let partition_nodes: Vec<ZkOp> = states
        .iter()
        .map(|(tp, _)| ZkOp::Create { path: paths::topic_partition(&tp.topic, tp.partition), data: Vec::new() })
        .collect();
    for ops in [parents, partition_nodes] {
        for r in zk.fenced_each(epoch_zk_version, &ops).await {
            match r {
                Ok(_) | Err(ZkError::NodeExists(_)) => {}
                Err(ZkError::ControllerMoved) => return Err(ControllerError::ControllerMoved),
                // The state creation below reports the failure per partition.
                Err(e) => tracing::warn!("creating partition znode failed: {e}"),
            }
        }
    }
    let ops: Vec<ZkOp> = states
        .iter()
        .map(|(tp, s)| ZkOp::Create { path: paths::partition_state(&tp.topic, tp.partition), data: s.to_znode().encode() })
        .collect();
    let mut out = Vec::with_capacity(states.len());
    for ((tp, _), r) in states.iter().zip(zk.fenced_each(epoch_zk_version, &ops).await) {
        match r {
            Ok(_) => out.push((tp.clone(), Ok(()))),
            Err(ZkError::ControllerMoved) => return Err(ControllerError::ControllerMoved),
            Err(e) => out.push((tp.clone(), Err(e.to_string()))),
        }
    }
    Ok(out)
}

/// A topic's assignment node as read: assignment per partition, topic id, and zkVersion.
#[derive(Debug, Clone)]
pub struct TopicAssignment {
    /// Topic name.
    pub topic: String,
    /// Topic id, if the znode has one.
    pub topic_id: Option<String>,
    /// Full assignment per partition.
    pub partitions: BTreeMap<i32, ReplicaAssignment>,
    /// zkVersion of `/brokers/topics/<T>` (for the topic-id rewrite).
    pub zk_version: i32,
}

/// Read the assignment znodes of `topics` (pipelined); absent topics are skipped, and so are
/// unreadable ones (logged) — failing the whole failover on one bad znode would loop elections.
pub async fn read_topic_assignments<Z: ControllerZk>(zk: &Z, topics: &[String]) -> Result<Vec<TopicAssignment>> {
    let node_paths: Vec<String> = topics.iter().map(|t| paths::topic(t)).collect();
    let mut out = Vec::new();
    for ((topic, path), d) in topics.iter().zip(&node_paths).zip(zk.get_data_many(&node_paths).await?) {
        let Some((bytes, stat)) = d else { continue };
        let node = match TopicZNode::decode(path, &bytes) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!("Ignoring topic {topic}: {e}");
                continue;
            }
        };
        let partitions = node
            .partitions
            .iter()
            .map(|(p, replicas)| {
                let a = ReplicaAssignment {
                    replicas: replicas.clone(),
                    adding_replicas: node.adding_replicas.get(p).cloned().unwrap_or_default(),
                    removing_replicas: node.removing_replicas.get(p).cloned().unwrap_or_default(),
                };
                (*p, a)
            })
            .collect();
        out.push(TopicAssignment { topic: topic.clone(), topic_id: node.topic_id, partitions, zk_version: stat.version });
    }
    Ok(out)
}

/// Give every topic lacking an id a fresh one by rewriting its znode (fenced, conditional on the
/// version read). Returns the topics that got an id. A concurrent change is left for the next read.
pub async fn assign_missing_topic_ids<Z: ControllerZk>(
    zk: &Z,
    epoch_zk_version: i32,
    assignments: &mut [TopicAssignment],
) -> Result<()> {
    let mut ops = Vec::new();
    let mut idx = Vec::new();
    for (i, a) in assignments.iter().enumerate().filter(|(_, a)| a.topic_id.is_none()) {
        let id = zk_schema::util::random_kafka_uuid();
        let mut node = TopicZNode::new(a.partitions.iter().map(|(p, r)| (*p, r.replicas.clone())).collect(), Some(id));
        node.adding_replicas = a.partitions.iter().filter(|(_, r)| !r.adding_replicas.is_empty()).map(|(p, r)| (*p, r.adding_replicas.clone())).collect();
        node.removing_replicas = a.partitions.iter().filter(|(_, r)| !r.removing_replicas.is_empty()).map(|(p, r)| (*p, r.removing_replicas.clone())).collect();
        ops.push(ZkOp::SetData { path: paths::topic(&a.topic), data: node.encode(), version: Some(a.zk_version) });
        idx.push((i, node.topic_id));
    }
    for ((i, id), r) in idx.into_iter().zip(zk.fenced_each(epoch_zk_version, &ops).await) {
        match r {
            Ok(stat) => {
                let a = &mut assignments[i];
                tracing::info!("assigned topic id {:?} to topic {}", id, a.topic);
                a.topic_id = id;
                if let Some(s) = stat {
                    a.zk_version = s.version;
                }
            }
            Err(ZkError::ControllerMoved) => return Err(ControllerError::ControllerMoved),
            Err(e) => tracing::warn!("could not assign a topic id to {}: {e}", assignments[i].topic),
        }
    }
    Ok(())
}

/// Topic-level config overrides (`/config/topics/<T>`) of `topics`.
pub async fn read_topic_configs<Z: ControllerZk>(
    zk: &Z,
    topics: &[String],
) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let node_paths: Vec<String> = topics.iter().map(|t| paths::config_entity("topics", t)).collect();
    let mut out = BTreeMap::new();
    for ((topic, path), d) in topics.iter().zip(&node_paths).zip(zk.get_data_many(&node_paths).await?) {
        let config = match d {
            Some((bytes, _)) => ConfigEntityZNode::decode(path, &bytes)?.config,
            None => BTreeMap::new(),
        };
        out.insert(topic.clone(), config);
    }
    Ok(out)
}

/// Delete `path` and everything below it, every delete fenced; deepest level first, each level in
/// one pipelined round trip. Absent nodes are fine.
pub async fn delete_recursive_fenced<Z: ControllerZk>(zk: &Z, epoch_zk_version: i32, path: &str) -> Result<()> {
    let mut levels: Vec<Vec<String>> = vec![vec![path.to_string()]];
    loop {
        let mut next = Vec::new();
        for parent in levels.last().map(Vec::as_slice).unwrap_or_default() {
            for child in zk.get_children(parent).await? {
                next.push(format!("{parent}/{child}"));
            }
        }
        if next.is_empty() {
            break;
        }
        levels.push(next);
    }
    for level in levels.iter().rev() {
        let ops: Vec<ZkOp> = level.iter().map(|p| ZkOp::Delete { path: p.clone(), version: None }).collect();
        for r in zk.fenced_each(epoch_zk_version, &ops).await {
            match r {
                Ok(_) | Err(ZkError::NoNode(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// Delete single nodes (fenced, pipelined); absent nodes are fine.
pub async fn delete_fenced<Z: ControllerZk>(zk: &Z, epoch_zk_version: i32, node_paths: &[String]) -> Result<()> {
    let ops: Vec<ZkOp> = node_paths.iter().map(|p| ZkOp::Delete { path: p.clone(), version: None }).collect();
    for r in zk.fenced_each(epoch_zk_version, &ops).await {
        match r {
            Ok(_) | Err(ZkError::NoNode(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "zk_executor_tests.rs"]
mod tests;
