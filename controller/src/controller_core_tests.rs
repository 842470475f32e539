//! Whole-controller flows against the in-memory ZooKeeper: election and fencing, failover, topic
//! creation, broker failure and return, unclean election, session expiry.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use zk_schema::model::{ConfigEntityZNode, TopicZNode};
use zk_schema::paths;

use super::*;
use crate::context::PartitionAndReplica;
use crate::partition_state_machine::PartitionState;
use crate::replica_state_machine::ReplicaState;
use crate::request_batch::ControllerRequest;
use crate::test_support::{core, summary, tp, FakeZk};

fn cfg(id: i32) -> ControllerConfig {
    ControllerConfig::with_defaults(id)
}

#[tokio::test]
async fn exactly_one_of_two_controllers_wins_and_the_loser_is_fenced() {
    let zk = FakeZk::new();
    zk.register(1);
    zk.register(2);
    let (mut c1, _, _) = core(&zk, cfg(1));
    let (mut c2, _, _) = core(&zk, cfg(2));
    c1.process(ControllerEvent::Startup).await;
    c2.process(ControllerEvent::Startup).await;
    assert!(c1.is_active());
    assert!(!c2.is_active());
    assert_eq!(c1.context().epoch, 1);
    assert!(zk.exists(paths::FEATURE));
    assert!(zk.is_watched(&WatchTarget::BrokerIds) && zk.is_watched(&WatchTarget::Topics));

    // c1's session "dies": /controller vanishes, c2 re-elects with epoch 2.
    zk.remove(paths::CONTROLLER);
    c2.process(ControllerEvent::Reelect).await;
    assert!(c2.is_active());
    assert_eq!(c2.context().epoch, 2);

    // The zombie c1 still thinks it is active; its next fenced write fails and it resigns.
    assert!(c1.is_active());
    zk.create_topic("t", &[(0, vec![1])], true);
    let r = c1.zk.fenced_multi(c1.ctx.epoch_zk_version, &[]).await;
    assert!(matches!(r, Err(ZkError::ControllerMoved)));
    c1.process(ControllerEvent::TopicChange).await;
    assert!(!c1.is_active(), "ControllerMoved leads to resignation");
    assert!(c1.context().all_topics().is_empty(), "context cleared on resignation");
    assert!(zk.partition_state("t", 0).is_none(), "the zombie wrote nothing");
}

