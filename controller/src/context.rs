//! `ControllerContext`: the active controller's in-memory picture of the cluster.
//!
//! Everything the state machines decide is a function of this context (plus what they read from
//! ZooKeeper right before a conditional write), which is what makes the decisions unit-testable.
//! It is owned by the single controller event loop; nothing else touches it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use zk_schema::model::{BrokerEndpoint, PartitionStateZNode};

use crate::partition_state_machine::PartitionState;
use crate::replica_state_machine::ReplicaState;

/// A topic partition (`TopicPartition`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition id.
    pub partition: i32,
}

impl TopicPartition {
    /// A partition of `topic`.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition { topic: topic.into(), partition }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// One replica of a partition, the unit the replica state machine works on (`PartitionAndReplica`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionAndReplica {
    /// The partition.
    pub tp: TopicPartition,
    /// The broker hosting the replica.
    pub replica: i32,
}

impl PartitionAndReplica {
    /// Replica `replica` of `tp`.
    pub fn new(tp: TopicPartition, replica: i32) -> Self {
        PartitionAndReplica { tp, replica }
    }
}

impl fmt::Display for PartitionAndReplica {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[Topic={},Partition={},Replica={}]", self.tp.topic, self.tp.partition, self.replica)
    }
}

/// Leader, leader epoch and ISR of a partition plus the zkVersion of its state znode (the
/// "partition epoch" every conditional write is checked against).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderAndIsr {
    /// Leader broker id, [`LeaderAndIsr::NO_LEADER`] if none.
    pub leader: i32,
    /// Bumped by every leadership change.
    pub leader_epoch: i32,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// zkVersion of the state znode this value was read from or written as.
    pub zk_version: i32,
}

impl LeaderAndIsr {
    /// No leader.
    pub const NO_LEADER: i32 = -1;
    /// Leader sent in UpdateMetadata for partitions of topics being deleted, so brokers drop them.
    pub const LEADER_DURING_DELETE: i32 = -2;
    /// Unknown leader epoch (StopReplica for a partition without leadership info).
    pub const NO_EPOCH: i32 = -1;
    /// Leader epoch sentinel in StopReplica for topics being deleted.
    pub const EPOCH_DURING_DELETE: i32 = -2;
    /// Leader epoch of a freshly initialized partition.
    pub const INITIAL_LEADER_EPOCH: i32 = 0;
    /// zkVersion of a freshly created state znode.
    pub const INITIAL_ZK_VERSION: i32 = 0;

    /// The initial state of a new partition.
    pub fn initial(leader: i32, isr: Vec<i32>) -> Self {
        LeaderAndIsr { leader, leader_epoch: Self::INITIAL_LEADER_EPOCH, isr, zk_version: Self::INITIAL_ZK_VERSION }
    }

    /// A new leadership decision: leader epoch + 1, same zkVersion (the expected version of the
    /// conditional write).
    pub fn new_leader_and_isr(&self, leader: i32, isr: Vec<i32>) -> Self {
        LeaderAndIsr { leader, leader_epoch: self.leader_epoch + 1, isr, zk_version: self.zk_version }
    }
}

/// Leader/ISR together with the epoch of the controller that decided it (the full state znode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderIsrAndControllerEpoch {
    /// Leader, epoch, ISR and zkVersion.
    pub leader_and_isr: LeaderAndIsr,
    /// Epoch of the controller that wrote it.
    pub controller_epoch: i32,
}

impl LeaderIsrAndControllerEpoch {
    /// Pair a leader/ISR with a controller epoch.
    pub fn new(leader_and_isr: LeaderAndIsr, controller_epoch: i32) -> Self {
        LeaderIsrAndControllerEpoch { leader_and_isr, controller_epoch }
    }

    /// From a state znode and its zkVersion.
    pub fn from_znode(node: &PartitionStateZNode, zk_version: i32) -> Self {
        LeaderIsrAndControllerEpoch {
            leader_and_isr: LeaderAndIsr {
                leader: node.leader,
                leader_epoch: node.leader_epoch,
                isr: node.isr.clone(),
                zk_version,
            },
            controller_epoch: node.controller_epoch,
        }
    }

    /// The state znode payload.
    pub fn to_znode(&self) -> PartitionStateZNode {
        PartitionStateZNode::new(
            self.leader_and_isr.leader,
            self.leader_and_isr.leader_epoch,
            self.leader_and_isr.isr.clone(),
            self.controller_epoch,
        )
    }
}

