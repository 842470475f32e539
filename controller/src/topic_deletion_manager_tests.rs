//! Topic deletion: the pure plans and the whole flow against the in-memory ZooKeeper.

use std::collections::BTreeMap;

use wire::kafka_protocol::messages::{StopReplicaRequest, UpdateMetadataRequest};
use zk_schema::paths;

use super::*;
use crate::config::ControllerConfig;
use crate::context::{LiveBroker, ReplicaAssignment, TopicPartition};
use crate::event::ControllerEvent;
use crate::request_batch::ControllerRequest;
use crate::test_support::{core, summary, tp, FakeZk};

fn stop_replica_entries(req: &StopReplicaRequest) -> Vec<(String, i32, i32, bool)> {
    req.topic_states
        .iter()
        .flat_map(|t| {
            t.partition_states.iter().map(move |p| {
                (t.topic_name.0.as_str().to_string(), p.partition_index, p.leader_epoch, p.delete_partition)
            })
        })
        .collect()
}

fn um_leaders(req: &UpdateMetadataRequest) -> Vec<i32> {
    req.topic_states.iter().flat_map(|t| t.partition_states.iter().map(|p| p.leader.0)).collect()
}

#[test]
fn plan_resume_classifies_topics() {
    let mut ctx = ControllerContext::default();
    ctx.set_live_brokers([LiveBroker { id: 1, epoch: 1, endpoints: vec![], rack: None }]);
    for (t, state) in [
        ("done", ReplicaState::DeletionSuccessful),
        ("failed", ReplicaState::DeletionIneligible),
        ("running", ReplicaState::DeletionStarted),
        ("fresh", ReplicaState::Online),
    ] {
        let p = TopicPartition::new(t, 0);
        ctx.update_partition_full_replica_assignment(&p, ReplicaAssignment::new(vec![1]));
        ctx.put_replica_state(PartitionAndReplica::new(p, 1), state);
        ctx.topics_to_be_deleted.insert(t.to_string());
    }
    ctx.topics_ineligible_for_deletion.insert("failed".into());
    let plan = TopicDeletionManager::plan_resume(&ctx);
    assert_eq!(plan.complete, vec!["done".to_string()]);
    assert_eq!(plan.retry, vec!["failed".to_string()]);
    assert_eq!(plan.eligible, vec!["fresh".to_string()]);
}

#[test]
fn plan_partition_deletion_splits_dead_replicas() {
    let mut ctx = ControllerContext::default();
    ctx.set_live_brokers([LiveBroker { id: 1, epoch: 1, endpoints: vec![], rack: None }]);
    let p = TopicPartition::new("t", 0);
    ctx.update_partition_full_replica_assignment(&p, ReplicaAssignment::new(vec![1, 2]));
    let plan = TopicDeletionManager::plan_partition_deletion(&ctx, &BTreeSet::from(["t".to_string()]));
    assert_eq!(plan.dead_replicas, vec![PartitionAndReplica::new(p.clone(), 2)]);
    assert_eq!(plan.replicas_to_delete, vec![PartitionAndReplica::new(p, 1)]);
    assert_eq!(plan.ineligible_topics, BTreeSet::from(["t".to_string()]));
}

