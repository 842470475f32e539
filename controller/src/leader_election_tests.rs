use zk_schema::model::{PartitionRef, PartitionsZNode};
use zk_schema::paths;

use super::*;
use crate::config::ControllerConfig;
use crate::event::ControllerEvent;
use crate::test_support::{started, tp, FakeZk};

fn code(results: &PartitionResults, t: &TopicPartition) -> i16 {
    match &results.iter().find(|(p, _)| p == t).expect("result").1 {
        Ok(()) => 0,
        Err(e) => e.code,
    }
}

/// Broker 1 bounces: t-0 ([1,2,3]) ends up led by 2 with 1 back in the ISR.
async fn bounced_cluster(config: ControllerConfig) -> (FakeZk, ControllerCore<crate::test_support::FakeZk>) {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1, 2, 3]), (1, vec![2, 3, 1])], true);
    let (mut c, _sink) = started(&zk, 3, config).await;
    zk.remove(&paths::broker_id(1));
    c.process(ControllerEvent::BrokerChange).await;
    zk.register(1);
    c.process(ControllerEvent::BrokerChange).await;
    assert_eq!(zk.partition_state("t", 0).map(|s| s.leader), Some(2));
    // The follower caught up: the leader expanded the ISR.
    zk.put(&paths::partition_state("t", 0), br#"{"controller_epoch":1,"leader":2,"version":1,"leader_epoch":1,"isr":[2,3,1]}"#);
    let v = zk.version(&paths::partition_state("t", 0)).expect("v");
    let s = zk.partition_state("t", 0).expect("state");
    c.ctx.put_partition_leadership_info(tp("t", 0), crate::context::LeaderIsrAndControllerEpoch::from_znode(&s, v));
    (zk, c)
}

#[tokio::test]
async fn zk_triggered_preferred_election_deletes_the_node() {
    let (zk, mut c) = bounced_cluster(ControllerConfig::with_defaults(3)).await;
    assert!(zk.is_watched(&WatchTarget::PreferredReplicaElection));
    let node = PartitionsZNode::new(vec![
        PartitionRef { topic: "t".into(), partition: 0 },
        PartitionRef { topic: "t".into(), partition: 1 },
        PartitionRef { topic: "missing".into(), partition: 0 },
    ]);
    zk.put(paths::PREFERRED_REPLICA_ELECTION, &node.encode());
    c.process(ControllerEvent::ReplicaLeaderElection {
        partitions: None,
        election_type: ElectionType::Preferred,
        trigger: ElectionTrigger::ZkTriggered,
        reply: None,
    })
    .await;
    let s = zk.partition_state("t", 0).expect("state");
    assert_eq!((s.leader, s.leader_epoch, s.isr.clone()), (1, 2, vec![2, 3, 1]), "preferred leader back, ISR unchanged");
    assert_eq!(zk.partition_state("t", 1).map(|s| s.leader), Some(2), "already preferred: untouched");
    assert!(!zk.exists(paths::PREFERRED_REPLICA_ELECTION), "node deleted");
    assert!(zk.is_watched(&WatchTarget::PreferredReplicaElection), "watch re-armed");
}