/// A partition's replica assignment, with the replicas being added/removed by a reassignment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaAssignment {
    /// Ordered replicas; the first is the preferred leader.
    pub replicas: Vec<i32>,
    /// Replicas being added by a reassignment.
    pub adding_replicas: Vec<i32>,
    /// Replicas being removed by a reassignment.
    pub removing_replicas: Vec<i32>,
}

impl ReplicaAssignment {
    /// An assignment outside of any reassignment.
    pub fn new(replicas: Vec<i32>) -> Self {
        ReplicaAssignment { replicas, adding_replicas: Vec::new(), removing_replicas: Vec::new() }
    }

    /// Whether a reassignment is in flight.
    pub fn is_being_reassigned(&self) -> bool {
        !self.adding_replicas.is_empty() || !self.removing_replicas.is_empty()
    }

    /// Replicas before the reassignment started (RS minus AR).
    pub fn origin_replicas(&self) -> Vec<i32> {
        self.replicas.iter().copied().filter(|r| !self.adding_replicas.contains(r)).collect()
    }

    /// Replicas once the reassignment completes (RS minus RR).
    pub fn target_replicas(&self) -> Vec<i32> {
        self.replicas.iter().copied().filter(|r| !self.removing_replicas.contains(r)).collect()
    }

    /// The assignment while moving from `origin` to `target`: RS = target then the remaining origin
    /// replicas, AR = RS - origin, RR = RS - target (Kafka's `fromOldAndNewReplicas`).
    pub fn from_old_and_new_replicas(origin: &[i32], target: &[i32]) -> Self {
        let mut full: Vec<i32> = Vec::new();
        for r in target.iter().chain(origin) {
            if !full.contains(r) {
                full.push(*r);
            }
        }
        let adding = full.iter().copied().filter(|r| !origin.contains(r)).collect();
        let removing = full.iter().copied().filter(|r| !target.contains(r)).collect();
        ReplicaAssignment { replicas: full, adding_replicas: adding, removing_replicas: removing }
    }

    /// This assignment reassigned to `target` (starting from its origin replicas).
    pub fn reassign_to(&self, target: &[i32]) -> Self {
        Self::from_old_and_new_replicas(&self.origin_replicas(), target)
    }
}

/// A live broker as the controller knows it: its endpoints and its epoch (czxid of its registration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveBroker {
    /// Broker id.
    pub id: i32,
    /// Broker epoch (czxid of `/brokers/ids/<id>`), sent in every request to fence stale ones.
    pub epoch: i64,
    /// Advertised endpoints.
    pub endpoints: Vec<BrokerEndpoint>,
    /// Rack, if configured.
    pub rack: Option<String>,
}

impl LiveBroker {
    /// The endpoint of listener `listener`, if the broker has one.
    pub fn endpoint(&self, listener: &str) -> Option<&BrokerEndpoint> {
        self.endpoints.iter().find(|e| e.listener == listener)
    }
}

/// The active controller's view of the cluster (Kafka's `ControllerContext`).
#[derive(Debug, Default)]
pub struct ControllerContext {
    /// Controller epoch won in the election.
    pub epoch: i32,
    /// zkVersion of `/controller_epoch`, the fence of every controller write.
    pub epoch_zk_version: i32,
    live_brokers: BTreeMap<i32, LiveBroker>,
    /// Brokers in controlled shutdown: registered but not "live" for elections (issue #3).
    pub shutting_down_broker_ids: BTreeSet<i32>,
    all_topics: BTreeSet<String>,
    topic_ids: BTreeMap<String, String>,
    assignments: BTreeMap<String, BTreeMap<i32, ReplicaAssignment>>,
    leadership: HashMap<TopicPartition, LeaderIsrAndControllerEpoch>,
    partition_states: HashMap<TopicPartition, PartitionState>,
    replica_states: HashMap<PartitionAndReplica, ReplicaState>,
    /// Replicas a broker reported on failed log dirs (KAFKA_STORAGE_ERROR), per broker.
    pub replicas_on_offline_dirs: HashMap<i32, BTreeSet<TopicPartition>>,
    /// Partitions with a reassignment in flight.
    pub partitions_being_reassigned: BTreeSet<TopicPartition>,
    /// Topics queued for deletion.
    pub topics_to_be_deleted: BTreeSet<String>,
    /// Topics whose partitions were already moved to NonExistent by the deletion manager.
    pub topics_with_deletion_started: BTreeSet<String>,
    /// Queued topics whose deletion is on hold (offline replicas, reassignment).
    pub topics_ineligible_for_deletion: BTreeSet<String>,
}

