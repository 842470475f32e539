use std::collections::BTreeMap;

use zk_schema::model::{ReassignPartitionsZNode, ReassignmentEntry};
use zk_schema::paths;

use super::*;
use crate::config::ControllerConfig;
use crate::event::ControllerEvent;
use crate::request_batch::ControllerRequest;
use crate::requests_api::AlterIsrPartition;
use crate::requests_api::AlterIsrRequestData;
use crate::test_support::{core, sent_to, started, topic_znode, tp, FakeZk};

fn zk_request(entries: &[(&str, i32, &[i32])]) -> Vec<u8> {
    ReassignPartitionsZNode {
        version: 1,
        partitions: entries
            .iter()
            .map(|(t, p, r)| ReassignmentEntry { topic: t.to_string(), partition: *p, replicas: r.to_vec(), log_dirs: None })
            .collect(),
    }
    .encode()
}

fn stop_replica_parts(r: &ControllerRequest) -> Vec<(String, i32, bool)> {
    let ControllerRequest::StopReplica(s) = r else { panic!("not StopReplica") };
    s.topic_states
        .iter()
        .flat_map(|t| t.partition_states.iter().map(move |p| (t.topic_name.0.to_string(), p.partition_index, p.delete_partition)))
        .collect()
}

#[test]
fn assignment_arithmetic() {
    let ra = ReplicaAssignment::new(vec![1, 2]).reassign_to(&[2, 3]);
    assert_eq!((ra.replicas.clone(), ra.adding_replicas.clone(), ra.removing_replicas.clone()), (vec![2, 3, 1], vec![3], vec![1]));
    assert_eq!((ra.origin_replicas(), ra.target_replicas()), (vec![2, 1], vec![2, 3]));
    // Changing the target of a running reassignment starts from the origin replicas.
    let again = ra.reassign_to(&[4]);
    assert_eq!((again.replicas, again.adding_replicas, again.removing_replicas), (vec![4, 2, 1], vec![4], vec![2, 1]));
    assert_eq!(build_reassignment(&ra, None).map(|a| a.replicas), Some(vec![2, 1]), "cancel goes back to the origin");
    assert_eq!(build_reassignment(&ReplicaAssignment::new(vec![1]), None), None);
    let live = BTreeSet::from([1, 2, 3]);
    let cur = ReplicaAssignment::new(vec![1, 2]);
    assert_eq!(validate_replicas(&cur, &[], &live).map(|e| e.code), Some(codes::INVALID_REPLICA_ASSIGNMENT));
    assert_eq!(validate_replicas(&cur, &[1, 1], &live).map(|e| e.code), Some(codes::INVALID_REPLICA_ASSIGNMENT));
    assert_eq!(validate_replicas(&cur, &[-1], &live).map(|e| e.code), Some(codes::INVALID_REPLICA_ASSIGNMENT));
    assert_eq!(validate_replicas(&cur, &[1, 4], &live).map(|e| e.code), Some(codes::INVALID_REPLICA_ASSIGNMENT));
    assert_eq!(validate_replicas(&cur, &[3, 1], &live), None);
}

