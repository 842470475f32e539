//! Leader election rules (spec §2.7, Kafka's `PartitionLeaderElectionAlgorithms` and the
//! per-strategy `leaderFor…` helpers). Pure functions of the context and the freshly read state.

use std::collections::BTreeSet;

use crate::context::{ControllerContext, LeaderAndIsr, TopicPartition};

/// Which rule picks the new leader (Kafka's `PartitionLeaderElectionStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionLeaderElectionStrategy {
    /// Broker failure / new or offline partitions. `allow_unclean` forces unclean election (admin
    /// `ElectLeaders(UNCLEAN)`); otherwise it follows the topic's `unclean.leader.election.enable`.
    OfflinePartition {
        /// Unclean election allowed regardless of topic config.
        allow_unclean: bool,
    },
    /// Reassignment: leader from the target replicas.
    ReassignPartition,
    /// Move leadership back to the first assigned replica.
    PreferredReplicaPartition,
    /// Move leadership off brokers in controlled shutdown.
    ControlledShutdownPartition,
}

/// Outcome of electing one partition: the new leader/ISR (`None` = no eligible leader) and the
/// replicas that must receive the LeaderAndIsr request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionResult {
    /// The partition.
    pub tp: TopicPartition,
    /// New leader and ISR with leader epoch + 1 (expected zkVersion unchanged), if a leader was found.
    pub leader_and_isr: Option<LeaderAndIsr>,
    /// LeaderAndIsr recipients.
    pub recipients: Vec<i32>,
}

/// First assigned replica that is live and in the ISR; failing that, when `unclean` is allowed, the
/// first live assigned replica.
pub fn offline_partition_leader(assignment: &[i32], isr: &[i32], live: &BTreeSet<i32>, unclean: bool) -> Option<i32> {
    assignment
        .iter()
        .copied()
        .find(|r| live.contains(r) && isr.contains(r))
        .or_else(|| if unclean { assignment.iter().copied().find(|r| live.contains(r)) } else { None })
}

/// First target replica that is live and in the ISR.
pub fn reassign_partition_leader(target: &[i32], isr: &[i32], live: &BTreeSet<i32>) -> Option<i32> {
    target.iter().copied().find(|r| live.contains(r) && isr.contains(r))
}

/// The preferred (first) replica, if it is live and in the ISR.
pub fn preferred_replica_partition_leader(assignment: &[i32], isr: &[i32], live: &BTreeSet<i32>) -> Option<i32> {
    assignment.first().copied().filter(|r| live.contains(r) && isr.contains(r))
}

/// First assigned replica that is live-or-shutting-down, in the ISR and not shutting down.
pub fn controlled_shutdown_partition_leader(
    assignment: &[i32],
    isr: &[i32],
    live_or_shutting_down: &BTreeSet<i32>,
    shutting_down: &BTreeSet<i32>,
) -> Option<i32> {
    assignment
        .iter()
        .copied()
        .find(|r| live_or_shutting_down.contains(r) && isr.contains(r) && !shutting_down.contains(r))
}

/// Whether an offline-strategy election of this partition can only succeed uncleanly: no ISR member
/// is online. Only those partitions consult `unclean.leader.election.enable`.
pub fn needs_unclean_decision(ctx: &ControllerContext, tp: &TopicPartition, current: &LeaderAndIsr) -> bool {
    !current.isr.iter().any(|r| ctx.is_replica_online(*r, tp, false))
}

/// Offline strategy: leader per [`offline_partition_leader`]; the new ISR is the old ISR restricted
/// to online replicas if the leader was in it, else just the leader. Recipients: live replicas.
pub fn leader_for_offline(
    ctx: &ControllerContext,
    tp: &TopicPartition,
    current: &LeaderAndIsr,
    unclean: bool,
) -> ElectionResult {
    let assignment = ctx.partition_replica_assignment(tp);
    let live: Vec<i32> = assignment.iter().copied().filter(|r| ctx.is_replica_online(*r, tp, false)).collect();
    let live_set: BTreeSet<i32> = live.iter().copied().collect();
    let leader_and_isr = offline_partition_leader(&assignment, &current.isr, &live_set, unclean).map(|leader| {
        let isr = if current.isr.contains(&leader) {
            current.isr.iter().copied().filter(|r| ctx.is_replica_online(*r, tp, false)).collect()
        } else {
            vec![leader]
        };
        current.new_leader_and_isr(leader, isr)
    });
    ElectionResult { tp: tp.clone(), leader_and_isr, recipients: live }
}

/// Reassign strategy: leader from the target replicas, ISR unchanged; recipients: all targets.
pub fn leader_for_reassign(ctx: &ControllerContext, tp: &TopicPartition, current: &LeaderAndIsr) -> ElectionResult {
    let target = ctx.partition_full_replica_assignment(tp).replicas;
    let live: BTreeSet<i32> = target.iter().copied().filter(|r| ctx.is_replica_online(*r, tp, false)).collect();
    let leader_and_isr = reassign_partition_leader(&target, &current.isr, &live)
        .map(|leader| current.new_leader_and_isr(leader, current.isr.clone()));
    ElectionResult { tp: tp.clone(), leader_and_isr, recipients: target }
}