impl ControllerContext {
    // ---- brokers ----

    /// Replace the live broker set (controller failover).
    pub fn set_live_brokers(&mut self, brokers: impl IntoIterator<Item = LiveBroker>) {
        self.live_brokers = brokers.into_iter().map(|b| (b.id, b)).collect();
    }

    /// Add (or replace) live brokers.
    pub fn add_live_brokers(&mut self, brokers: impl IntoIterator<Item = LiveBroker>) {
        for b in brokers {
            self.live_brokers.insert(b.id, b);
        }
    }

    /// Forget brokers that went away.
    pub fn remove_live_brokers(&mut self, ids: &BTreeSet<i32>) {
        self.live_brokers.retain(|id, _| !ids.contains(id));
    }

    /// A registered broker (live or shutting down).
    pub fn live_or_shutting_down_broker(&self, id: i32) -> Option<&LiveBroker> {
        self.live_brokers.get(&id)
    }

    /// All registered brokers, including those in controlled shutdown.
    pub fn live_or_shutting_down_brokers(&self) -> impl Iterator<Item = &LiveBroker> {
        self.live_brokers.values()
    }

    /// Ids of all registered brokers, including those in controlled shutdown.
    pub fn live_or_shutting_down_broker_ids(&self) -> BTreeSet<i32> {
        self.live_brokers.keys().copied().collect()
    }

    /// Ids of brokers that count as live for elections (registered and not shutting down).
    pub fn live_broker_ids(&self) -> BTreeSet<i32> {
        self.live_brokers.keys().copied().filter(|id| !self.shutting_down_broker_ids.contains(id)).collect()
    }

    /// Epoch of a registered broker.
    pub fn live_broker_epoch(&self, id: i32) -> Option<i64> {
        self.live_brokers.get(&id).map(|b| b.epoch)
    }

    /// Whether `broker` hosts a usable replica of `tp`: the broker is live (or shutting down when
    /// `include_shutting_down`) and did not report the replica on a failed log dir.
    pub fn is_replica_online(&self, broker: i32, tp: &TopicPartition, include_shutting_down: bool) -> bool {
        let broker_online = self.live_brokers.contains_key(&broker)
            && (include_shutting_down || !self.shutting_down_broker_ids.contains(&broker));
        broker_online && !self.replicas_on_offline_dirs.get(&broker).is_some_and(|s| s.contains(tp))
    }

    // ---- topics and assignments ----

    /// All known topics.
    pub fn all_topics(&self) -> &BTreeSet<String> {
        &self.all_topics
    }

    /// Replace the topic set (failover / TopicChange).
    pub fn set_all_topics(&mut self, topics: BTreeSet<String>) {
        self.all_topics = topics;
    }

    /// A topic's id (22-char base64), if it has one.
    pub fn topic_id(&self, topic: &str) -> Option<&str> {
        self.topic_ids.get(topic).map(String::as_str)
    }

    /// Record a topic's id.
    pub fn set_topic_id(&mut self, topic: &str, id: String) {
        self.topic_ids.insert(topic.to_string(), id);
    }

    /// Replicas of a partition (empty if unknown).
    pub fn partition_replica_assignment(&self, tp: &TopicPartition) -> Vec<i32> {
        self.partition_full_replica_assignment(tp).replicas
    }

    /// Full assignment of a partition (empty if unknown).
    pub fn partition_full_replica_assignment(&self, tp: &TopicPartition) -> ReplicaAssignment {
        self.assignments.get(&tp.topic).and_then(|m| m.get(&tp.partition)).cloned().unwrap_or_default()
    }

    /// Full assignment of every partition of a topic.
    pub fn partition_full_replica_assignment_for_topic(&self, topic: &str) -> BTreeMap<i32, ReplicaAssignment> {
        self.assignments.get(topic).cloned().unwrap_or_default()
    }

    /// Set a partition's assignment.
    pub fn update_partition_full_replica_assignment(&mut self, tp: &TopicPartition, assignment: ReplicaAssignment) {
        self.assignments.entry(tp.topic.clone()).or_default().insert(tp.partition, assignment);
    }

    /// Partitions of a topic, in partition order.
    pub fn partitions_for_topic(&self, topic: &str) -> Vec<TopicPartition> {
        self.assignments
            .get(topic)
            .map(|m| m.keys().map(|p| TopicPartition::new(topic, *p)).collect())
            .unwrap_or_default()
    }