#[tokio::test]
async fn admin_elections_answer_with_kafka_errors() {
    let (zk, mut c) = bounced_cluster(ControllerConfig::with_defaults(3)).await;
    zk.create_topic("u", &[(0, vec![3, 2])], true);
    c.process(ControllerEvent::TopicChange).await;
    // 3 left the ISR of u-0 but stays live: preferred cannot lead.
    zk.put(&paths::partition_state("u", 0), br#"{"controller_epoch":1,"leader":3,"version":1,"leader_epoch":0,"isr":[3,2]}"#);
    zk.put(&paths::partition_state("u", 0), br#"{"controller_epoch":1,"leader":2,"version":1,"leader_epoch":1,"isr":[2]}"#);
    let v = zk.version(&paths::partition_state("u", 0)).expect("v");
    let s = zk.partition_state("u", 0).expect("s");
    c.ctx.put_partition_leadership_info(tp("u", 0), crate::context::LeaderIsrAndControllerEpoch::from_znode(&s, v));
    c.ctx.topics_to_be_deleted.insert("del".into());
    c.ctx.update_partition_full_replica_assignment(&tp("del", 0), crate::context::ReplicaAssignment::new(vec![1]));

    let asked = vec![tp("t", 0), tp("t", 1), tp("u", 0), tp("del", 0), tp("x", 9)];
    let r = c.process_replica_leader_election(Some(asked), ElectionType::Preferred, ElectionTrigger::AdminClient).await.expect("ok");
    assert_eq!(code(&r, &tp("t", 0)), 0);
    assert_eq!(code(&r, &tp("t", 1)), codes::ELECTION_NOT_NEEDED);
    assert_eq!(code(&r, &tp("u", 0)), codes::PREFERRED_LEADER_NOT_AVAILABLE);
    assert_eq!(code(&r, &tp("del", 0)), codes::INVALID_TOPIC_EXCEPTION);
    assert_eq!(code(&r, &tp("x", 9)), codes::UNKNOWN_TOPIC_OR_PARTITION);
    assert_eq!(zk.partition_state("t", 0).map(|s| s.leader), Some(1));

    // All partitions: ELECTION_NOT_NEEDED ones are left out.
    let r = c.process_replica_leader_election(None, ElectionType::Preferred, ElectionTrigger::AdminClient).await.expect("ok");
    assert!(r.iter().all(|(_, r)| r.as_ref().is_err_and(|e| e.code != codes::ELECTION_NOT_NEEDED)), "{r:?}");
}

#[tokio::test]
async fn unclean_election_through_the_admin_client() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1, 2])], true);
    let (mut c, _sink) = started(&zk, 2, ControllerConfig::with_defaults(2)).await;
    // 2 fell out of the ISR, then 1 died: offline, unclean disabled.
    zk.put(&paths::partition_state("t", 0), br#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1]}"#);
    let s = zk.partition_state("t", 0).expect("s");
    c.ctx.put_partition_leadership_info(tp("t", 0), crate::context::LeaderIsrAndControllerEpoch::from_znode(&s, 1));
    zk.remove(&paths::broker_id(1));
    c.process(ControllerEvent::BrokerChange).await;
    assert_eq!(zk.partition_state("t", 0).map(|s| s.leader), Some(-1), "stays offline");

    let r = c.process_replica_leader_election(Some(vec![tp("t", 0)]), ElectionType::Unclean, ElectionTrigger::AdminClient).await.expect("ok");
    assert_eq!(code(&r, &tp("t", 0)), 0);
    let s = zk.partition_state("t", 0).expect("s");
    assert_eq!((s.leader, s.isr.clone()), (2, vec![2]));
    let r = c.process_replica_leader_election(Some(vec![tp("t", 0)]), ElectionType::Unclean, ElectionTrigger::AdminClient).await.expect("ok");
    assert_eq!(code(&r, &tp("t", 0)), codes::ELECTION_NOT_NEEDED);
}

#[tokio::test]
async fn auto_rebalance_moves_leaders_back_and_reschedules() {
    let (zk, mut c) = bounced_cluster(ControllerConfig::with_defaults(3)).await;
    assert!(c.self_events.contains(&"ScheduledAutoPreferredReplicaLeaderElection"), "first run scheduled at failover");
    c.self_events.clear();
    // Broker 1 prefers one partition and leads none: ratio 1.0 > 10%.
    assert_eq!(auto_rebalance_candidates(&c.ctx, 10), vec![tp("t", 0)]);
    c.process(ControllerEvent::AutoPreferredReplicaLeaderElection).await;
    assert_eq!(zk.partition_state("t", 0).map(|s| s.leader), Some(1));
    assert_eq!(c.self_events, vec!["ScheduledAutoPreferredReplicaLeaderElection"]);
    assert!(zk.partition_state("t", 0).is_some());

    // Skipped while a reassignment runs.
    c.ctx.partitions_being_reassigned.insert(tp("t", 1));
    c.ctx.put_partition_leadership_info(tp("t", 1), {
        let mut l = c.ctx.partition_leadership_info(&tp("t", 1)).expect("l").clone();
        l.leader_and_isr.leader = 3;
        l
    });
    assert!(auto_rebalance_candidates(&c.ctx, 10).is_empty());
}