#[tokio::test]
async fn zk_reassignment_moves_a_partition_from_1_2_to_2_3() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1, 2]), (1, vec![1, 2])], true);
    let (mut c, sink) = started(&zk, 3, ControllerConfig::with_defaults(3)).await;
    assert!(zk.is_watched(&WatchTarget::ReassignPartitions));
    let topic_id = topic_znode(&zk, "t").topic_id;

    zk.put(paths::REASSIGN_PARTITIONS, &zk_request(&[("t", 0, &[2, 3])]));
    c.process(ControllerEvent::ZkPartitionReassignment).await;
    // U1: RS/AR/RR in the topic znode, topic id kept.
    let node = topic_znode(&zk, "t");
    assert_eq!(node.partitions, BTreeMap::from([(0, vec![2, 3, 1]), (1, vec![1, 2])]));
    assert_eq!(node.adding_replicas, BTreeMap::from([(0, vec![3])]));
    assert_eq!(node.removing_replicas, BTreeMap::from([(0, vec![1])]));
    assert_eq!(node.topic_id, topic_id);
    assert!(c.ctx.partitions_being_reassigned.contains(&tp("t", 0)));
    // A1: leader epoch bumped, LeaderAndIsr with the full assignment to every replica.
    let s = zk.partition_state("t", 0).expect("state");
    assert_eq!((s.leader, s.leader_epoch, s.isr.clone()), (1, 1, vec![1, 2]));
    let sent = sink.take();
    for b in [1, 2, 3] {
        let lai = sent_to(&sent, b, "LeaderAndIsr");
        assert!(!lai.is_empty(), "LeaderAndIsr to {b}");
        let ControllerRequest::LeaderAndIsr(r) = lai[0] else { unreachable!() };
        let ps = &r.topic_states[0].partition_states[0];
        assert_eq!(ps.replicas.iter().map(|b| b.0).collect::<Vec<_>>(), vec![2, 3, 1]);
        assert_eq!(ps.adding_replicas.iter().map(|b| b.0).collect::<Vec<_>>(), vec![3]);
        assert_eq!(ps.removing_replicas.iter().map(|b| b.0).collect::<Vec<_>>(), vec![1]);
    }
    // A2: the new replica starts as New.
    assert_eq!(c.ctx.replica_state(&PartitionAndReplica::new(tp("t", 0), 3)), Some(ReplicaState::New));
    assert!(zk.exists(paths::REASSIGN_PARTITIONS), "still in progress");

    // The leader adds 3 to the ISR: the reassignment completes.
    let e1 = c.ctx.live_broker_epoch(1).expect("live");
    let request = AlterIsrRequestData {
        broker_id: 1,
        broker_epoch: e1,
        partitions: vec![AlterIsrPartition { tp: tp("t", 0), leader_epoch: 1, new_isr: vec![1, 2, 3], partition_epoch: 1 }],
    };
    let (_, changed) = c.process_alter_isr(&request).await;
    c.maybe_complete_reassignments(&changed).await.expect("completes");

    let node = topic_znode(&zk, "t");
    assert_eq!(node.partitions, BTreeMap::from([(0, vec![2, 3]), (1, vec![1, 2])]));
    assert!(node.adding_replicas.is_empty() && node.removing_replicas.is_empty());
    let s = zk.partition_state("t", 0).expect("state");
    assert_eq!(s.leader, 2, "leader moved into the target replicas");
    assert_eq!(s.isr, vec![2, 3], "removed replica out of the ISR");
    assert!(!c.ctx.partitions_being_reassigned.contains(&tp("t", 0)));
    assert!(!zk.exists(paths::REASSIGN_PARTITIONS), "node deleted when empty");
    assert!(c.self_events.contains(&"ZkPartitionReassignment"), "watch re-armed through the queue");
    assert_eq!(c.ctx.replica_state(&PartitionAndReplica::new(tp("t", 0), 1)), None, "removed replica NonExistent");
    assert_eq!(c.ctx.replica_state(&PartitionAndReplica::new(tp("t", 0), 3)), Some(ReplicaState::Online));
    let sent = sink.take();
    let deletes: Vec<_> = sent_to(&sent, 1, "StopReplica").into_iter().flat_map(stop_replica_parts).collect();
    assert!(deletes.contains(&("t".to_string(), 0, true)), "removed replica deleted: {deletes:?}");
}

#[tokio::test]
async fn api_reassignment_list_cancel_and_errors() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1, 2])], true);
    let (mut c, sink) = started(&zk, 3, ControllerConfig::with_defaults(1)).await;

    let r = c
        .process_api_partition_reassignment(vec![
            (tp("t", 0), Some(vec![1, 3])),
            (tp("nope", 0), Some(vec![1])),
            (tp("t", 0), Some(vec![])),
        ])
        .await
        .expect("ok")
        .expect("accepted");
    let codes_of: Vec<i16> = r.iter().map(|(_, r)| r.as_ref().err().map_or(0, |e| e.code)).collect();
    assert_eq!(codes_of, vec![codes::INVALID_REPLICA_ASSIGNMENT, 0, codes::UNKNOWN_TOPIC_OR_PARTITION]);
    let listed = c.process_list_partition_reassignments(None).expect("active");
    assert_eq!(listed.len(), 1);
    let (p, a) = &listed[0];
    assert_eq!((p.clone(), a.replicas.clone(), a.adding_replicas.clone(), a.removing_replicas.clone()), (tp("t", 0), vec![1, 3, 2], vec![3], vec![2]));
    assert!(!zk.exists(paths::REASSIGN_PARTITIONS), "API reassignments are not written to the admin znode");
    sink.take();

    // Cancel: back to [1, 2]; the added replica is stopped and deleted.
    let r = c.process_api_partition_reassignment(vec![(tp("t", 0), None)]).await.expect("ok").expect("accepted");
    assert!(r[0].1.is_ok(), "{r:?}");
    let node = topic_znode(&zk, "t");
    assert_eq!(node.partitions, BTreeMap::from([(0, vec![1, 2])]));
    assert!(node.adding_replicas.is_empty() && node.removing_replicas.is_empty());
    assert!(c.process_list_partition_reassignments(None).expect("active").is_empty());
    let sent = sink.take();
    let to_3: Vec<_> = sent_to(&sent, 3, "StopReplica").into_iter().flat_map(stop_replica_parts).collect();
    assert!(to_3.contains(&("t".to_string(), 0, true)), "{to_3:?}");

    // Nothing to cancel.
    let r = c.process_api_partition_reassignment(vec![(tp("t", 0), None)]).await.expect("ok").expect("accepted");
    assert_eq!(r[0].1.as_ref().unwrap_err().code, codes::NO_REASSIGNMENT_IN_PROGRESS);

    let (mut other, _, _) = core(&zk, ControllerConfig::with_defaults(2));
    other.process(ControllerEvent::Startup).await;
    assert_eq!(other.process_api_partition_reassignment(vec![]).await.expect("ok").unwrap_err().code, codes::NOT_CONTROLLER);
    assert_eq!(other.process_list_partition_reassignments(None).unwrap_err().code, codes::NOT_CONTROLLER);
}

