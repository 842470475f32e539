//! Pure partition state machine decisions.

use super::*;
use crate::context::{LiveBroker, ReplicaAssignment};
use crate::test_support::tp;

fn ctx(live: &[i32], assignments: &[(&str, i32, Vec<i32>)]) -> ControllerContext {
    let mut ctx = ControllerContext::default();
    ctx.epoch = 5;
    ctx.set_live_brokers(live.iter().map(|id| LiveBroker { id: *id, epoch: 1, endpoints: vec![], rack: None }));
    for (t, p, r) in assignments {
        ctx.update_partition_full_replica_assignment(&tp(t, *p), ReplicaAssignment::new(r.clone()));
    }
    ctx
}

fn state(leader: i32, epoch: i32, isr: &[i32], controller_epoch: i32) -> Option<LeaderIsrAndControllerEpoch> {
    Some(LeaderIsrAndControllerEpoch::new(
        LeaderAndIsr { leader, leader_epoch: epoch, isr: isr.to_vec(), zk_version: 3 },
        controller_epoch,
    ))
}

#[test]
fn valid_transitions() {
    use PartitionState::*;
    let all = [New, Online, Offline, NonExistent];
    let allowed = |from, to| PartitionState::is_valid_transition_from(to, from);
    let table: Vec<(PartitionState, PartitionState)> =
        all.iter().flat_map(|f| all.iter().map(move |t| (*f, *t))).filter(|(f, t)| allowed(*f, *t)).collect();
    assert_eq!(
        table,
        vec![
            (New, Online),
            (New, Offline),
            (Online, Online),
            (Online, Offline),
            (Offline, Online),
            (Offline, Offline),
            (Offline, NonExistent),
            (NonExistent, New),
        ]
    );
}

#[test]
fn initialization_picks_first_live_replica_and_all_live_as_isr() {
    let ctx = ctx(&[2, 3], &[("t", 0, vec![1, 3, 2]), ("t", 1, vec![4])]);
    let InitializationPlan { initialized: ok, failed } =
        PartitionStateMachine::plan_initialization(&ctx, &[tp("t", 0), tp("t", 1)]);
    assert_eq!(ok.len(), 1);
    let (p, s) = &ok[0];
    assert_eq!(p, &tp("t", 0));
    assert_eq!(s.leader_and_isr, LeaderAndIsr { leader: 3, leader_epoch: 0, isr: vec![3, 2], zk_version: 0 });
    assert_eq!(s.controller_epoch, 5);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, tp("t", 1));
}

#[test]
fn elections_fail_without_state_or_when_written_by_newer_controller() {
    let ctx = ctx(&[1, 2], &[("t", 0, vec![1, 2]), ("t", 1, vec![1, 2]), ("t", 2, vec![1, 2])]);
    let current = vec![(tp("t", 0), None), (tp("t", 1), state(1, 0, &[1, 2], 6)), (tp("t", 2), state(-1, 2, &[2], 4))];
    let s = PartitionLeaderElectionStrategy::OfflinePartition { allow_unclean: false };
    let plan = PartitionStateMachine::plan_elections(&ctx, &current, s, &BTreeSet::new());
    let failed: Vec<&TopicPartition> = plan.failed.iter().map(|(tp, _)| tp).collect();
    assert_eq!(failed, vec![&tp("t", 0), &tp("t", 1)]);
    assert_eq!(plan.elected.len(), 1);
    let l = plan.elected[0].leader_and_isr.clone().expect("leader");
    assert_eq!((l.leader, l.leader_epoch, l.isr, l.zk_version), (2, 3, vec![2], 3));
    assert_eq!(plan.elected[0].recipients, vec![1, 2]);
}

#[test]
fn unclean_needs_config_only_without_live_isr() {
    let ctx = ctx(&[2], &[("a", 0, vec![1, 2]), ("b", 0, vec![1, 2])]);
    let current = vec![(tp("a", 0), state(1, 0, &[1], 1)), (tp("b", 0), state(1, 0, &[1, 2], 1))];
    let s = PartitionLeaderElectionStrategy::OfflinePartition { allow_unclean: false };
    assert_eq!(PartitionStateMachine::topics_needing_unclean_config(&ctx, &current, s), vec!["a".to_string()]);
    let forced = PartitionLeaderElectionStrategy::OfflinePartition { allow_unclean: true };
    assert!(PartitionStateMachine::topics_needing_unclean_config(&ctx, &current, forced).is_empty());
    let plan = PartitionStateMachine::plan_elections(&ctx, &current, forced, &BTreeSet::new());
    assert_eq!(plan.elected.len(), 2);
    assert_eq!(plan.elected[0].leader_and_isr.as_ref().map(|l| l.isr.clone()), Some(vec![2]));
}

#[test]
fn unclean_setting_topic_override_wins_over_default() {
    let configs = BTreeMap::from([
        ("on".to_string(), BTreeMap::from([("unclean.leader.election.enable".to_string(), "true".to_string())])),
        ("off".to_string(), BTreeMap::from([("unclean.leader.election.enable".to_string(), "false".to_string())])),
        ("default".to_string(), BTreeMap::new()),
    ]);
    assert_eq!(PartitionStateMachine::unclean_enabled_topics(&configs, false), BTreeSet::from(["on".to_string()]));
    assert_eq!(
        PartitionStateMachine::unclean_enabled_topics(&configs, true),
        BTreeSet::from(["on".to_string(), "default".to_string()])
    );
}

#[test]
fn startup_states_and_trigger_candidates() {
    let mut ctx = ctx(&[1], &[("t", 0, vec![1]), ("t", 1, vec![2]), ("t", 2, vec![1]), ("gone", 0, vec![1])]);
    ctx.put_partition_leadership_info(tp("t", 0), state(1, 0, &[1], 1).expect("state"));
    ctx.put_partition_leadership_info(tp("t", 1), state(2, 0, &[2], 1).expect("state"));
    ctx.topics_to_be_deleted.insert("gone".into());
    PartitionStateMachine::initialize_partition_states(&mut ctx);
    assert_eq!(ctx.partition_state(&tp("t", 0)), PartitionState::Online);
    assert_eq!(ctx.partition_state(&tp("t", 1)), PartitionState::Offline);
    assert_eq!(ctx.partition_state(&tp("t", 2)), PartitionState::New);
    assert_eq!(PartitionStateMachine::partitions_to_trigger_online(&ctx), vec![tp("t", 1), tp("t", 2)]);
}