    /// Every known partition.
    pub fn all_partitions(&self) -> Vec<TopicPartition> {
        self.assignments
            .iter()
            .flat_map(|(t, m)| m.keys().map(move |p| TopicPartition::new(t.clone(), *p)))
            .collect()
    }

    /// Every replica hosted by one of `brokers`.
    pub fn replicas_on_brokers(&self, brokers: &BTreeSet<i32>) -> Vec<PartitionAndReplica> {
        let mut out = Vec::new();
        for (topic, parts) in &self.assignments {
            for (p, a) in parts {
                for r in a.replicas.iter().filter(|r| brokers.contains(r)) {
                    out.push(PartitionAndReplica::new(TopicPartition::new(topic.clone(), *p), *r));
                }
            }
        }
        out
    }

    /// Every replica of the given partitions.
    pub fn replicas_for_partitions(&self, partitions: &[TopicPartition]) -> Vec<PartitionAndReplica> {
        partitions
            .iter()
            .flat_map(|tp| {
                self.partition_replica_assignment(tp).into_iter().map(move |r| PartitionAndReplica::new(tp.clone(), r))
            })
            .collect()
    }

    /// Every replica of a topic.
    pub fn replicas_for_topic(&self, topic: &str) -> Vec<PartitionAndReplica> {
        self.replicas_for_partitions(&self.partitions_for_topic(topic))
    }

    /// Forget a topic entirely, deletion bookkeeping included (after deletion or when its znode
    /// vanished).
    pub fn remove_topic(&mut self, topic: &str) {
        for tp in self.partitions_for_topic(topic) {
            self.leadership.remove(&tp);
            self.partition_states.remove(&tp);
            self.partitions_being_reassigned.remove(&tp);
        }
        self.replica_states.retain(|r, _| r.tp.topic != topic);
        self.assignments.remove(topic);
        self.topic_ids.remove(topic);
        self.all_topics.remove(topic);
        self.topics_to_be_deleted.remove(topic);
        self.topics_with_deletion_started.remove(topic);
        self.topics_ineligible_for_deletion.remove(topic);
    }

    // ---- leadership ----

    /// Cached leader/ISR of a partition.
    pub fn partition_leadership_info(&self, tp: &TopicPartition) -> Option<&LeaderIsrAndControllerEpoch> {
        self.leadership.get(tp)
    }

    /// Cache a partition's leader/ISR (after reading or writing its state znode).
    pub fn put_partition_leadership_info(&mut self, tp: TopicPartition, info: LeaderIsrAndControllerEpoch) {
        self.leadership.insert(tp, info);
    }

    /// Forget all cached leadership (failover re-reads it).
    pub fn clear_partition_leadership_info(&mut self) {
        self.leadership.clear();
    }

    /// Partitions with a cached leader/ISR whose topic is not being deleted (what a new broker gets
    /// in its first UpdateMetadata).
    pub fn partitions_with_leaders(&self) -> Vec<TopicPartition> {
        let mut v: Vec<_> =
            self.leadership.keys().filter(|tp| !self.is_topic_queued_up_for_deletion(&tp.topic)).cloned().collect();
        v.sort();
        v
    }

    /// Partitions `broker` leads that have more than one replica and whose topic is not being
    /// deleted (what a controlled shutdown still has to move; Kafka's `partitionLeadersOnBroker`).
    pub fn partition_leaders_on_broker(&self, broker: i32) -> Vec<TopicPartition> {
        let mut v: Vec<_> = self
            .leadership
            .iter()
            .filter(|(tp, l)| {
                l.leader_and_isr.leader == broker
                    && !self.is_topic_queued_up_for_deletion(&tp.topic)
                    && self.partition_replica_assignment(tp).len() > 1
            })
            .map(|(tp, _)| tp.clone())
            .collect();
        v.sort();
        v
    }

    /// Partitions whose cached leader is not an online replica (and whose topic is not being deleted).
    pub fn partitions_with_offline_leader(&self) -> Vec<TopicPartition> {
        let mut v: Vec<_> = self
            .leadership
            .iter()
            .filter(|(tp, l)| {
                !self.is_replica_online(l.leader_and_isr.leader, tp, false)
                    && !self.is_topic_queued_up_for_deletion(&tp.topic)
            })
            .map(|(tp, _)| tp.clone())
            .collect();
        v.sort();
        v
    }

    // ---- partition and replica states ----

    /// State of a partition; unknown partitions are NonExistent.
    pub fn partition_state(&self, tp: &TopicPartition) -> PartitionState {
        self.partition_states.get(tp).copied().unwrap_or(PartitionState::NonExistent)
    }