#[tokio::test]
async fn increase_replication_factor_and_resume_on_failover() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1])], true);
    let (mut c, _sink) = started(&zk, 3, ControllerConfig::with_defaults(1)).await;
    zk.put(paths::REASSIGN_PARTITIONS, &zk_request(&[("t", 0, &[1, 2, 3])]));
    c.process(ControllerEvent::ZkPartitionReassignment).await;
    let node = topic_znode(&zk, "t");
    assert_eq!(node.partitions[&0], vec![1, 2, 3]);
    assert_eq!(node.adding_replicas[&0], vec![2, 3]);

    // The controller dies mid-way; a new one resumes from the topic znode.
    zk.remove(paths::CONTROLLER);
    let (mut c2, sink2, _) = core(&zk, ControllerConfig::with_defaults(2));
    c2.process(ControllerEvent::Startup).await;
    assert!(c2.is_active());
    assert!(c2.ctx.partitions_being_reassigned.contains(&tp("t", 0)));
    let sent = sink2.take();
    assert!(!sent_to(&sent, 3, "LeaderAndIsr").is_empty(), "resumed: the new replicas are told again");
    assert_eq!(zk.partition_state("t", 0).map(|s| s.controller_epoch), Some(2));

    // Followers caught up (ZooKeeper ISR path): completion.
    let v = zk.version(&paths::partition_state("t", 0)).expect("v");
    let s = zk.partition_state("t", 0).expect("s");
    zk.put(
        &paths::partition_state("t", 0),
        &zk_schema::model::PartitionStateZNode::new(s.leader, s.leader_epoch, vec![1, 2, 3], 2).encode(),
    );
    assert_eq!(zk.version(&paths::partition_state("t", 0)), Some(v + 1));
    zk.put_sequential(
        paths::ISR_CHANGE_PREFIX,
        &zk_schema::model::PartitionsZNode::new(vec![zk_schema::model::PartitionRef { topic: "t".into(), partition: 0 }]).encode(),
    );
    c2.process(ControllerEvent::IsrChangeNotification).await;
    let node = topic_znode(&zk, "t");
    assert_eq!(node.partitions[&0], vec![1, 2, 3]);
    assert!(node.adding_replicas.is_empty());
    assert!(!zk.exists(paths::REASSIGN_PARTITIONS));
    assert_eq!(zk.partition_state("t", 0).map(|s| (s.leader, s.isr)), Some((1, vec![1, 2, 3])));
}

#[tokio::test]
async fn zk_reassignment_of_unknown_partition_is_dropped_from_the_node() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1])], true);
    let (mut c, _sink) = started(&zk, 2, ControllerConfig::with_defaults(1)).await;
    zk.put(paths::REASSIGN_PARTITIONS, &zk_request(&[("t", 0, &[2]), ("ghost", 0, &[1])]));
    c.process(ControllerEvent::ZkPartitionReassignment).await;
    let data = zk.data(paths::REASSIGN_PARTITIONS).expect("still there for t-0");
    assert_eq!(String::from_utf8(data).expect("utf8"), r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2]}]}"#);
}