/// Preferred strategy: the first replica if live and in ISR, ISR unchanged; recipients: all replicas.
pub fn leader_for_preferred_replica(
    ctx: &ControllerContext,
    tp: &TopicPartition,
    current: &LeaderAndIsr,
) -> ElectionResult {
    let assignment = ctx.partition_replica_assignment(tp);
    let live: BTreeSet<i32> = assignment.iter().copied().filter(|r| ctx.is_replica_online(*r, tp, false)).collect();
    let leader_and_isr = preferred_replica_partition_leader(&assignment, &current.isr, &live)
        .map(|leader| current.new_leader_and_isr(leader, current.isr.clone()));
    ElectionResult { tp: tp.clone(), leader_and_isr, recipients: assignment }
}

/// Controlled-shutdown strategy: leader not shutting down, ISR minus shutting-down brokers;
/// recipients: live-or-shutting-down replicas.
pub fn leader_for_controlled_shutdown(
    ctx: &ControllerContext,
    tp: &TopicPartition,
    current: &LeaderAndIsr,
) -> ElectionResult {
    let assignment = ctx.partition_replica_assignment(tp);
    let live_or_shutting: Vec<i32> =
        assignment.iter().copied().filter(|r| ctx.is_replica_online(*r, tp, true)).collect();
    let live_set: BTreeSet<i32> = live_or_shutting.iter().copied().collect();
    let shutting = &ctx.shutting_down_broker_ids;
    let leader_and_isr = controlled_shutdown_partition_leader(&assignment, &current.isr, &live_set, shutting)
        .map(|leader| {
            let isr = current.isr.iter().copied().filter(|r| !shutting.contains(r)).collect();
            current.new_leader_and_isr(leader, isr)
        });
    ElectionResult { tp: tp.clone(), leader_and_isr, recipients: live_or_shutting }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{LiveBroker, ReplicaAssignment};

    fn ctx_with(live: &[i32], replicas: &[i32]) -> (ControllerContext, TopicPartition) {
        let mut ctx = ControllerContext::default();
        ctx.set_live_brokers(live.iter().map(|id| LiveBroker { id: *id, epoch: 1, endpoints: vec![], rack: None }));
        let tp = TopicPartition::new("t", 0);
        ctx.update_partition_full_replica_assignment(&tp, ReplicaAssignment::new(replicas.to_vec()));
        (ctx, tp)
    }

    fn lai(leader: i32, epoch: i32, isr: &[i32]) -> LeaderAndIsr {
        LeaderAndIsr { leader, leader_epoch: epoch, isr: isr.to_vec(), zk_version: 7 }
    }

    #[test]
    fn offline_picks_first_live_isr_member_in_assignment_order() {
        let (ctx, tp) = ctx_with(&[2, 3], &[1, 2, 3]);
        let r = leader_for_offline(&ctx, &tp, &lai(1, 4, &[1, 3, 2]), false);
        let new = r.leader_and_isr.expect("leader");
        assert_eq!(new.leader, 2);
        assert_eq!(new.isr, vec![3, 2], "old ISR restricted to live replicas, order kept");
        assert_eq!(new.leader_epoch, 5);
        assert_eq!(new.zk_version, 7, "expected version of the conditional write");
        assert_eq!(r.recipients, vec![2, 3]);
    }

    #[test]
    fn offline_without_live_isr_needs_unclean() {
        let (ctx, tp) = ctx_with(&[2], &[1, 2]);
        let current = lai(1, 0, &[1]);
        assert!(needs_unclean_decision(&ctx, &tp, &current));
        assert_eq!(leader_for_offline(&ctx, &tp, &current, false).leader_and_isr, None);
        let unclean = leader_for_offline(&ctx, &tp, &current, true).leader_and_isr.expect("unclean leader");
        assert_eq!((unclean.leader, unclean.isr, unclean.leader_epoch), (2, vec![2], 1));
    }

    #[test]
    fn offline_no_live_replica_at_all() {
        let (ctx, tp) = ctx_with(&[], &[1]);
        let r = leader_for_offline(&ctx, &tp, &lai(-1, 3, &[1]), true);
        assert_eq!(r.leader_and_isr, None);
        assert!(r.recipients.is_empty());
    }

    #[test]
    fn single_broker_restart_gets_new_epoch() {
        // The only broker came back: leader was set to -1 with ISR [1] kept when it died.
        let (ctx, tp) = ctx_with(&[1], &[1]);
        let new = leader_for_offline(&ctx, &tp, &lai(-1, 1, &[1]), false).leader_and_isr.expect("leader");
        assert_eq!((new.leader, new.isr, new.leader_epoch), (1, vec![1], 2));
    }

    #[test]
    fn preferred_and_reassign_and_controlled_shutdown() {
        let (mut ctx, tp) = ctx_with(&[1, 2, 3], &[1, 2, 3]);
        let current = lai(2, 3, &[1, 2, 3]);
        assert_eq!(leader_for_preferred_replica(&ctx, &tp, &current).leader_and_isr.map(|l| l.leader), Some(1));
        assert_eq!(preferred_replica_partition_leader(&[1, 2], &[2], &BTreeSet::from([1, 2])), None);
        assert_eq!(reassign_partition_leader(&[4, 3], &[3, 4], &BTreeSet::from([3])), Some(3));
        ctx.shutting_down_broker_ids.insert(1);
        let cs = leader_for_controlled_shutdown(&ctx, &tp, &lai(1, 3, &[1, 2, 3])).leader_and_isr.expect("leader");
        assert_eq!((cs.leader, cs.isr), (2, vec![2, 3]));
    }
}