#[tokio::test]
async fn new_topic_gets_state_znodes_and_leader_and_isr_before_update_metadata() {
    let zk = FakeZk::new();
    zk.register(1);
    let (mut c, sink, _) = core(&zk, cfg(1));
    c.process(ControllerEvent::Startup).await;
    assert_eq!(summary(&sink.take()), vec![(1, "UpdateMetadata")], "failover tells brokers about live brokers");

    zk.create_topic("t", &[(0, vec![1]), (1, vec![1])], true);
    c.process(ControllerEvent::TopicChange).await;
    for p in 0..2 {
        let s = zk.partition_state("t", p).expect("state znode");
        let json = String::from_utf8(s.encode()).expect("utf8");
        assert_eq!(json, r#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1]}"#);
        assert_eq!(c.ctx.partition_state(&tp("t", p)), PartitionState::Online);
        assert_eq!(c.ctx.replica_state(&PartitionAndReplica::new(tp("t", p), 1)), Some(ReplicaState::Online));
    }
    assert!(zk.is_watched(&WatchTarget::Topic("t".into())));
    let sent = sink.take();
    assert_eq!(summary(&sent), vec![(1, "LeaderAndIsr"), (1, "UpdateMetadata")]);
    let ControllerRequest::LeaderAndIsr(lai) = &sent[0].1 else { panic!("not LeaderAndIsr") };
    assert_eq!(lai.controller_epoch, 1);
    assert_eq!(lai.broker_epoch, c.ctx.live_broker_epoch(1).expect("live"));
    let parts = &lai.topic_states[0].partition_states;
    assert_eq!(parts.len(), 2);
    assert!(parts.iter().all(|p| p.is_new && p.leader.0 == 1 && p.leader_epoch == 0));
    let ControllerRequest::UpdateMetadata(um) = &sent[1].1 else { panic!("not UpdateMetadata") };
    assert_eq!(um.topic_states[0].partition_states.len(), 2);
}

#[tokio::test]
async fn added_partitions_are_initialized() {
    let zk = FakeZk::new();
    zk.register(1);
    zk.create_topic("t", &[(0, vec![1])], true);
    let (mut c, _, _) = core(&zk, cfg(1));
    c.process(ControllerEvent::Startup).await;
    assert_eq!(zk.partition_state("t", 0).map(|s| s.leader), Some(1), "failover brings New partitions online");
    let (data, _) = (zk.data(&paths::topic("t")).expect("topic"), ());
    let mut node = TopicZNode::decode("t", &data).expect("node");
    node.partitions.insert(1, vec![1]);
    zk.put(&paths::topic("t"), &node.encode());
    c.process(ControllerEvent::PartitionModifications("t".into())).await;
    assert_eq!(zk.partition_state("t", 1).map(|s| (s.leader, s.leader_epoch)), Some((1, 0)));
}

#[tokio::test]
async fn failover_gives_topic_ids_and_restarts_existing_partitions_with_a_new_epoch() {
    let zk = FakeZk::new();
    zk.register(1);
    zk.create_topic("old", &[(0, vec![1])], false);
    // State left by an earlier controller when the only broker died: no leader, ISR kept.
    zk.put(&paths::partition_state("old", 0), br#"{"controller_epoch":3,"leader":-1,"version":1,"leader_epoch":4,"isr":[1]}"#);
    zk.put(paths::CONTROLLER_EPOCH, b"3");
    let (mut c, sink, _) = core(&zk, cfg(1));
    c.process(ControllerEvent::Startup).await;
    assert_eq!(c.ctx.epoch, 4);
    let node = TopicZNode::decode("t", &zk.data(&paths::topic("old")).expect("topic")).expect("node");
    assert!(node.topic_id.is_some(), "topic id added by the controller");
    let s = zk.partition_state("old", 0).expect("state");
    assert_eq!((s.leader, s.leader_epoch, s.isr.clone(), s.controller_epoch), (1, 5, vec![1], 4));
    // Broker list first; replica startup re-sends the cached (leaderless) state to every live
    // replica; then the election's LeaderAndIsr with the new leader.
    let sent = sink.take();
    assert_eq!(
        summary(&sent),
        vec![(1, "UpdateMetadata"), (1, "LeaderAndIsr"), (1, "UpdateMetadata"), (1, "LeaderAndIsr"), (1, "UpdateMetadata")]
    );
    let ControllerRequest::LeaderAndIsr(last) = &sent[3].1 else { panic!("not LeaderAndIsr") };
    let ps = &last.topic_states[0].partition_states[0];
    assert_eq!((ps.leader.0, ps.leader_epoch, ps.is_new), (1, 5, false));
}

#[tokio::test]
async fn only_broker_dies_then_returns() {
    let zk = FakeZk::new();
    zk.register(1);
    zk.create_topic("t", &[(0, vec![1])], true);
    let (mut c, sink, _) = core(&zk, cfg(1));
    c.process(ControllerEvent::Startup).await;
    sink.take();
    zk.remove(&paths::broker_id(1));
    c.process(ControllerEvent::BrokerChange).await;
    let s = zk.partition_state("t", 0).expect("state");
    assert_eq!((s.leader, s.leader_epoch, s.isr.clone()), (-1, 1, vec![1]), "single-member ISR kept, no leader");
    assert_eq!(c.ctx.partition_state(&tp("t", 0)), PartitionState::Offline);
    assert!(sink.take().is_empty(), "no live broker to tell");

    zk.register(1);
    c.process(ControllerEvent::BrokerChange).await;
    let s = zk.partition_state("t", 0).expect("state");
    assert_eq!((s.leader, s.leader_epoch, s.isr.clone()), (1, 2, vec![1]));
    assert_eq!(c.ctx.partition_state(&tp("t", 0)), PartitionState::Online);
    assert!(summary(&sink.take()).contains(&(1, "LeaderAndIsr")));
}

#[tokio::test]
async fn leader_failure_elects_from_isr_and_follower_failure_shrinks_isr() {
    let zk = FakeZk::new();
    for b in 1..=3 {
        zk.register(b);
    }
    zk.create_topic("t", &[(0, vec![1, 2, 3])], true);
    let (mut c, sink, _) = core(&zk, cfg(1));
    c.process(ControllerEvent::Startup).await;
    assert_eq!(zk.partition_state("t", 0).map(|s| s.isr), Some(vec![1, 2, 3]));
    sink.take();

    zk.remove(&paths::broker_id(1));
    c.process(ControllerEvent::BrokerChange).await;
    let s = zk.partition_state("t", 0).expect("state");
    assert_eq!((s.leader, s.leader_epoch, s.isr.clone()), (2, 1, vec![2, 3]));
    let sent = sink.take();
    // The election's LeaderAndIsr goes to the live replicas; taking replica 1 offline then re-sends
    // the (unchanged, 1 is no longer in the ISR) state to the remaining replicas, as Kafka does.
    let lai: Vec<(i32, i32, i32)> = sent
        .iter()
        .filter_map(|(b, r)| match r {
            ControllerRequest::LeaderAndIsr(l) => {
                let ps = &l.topic_states[0].partition_states[0];
                Some((*b, ps.leader.0, ps.leader_epoch))
            }
            _ => None,
        })
        .collect();
    assert_eq!(lai, vec![(2, 2, 1), (3, 2, 1), (2, 2, 1), (3, 2, 1)]);
    let stop: Vec<i32> = sent.iter().filter(|(_, r)| r.name() == "StopReplica").map(|(b, _)| *b).collect();
    assert!(stop.is_empty(), "no StopReplica to a dead broker");
    assert!(!sink.brokers().contains(&1), "channel to the dead broker removed");

    zk.remove(&paths::broker_id(3));
    c.process(ControllerEvent::BrokerChange).await;
    let s = zk.partition_state("t", 0).expect("state");
    assert_eq!((s.leader, s.leader_epoch, s.isr.clone()), (2, 2, vec![2]), "ISR shrink bumps the leader epoch");
    let sent = sink.take();
    assert!(sent.iter().any(|(b, r)| *b == 2 && r.name() == "LeaderAndIsr"));
}

#[tokio::test]
async fn unclean_election_follows_topic_config() {
    for unclean in [false, true] {
        let zk = FakeZk::new();
        zk.register(1);
        zk.register(2);
        zk.create_topic("t", &[(0, vec![1, 2])], true);
        if unclean {
            let cfg = ConfigEntityZNode::new(BTreeMap::from([("unclean.leader.election.enable".into(), "true".into())]));
            zk.put(&paths::config_entity("topics", "t"), &cfg.encode());
        }
        zk.put(&paths::partition_state("t", 0), br#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":3,"isr":[1]}"#);
        let (mut c, _, _) = core(&zk, cfg(2));
        c.process(ControllerEvent::Startup).await;
        zk.remove(&paths::broker_id(1));
        c.process(ControllerEvent::BrokerChange).await;
        let s = zk.partition_state("t", 0).expect("state");
        if unclean {
            assert_eq!((s.leader, s.isr.clone(), s.leader_epoch), (2, vec![2], 4));
            assert_eq!(c.ctx.partition_state(&tp("t", 0)), PartitionState::Online);
        } else {
            assert_eq!((s.leader, s.isr.clone(), s.leader_epoch), (-1, vec![1], 4));
            assert_eq!(c.ctx.partition_state(&tp("t", 0)), PartitionState::Offline);
        }
    }
}

#[tokio::test]
async fn bad_version_is_retried_after_rereading() {
    let zk = FakeZk::new();
    zk.register(1);
    zk.register(2);
    zk.create_topic("t", &[(0, vec![1, 2])], true);
    let (mut c, _, _) = core(&zk, cfg(2));
    c.process(ControllerEvent::Startup).await;
    let path = paths::partition_state("t", 0);
    zk.inject_bad_version_once(&path);
    zk.remove(&paths::broker_id(1));
    c.process(ControllerEvent::BrokerChange).await;
    let s = zk.partition_state("t", 0).expect("state");
    assert_eq!((s.leader, s.isr.clone()), (2, vec![2]));
    assert!(zk.set_data_calls().iter().filter(|p| **p == path).count() >= 2, "write retried");
    assert_eq!(
        c.ctx.partition_leadership_info(&tp("t", 0)).map(|l| l.leader_and_isr.zk_version),
        zk.version(&path),
        "cache holds the zkVersion of the successful write"
    );
}

#[tokio::test]
async fn session_expiry_resigns_then_reregisters_and_reelects() {
    let zk = FakeZk::new();
    zk.register(1);
    let (mut c, sink, broker_epoch) = core(&zk, cfg(1));
    c.process(ControllerEvent::Startup).await;
    assert!(c.is_active());
    c.process(ControllerEvent::Expire).await;
    assert!(!c.is_active());
    assert!(sink.brokers().is_empty(), "channels stopped");
    // The expired session took the ephemeral nodes with it.
    zk.remove(paths::CONTROLLER);
    zk.remove(&paths::broker_id(1));
    c.process(ControllerEvent::RegisterBrokerAndReelect).await;
    assert!(zk.exists(&paths::broker_id(1)));
    assert!(broker_epoch.load(Ordering::SeqCst) > 0);
    assert!(c.is_active());
    assert_eq!(c.ctx.epoch, 2);
    assert_eq!(c.ctx.live_broker_epoch(1), Some(broker_epoch.load(Ordering::SeqCst)));
}

#[tokio::test]
async fn inactive_controller_ignores_events_and_shutdown_releases_controller_node() {
    let zk = FakeZk::new();
    zk.register(1);
    zk.register(2);
    let (mut c1, _, _) = core(&zk, cfg(1));
    let (mut c2, sink2, _) = core(&zk, cfg(2));
    c1.process(ControllerEvent::Startup).await;
    c2.process(ControllerEvent::Startup).await;
    zk.create_topic("t", &[(0, vec![2])], true);
    c2.process(ControllerEvent::TopicChange).await;
    assert!(sink2.take().is_empty());
    c1.shutdown().await;
    assert!(!zk.exists(paths::CONTROLLER));
    c2.process(ControllerEvent::Reelect).await;
    assert!(c2.is_active());
    assert_eq!(zk.partition_state("t", 0).map(|s| s.controller_epoch), Some(2));
}
