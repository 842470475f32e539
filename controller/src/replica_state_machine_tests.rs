//! Pure replica state machine decisions.

use super::*;
use crate::context::ReplicaAssignment;
use crate::request_batch::ControllerRequest;
use crate::test_support::{live_broker, tp};

#[test]
fn valid_transitions_table() {
    use ReplicaState::*;
    let all = [New, Online, Offline, DeletionStarted, DeletionSuccessful, DeletionIneligible, NonExistent];
    let expected: &[(ReplicaState, &[ReplicaState])] = &[
        (New, &[NonExistent]),
        (Online, &[New, Online, Offline, DeletionIneligible]),
        (Offline, &[New, Online, Offline, DeletionIneligible]),
        (DeletionStarted, &[Offline]),
        (DeletionSuccessful, &[DeletionStarted]),
        (DeletionIneligible, &[Offline, DeletionStarted]),
        (NonExistent, &[DeletionSuccessful]),
    ];
    for (target, from) in expected {
        for s in all {
            assert_eq!(target.is_valid_transition_from(s), from.contains(&s), "{s:?} -> {target:?}");
        }
    }
}

#[test]
fn isr_removal() {
    let l = LeaderAndIsr { leader: 1, leader_epoch: 4, isr: vec![1, 2, 3], zk_version: 8 };
    let r = ReplicaStateMachine::remove_replica_from_isr(1, &l).expect("changed");
    assert_eq!(r, LeaderAndIsr { leader: -1, leader_epoch: 5, isr: vec![2, 3], zk_version: 8 });
    let r = ReplicaStateMachine::remove_replica_from_isr(3, &l).expect("changed");
    assert_eq!((r.leader, r.isr), (1, vec![1, 2]));
    assert_eq!(ReplicaStateMachine::remove_replica_from_isr(4, &l), None);
    let single = LeaderAndIsr { leader: 1, leader_epoch: 0, isr: vec![1], zk_version: 0 };
    let r = ReplicaStateMachine::remove_replica_from_isr(1, &single).expect("changed");
    assert_eq!((r.leader, r.isr, r.leader_epoch), (-1, vec![1], 1), "a single-member ISR is kept");
}

fn ctx() -> ControllerContext {
    let mut ctx = ControllerContext::default();
    ctx.set_live_brokers([live_broker(1, 1), live_broker(2, 2)]);
    ctx.update_partition_full_replica_assignment(&tp("t", 0), ReplicaAssignment::new(vec![1, 2]));
    ctx
}

#[test]
fn new_replica_gets_leader_and_isr_unless_it_is_the_leader() {
    let mut ctx = ctx();
    let mut batch = ControllerBrokerRequestBatch::new(1, "PLAINTEXT");
    let state = LeaderIsrAndControllerEpoch::new(LeaderAndIsr::initial(1, vec![1, 2]), 1);
    ctx.put_partition_leadership_info(tp("t", 0), state);
    let replicas = ctx.replicas_for_partitions(&[tp("t", 0)]);
    let (valid, invalid) = ReplicaStateMachine::split_valid(&mut ctx, &replicas, ReplicaState::New);
    assert!(invalid.is_empty());
    for r in &valid {
        ReplicaStateMachine::apply_transition(&mut ctx, &mut batch, r.replica, std::slice::from_ref(r), ReplicaState::New);
    }
    assert_eq!(ctx.replica_state(&PartitionAndReplica::new(tp("t", 0), 1)), Some(ReplicaState::NonExistent));
    assert_eq!(ctx.replica_state(&PartitionAndReplica::new(tp("t", 0), 2)), Some(ReplicaState::New));
    let reqs = batch.take_requests(&ctx);
    let lai: Vec<(i32, bool)> = reqs
        .iter()
        .filter_map(|(b, r)| match r {
            ControllerRequest::LeaderAndIsr(l) => Some((*b, l.topic_states[0].partition_states[0].is_new)),
            _ => None,
        })
        .collect();
    assert_eq!(lai, vec![(2, true)]);
}

#[test]
fn offline_without_leadership_sends_stop_replica_and_metadata() {
    let mut ctx = ctx();
    let mut batch = ControllerBrokerRequestBatch::new(1, "PLAINTEXT");
    let r = PartitionAndReplica::new(tp("t", 0), 2);
    ctx.put_replica_state(r.clone(), ReplicaState::Online);
    let shrink = ReplicaStateMachine::apply_transition(&mut ctx, &mut batch, 2, std::slice::from_ref(&r), ReplicaState::Offline);
    assert!(shrink.is_empty());
    assert_eq!(ctx.replica_state(&r), Some(ReplicaState::Offline));
    let names: Vec<(i32, &str)> = batch.take_requests(&ctx).iter().map(|(b, r)| (*b, r.name())).collect();
    assert_eq!(names, vec![(1, "UpdateMetadata"), (2, "UpdateMetadata"), (2, "StopReplica")]);

    ctx.put_partition_leadership_info(tp("t", 0), LeaderIsrAndControllerEpoch::new(LeaderAndIsr::initial(1, vec![1, 2]), 1));
    ctx.put_replica_state(r.clone(), ReplicaState::Online);
    let shrink = ReplicaStateMachine::apply_transition(&mut ctx, &mut batch, 2, std::slice::from_ref(&r), ReplicaState::Offline);
    assert_eq!(shrink, vec![tp("t", 0)]);
    assert_eq!(ctx.replica_state(&r), Some(ReplicaState::Online), "state changes only after the ISR write");
    let state = LeaderIsrAndControllerEpoch::new(LeaderAndIsr { leader: 1, leader_epoch: 1, isr: vec![1], zk_version: 1 }, 1);
    ReplicaStateMachine::complete_offline_transition(&mut ctx, &mut batch, 2, &tp("t", 0), &state);
    assert_eq!(ctx.replica_state(&r), Some(ReplicaState::Offline));
    let names: Vec<(i32, &str)> = batch.take_requests(&ctx).iter().map(|(b, r)| (*b, r.name())).collect();
    assert_eq!(names, vec![(1, "LeaderAndIsr"), (1, "UpdateMetadata"), (2, "UpdateMetadata"), (2, "StopReplica")]);
}

#[test]
fn nonexistent_removes_replica_from_assignment() {
    let mut ctx = ctx();
    let mut batch = ControllerBrokerRequestBatch::new(1, "PLAINTEXT");
    let r = PartitionAndReplica::new(tp("t", 0), 2);
    ctx.put_replica_state(r.clone(), ReplicaState::DeletionSuccessful);
    ReplicaStateMachine::apply_transition(&mut ctx, &mut batch, 2, std::slice::from_ref(&r), ReplicaState::NonExistent);
    assert_eq!(ctx.partition_replica_assignment(&tp("t", 0)), vec![1]);
    assert_eq!(ctx.replica_state(&r), None);
    assert!(batch.is_empty());
}

#[test]
fn startup_splits_online_and_offline_replicas() {
    let mut ctx = ctx();
    ctx.update_partition_full_replica_assignment(&tp("t", 1), ReplicaAssignment::new(vec![3, 1]));
    let (online, offline) = ReplicaStateMachine::initialize_replica_states(&mut ctx);
    assert_eq!(online.len(), 3);
    assert_eq!(offline, vec![PartitionAndReplica::new(tp("t", 1), 3)]);
    assert_eq!(ctx.replica_state(&offline[0]), Some(ReplicaState::DeletionIneligible));
}