    /// Set a partition's state.
    pub fn put_partition_state(&mut self, tp: TopicPartition, state: PartitionState) {
        self.partition_states.insert(tp, state);
    }

    /// Partitions currently in one of `states`, sorted.
    pub fn partitions_in_states(&self, states: &[PartitionState]) -> Vec<TopicPartition> {
        let mut v: Vec<_> =
            self.partition_states.iter().filter(|(_, s)| states.contains(s)).map(|(tp, _)| tp.clone()).collect();
        v.sort();
        v
    }

    /// State of a replica, `None` if the state machine has never seen it.
    pub fn replica_state(&self, r: &PartitionAndReplica) -> Option<ReplicaState> {
        self.replica_states.get(r).copied()
    }

    /// Set a replica's state.
    pub fn put_replica_state(&mut self, r: PartitionAndReplica, state: ReplicaState) {
        self.replica_states.insert(r, state);
    }

    /// Forget a replica's state.
    pub fn remove_replica_state(&mut self, r: &PartitionAndReplica) {
        self.replica_states.remove(r);
    }

    /// Replicas of `topic` in `state`.
    pub fn replicas_in_state(&self, topic: &str, state: ReplicaState) -> Vec<PartitionAndReplica> {
        self.replicas_for_topic(topic).into_iter().filter(|r| self.replica_state(r) == Some(state)).collect()
    }

    /// Whether every replica of `topic` is in `state` (vacuously true without replicas).
    pub fn are_all_replicas_in_state(&self, topic: &str, state: ReplicaState) -> bool {
        self.replicas_for_topic(topic).iter().all(|r| self.replica_state(r) == Some(state))
    }

    /// Whether some replica of `topic` is in `state`.
    pub fn is_any_replica_in_state(&self, topic: &str, state: ReplicaState) -> bool {
        self.replicas_for_topic(topic).iter().any(|r| self.replica_state(r) == Some(state))
    }

    // ---- deletion bookkeeping ----

    /// Whether `topic` is queued for deletion.
    pub fn is_topic_queued_up_for_deletion(&self, topic: &str) -> bool {
        self.topics_to_be_deleted.contains(topic)
    }

    /// Whether the deletion manager already took `topic`'s partitions offline.
    pub fn is_topic_deletion_in_progress(&self, topic: &str) -> bool {
        self.topics_with_deletion_started.contains(topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(id: i32) -> LiveBroker {
        LiveBroker { id, epoch: 100 + id as i64, endpoints: Vec::new(), rack: None }
    }

    #[test]
    fn replica_online_respects_shutdown_and_offline_dirs() {
        let mut ctx = ControllerContext::default();
        ctx.set_live_brokers([broker(1), broker(2)]);
        let tp = TopicPartition::new("t", 0);
        assert!(ctx.is_replica_online(1, &tp, false));
        assert!(!ctx.is_replica_online(3, &tp, true));
        ctx.shutting_down_broker_ids.insert(2);
        assert!(!ctx.is_replica_online(2, &tp, false));
        assert!(ctx.is_replica_online(2, &tp, true));
        assert_eq!(ctx.live_broker_ids(), BTreeSet::from([1]));
        ctx.replicas_on_offline_dirs.entry(1).or_default().insert(tp.clone());
        assert!(!ctx.is_replica_online(1, &tp, false));
    }

    #[test]
    fn remove_topic_forgets_everything() {
        let mut ctx = ControllerContext::default();
        let tp = TopicPartition::new("t", 0);
        ctx.set_all_topics(BTreeSet::from(["t".to_string()]));
        ctx.update_partition_full_replica_assignment(&tp, ReplicaAssignment::new(vec![1]));
        ctx.put_partition_state(tp.clone(), PartitionState::Online);
        ctx.put_replica_state(PartitionAndReplica::new(tp.clone(), 1), ReplicaState::Online);
        ctx.put_partition_leadership_info(
            tp.clone(),
            LeaderIsrAndControllerEpoch::new(LeaderAndIsr::initial(1, vec![1]), 1),
        );
        ctx.remove_topic("t");
        assert!(ctx.all_partitions().is_empty());
        assert_eq!(ctx.partition_state(&tp), PartitionState::NonExistent);
        assert!(ctx.partition_leadership_info(&tp).is_none());
        assert!(ctx.replicas_for_topic("t").is_empty());
        assert!(ctx.all_topics().is_empty());
    }
}