#[tokio::test]
async fn deletion_flow_stops_replicas_then_deletes_znodes() {
    let zk = FakeZk::new();
    zk.register(1);
    zk.create_topic("t", &[(0, vec![1]), (1, vec![1])], true);
    zk.put(&paths::config_entity("topics", "t"), br#"{"version":1,"config":{}}"#);
    let (mut c, sink, _) = core(&zk, ControllerConfig::with_defaults(1));
    c.process(ControllerEvent::Startup).await;
    sink.take();

    zk.put(&paths::delete_topic("t"), &[]);
    c.process(ControllerEvent::TopicDeletion).await;
    let sent = sink.take();
    assert_eq!(summary(&sent), vec![(1, "UpdateMetadata"), (1, "StopReplica"), (1, "StopReplica")]);
    let ControllerRequest::UpdateMetadata(um) = &sent[0].1 else { panic!("not UpdateMetadata") };
    assert_eq!(um_leaders(um), vec![-2, -2], "brokers drop partitions of deleted topics");
    let ControllerRequest::StopReplica(first) = &sent[1].1 else { panic!("not StopReplica") };
    let ControllerRequest::StopReplica(second) = &sent[2].1 else { panic!("not StopReplica") };
    assert_eq!(stop_replica_entries(first), vec![("t".into(), 0, -2, false), ("t".into(), 1, -2, false)]);
    assert_eq!(stop_replica_entries(second), vec![("t".into(), 0, -2, true), ("t".into(), 1, -2, true)]);
    assert_eq!(c.ctx.partition_state(&tp("t", 0)), PartitionState::NonExistent);
    assert!(zk.exists(&paths::topic("t")), "nothing deleted before the brokers confirm");

    // Broker confirms partition 0 only: still waiting.
    let ev = |errs: Vec<(TopicPartition, i16)>| ControllerEvent::TopicDeletionStopReplicaResponseReceived {
        broker_id: 1,
        error_code: 0,
        partition_errors: errs,
    };
    c.process(ev(vec![(tp("t", 0), 0)])).await;
    assert!(zk.exists(&paths::topic("t")));
    c.process(ev(vec![(tp("t", 1), 0)])).await;
    for p in [paths::topic("t"), paths::config_entity("topics", "t"), paths::delete_topic("t")] {
        assert!(!zk.exists(&p), "{p} deleted");
    }
    assert!(!c.ctx.all_topics().contains("t"));
    assert!(c.ctx.topics_to_be_deleted.is_empty());
    assert!(!zk.is_watched(&WatchTarget::Topic("t".into())));
}

#[tokio::test]
async fn failed_stop_replica_halts_then_retries_on_next_trigger() {
    let zk = FakeZk::new();
    zk.register(1);
    zk.create_topic("t", &[(0, vec![1])], true);
    let (mut c, sink, _) = core(&zk, ControllerConfig::with_defaults(1));
    c.process(ControllerEvent::Startup).await;
    zk.put(&paths::delete_topic("t"), &[]);
    c.process(ControllerEvent::TopicDeletion).await;
    sink.take();
    c.process(ControllerEvent::TopicDeletionStopReplicaResponseReceived {
        broker_id: 1,
        error_code: 0,
        partition_errors: vec![(tp("t", 0), 56)],
    })
    .await;
    // Retried replica goes back to Offline (StopReplica without delete); deletion waits for a trigger.
    let r = PartitionAndReplica::new(tp("t", 0), 1);
    assert_eq!(c.ctx.replica_state(&r), Some(ReplicaState::Offline));
    assert!(!c.ctx.topics_ineligible_for_deletion.contains("t"));
    assert!(zk.exists(&paths::topic("t")));
    zk.register(1);
    c.process(ControllerEvent::BrokerChange).await;
    assert_eq!(c.ctx.replica_state(&r), Some(ReplicaState::DeletionStarted));
    let sent = sink.take();
    assert!(sent.iter().any(|(_, r)| matches!(r, ControllerRequest::StopReplica(s) if stop_replica_entries(s).iter().any(|e| e.3))));
}

#[tokio::test]
async fn deletion_waits_for_dead_replica_broker() {
    let zk = FakeZk::new();
    zk.register(1);
    zk.register(2);
    zk.create_topic("t", &[(0, vec![1, 2])], true);
    let (mut c, sink, _) = core(&zk, ControllerConfig::with_defaults(1));
    c.process(ControllerEvent::Startup).await;
    zk.remove(&paths::broker_id(2));
    c.process(ControllerEvent::BrokerChange).await;
    zk.put(&paths::delete_topic("t"), &[]);
    c.process(ControllerEvent::TopicDeletion).await;
    assert!(c.ctx.topics_ineligible_for_deletion.contains("t"));
    let dead = PartitionAndReplica::new(tp("t", 0), 2);
    assert_eq!(c.ctx.replica_state(&dead), Some(ReplicaState::DeletionIneligible));
    c.process(ControllerEvent::TopicDeletionStopReplicaResponseReceived {
        broker_id: 1,
        error_code: 0,
        partition_errors: vec![(tp("t", 0), 0)],
    })
    .await;
    assert!(zk.exists(&paths::topic("t")), "replica on broker 2 not deleted yet");
    sink.take();

    zk.register(2);
    c.process(ControllerEvent::BrokerChange).await;
    assert_eq!(c.ctx.replica_state(&dead), Some(ReplicaState::DeletionStarted));
    let sent = sink.take();
    assert!(sent.iter().any(|(b, r)| *b == 2 && matches!(r, ControllerRequest::StopReplica(s) if stop_replica_entries(s) == vec![("t".into(), 0, -2, true)])));
    c.process(ControllerEvent::TopicDeletionStopReplicaResponseReceived {
        broker_id: 2,
        error_code: 0,
        partition_errors: vec![(tp("t", 0), 0)],
    })
    .await;
    assert!(!zk.exists(&paths::topic("t")));
}

#[tokio::test]
async fn disabled_deletion_only_removes_the_request() {
    let zk = FakeZk::new();
    zk.register(1);
    zk.create_topic("t", &[(0, vec![1])], true);
    let mut config = ControllerConfig::with_defaults(1);
    config.delete_topic_enable = false;
    let (mut c, _, _) = core(&zk, config);
    c.process(ControllerEvent::Startup).await;
    zk.put(&paths::delete_topic("t"), &[]);
    zk.put(&paths::delete_topic("missing"), &[]);
    c.process(ControllerEvent::TopicDeletion).await;
    assert!(!zk.exists(&paths::delete_topic("t")));
    assert!(!zk.exists(&paths::delete_topic("missing")));
    assert!(zk.exists(&paths::partition_state("t", 0)));
    assert_eq!(c.ctx.partition_state(&tp("t", 0)), PartitionState::Online);
}

#[tokio::test]
async fn adding_partitions_to_a_deleting_topic_restores_the_assignment() {
    let zk = FakeZk::new();
    zk.register(1);
    zk.register(2);
    zk.create_topic("t", &[(0, vec![1, 2])], true);
    let (mut c, _, _) = core(&zk, ControllerConfig::with_defaults(1));
    c.process(ControllerEvent::Startup).await;
    zk.remove(&paths::broker_id(2));
    c.process(ControllerEvent::BrokerChange).await;
    zk.put(&paths::delete_topic("t"), &[]);
    c.process(ControllerEvent::TopicDeletion).await;
    zk.create_topic("t", &[(0, vec![1, 2]), (1, vec![1, 2])], true);
    c.process(ControllerEvent::PartitionModifications("t".into())).await;
    let node = zk_schema::model::TopicZNode::decode("t", &zk.data(&paths::topic("t")).expect("topic")).expect("node");
    assert_eq!(node.partitions, BTreeMap::from([(0, vec![1, 2])]));
    assert_eq!(node.topic_id.as_deref(), c.ctx.topic_id("t"));
}
