//! Batching order and contents of controller requests.

use std::collections::BTreeSet;

use super::*;
use crate::context::{LeaderAndIsr, LiveBroker, ReplicaAssignment};
use crate::test_support::{live_broker, tp};

fn ctx() -> ControllerContext {
    let mut ctx = ControllerContext::default();
    ctx.epoch = 7;
    ctx.set_live_brokers([live_broker(1, 101), live_broker(2, 102)]);
    ctx.set_topic_id("t", "AAAAAAAAAAAAAAAAAAAAAQ".into());
    for p in 0..2 {
        let partition = tp("t", p);
        ctx.update_partition_full_replica_assignment(&partition, ReplicaAssignment::new(vec![1, 2, 3]));
        let l = LeaderAndIsr { leader: 1, leader_epoch: 4, isr: vec![1, 2], zk_version: 9 };
        ctx.put_partition_leadership_info(partition, LeaderIsrAndControllerEpoch::new(l, 6));
    }
    ctx
}

fn leader_state(ctx: &ControllerContext, p: i32) -> LeaderIsrAndControllerEpoch {
    ctx.partition_leadership_info(&tp("t", p)).cloned().expect("leader")
}

#[test]
fn flush_order_is_leader_and_isr_then_update_metadata_then_stop_replica() {
    let ctx = ctx();
    let mut batch = ControllerBrokerRequestBatch::new(1, "PLAINTEXT");
    batch.new_batch().expect("empty");
    batch.add_stop_replica_request_for_brokers(&ctx, &[2], &tp("t", 1), false);
    let a = ctx.partition_full_replica_assignment(&tp("t", 0));
    batch.add_leader_and_isr_request_for_brokers(&ctx, &[1, 2], &tp("t", 0), &leader_state(&ctx, 0), &a, false);
    assert!(batch.new_batch().is_err(), "a non-empty batch cannot be restarted");
    let reqs = batch.take_requests(&ctx);
    let names: Vec<(i32, &str)> = reqs.iter().map(|(b, r)| (*b, r.name())).collect();
    assert_eq!(
        names,
        vec![(1, "LeaderAndIsr"), (2, "LeaderAndIsr"), (1, "UpdateMetadata"), (2, "UpdateMetadata"), (2, "StopReplica")]
    );
    assert!(batch.is_empty());
}

#[test]
fn leader_and_isr_contents() {
    let ctx = ctx();
    let mut batch = ControllerBrokerRequestBatch::new(1, "PLAINTEXT");
    let a = ctx.partition_full_replica_assignment(&tp("t", 0));
    batch.add_leader_and_isr_request_for_brokers(&ctx, &[2], &tp("t", 0), &leader_state(&ctx, 0), &a, true);
    // isNew is sticky within a batch.
    batch.add_leader_and_isr_request_for_brokers(&ctx, &[2], &tp("t", 0), &leader_state(&ctx, 0), &a, false);
    let reqs = batch.take_requests(&ctx);
    let ControllerRequest::LeaderAndIsr(req) = &reqs[0].1 else { panic!("expected LeaderAndIsr") };
    assert_eq!((req.controller_id.0, req.controller_epoch, req.broker_epoch), (1, 7, 102));
    let ts = &req.topic_states[0];
    assert_eq!(ts.topic_name.0.as_str(), "t");
    assert_eq!(ts.topic_id, topic_uuid(Some("AAAAAAAAAAAAAAAAAAAAAQ")));
    assert_ne!(ts.topic_id, uuid::Uuid::nil());
    let ps = &ts.partition_states[0];
    assert_eq!((ps.leader.0, ps.leader_epoch, ps.partition_epoch, ps.controller_epoch), (1, 4, 9, 6));
    assert_eq!(ps.isr, vec![BrokerId(1), BrokerId(2)]);
    assert_eq!(ps.replicas, vec![BrokerId(1), BrokerId(2), BrokerId(3)]);
    assert!(ps.is_new);
    assert_eq!(req.live_leaders.len(), 1);
    assert_eq!((req.live_leaders[0].broker_id.0, req.live_leaders[0].port), (1, 9001));
}

#[test]
fn update_metadata_contents_and_deleting_topics() {
    let mut ctx = ctx();
    let mut batch = ControllerBrokerRequestBatch::new(1, "PLAINTEXT");
    batch.add_update_metadata_request_for_brokers(&ctx, &[1], &[tp("t", 0)]);
    let reqs = batch.take_requests(&ctx);
    let ControllerRequest::UpdateMetadata(req) = &reqs[0].1 else { panic!("expected UpdateMetadata") };
    assert_eq!(req.live_brokers.len(), 2);
    let ep = &req.live_brokers[0].endpoints[0];
    assert_eq!((ep.host.as_str(), ep.port, ep.listener.as_str(), ep.security_protocol), ("127.0.0.1", 9001, "PLAINTEXT", 0));
    let ps = &req.topic_states[0].partition_states[0];
    assert_eq!(ps.leader.0, 1);
    assert_eq!(ps.offline_replicas, vec![BrokerId(3)], "broker 3 is not live");

    ctx.topics_to_be_deleted.insert("t".into());
    batch.add_update_metadata_request_for_brokers(&ctx, &[1], &[tp("t", 0)]);
    let reqs = batch.take_requests(&ctx);
    let ControllerRequest::UpdateMetadata(req) = &reqs[0].1 else { panic!("expected UpdateMetadata") };
    assert_eq!(req.topic_states[0].partition_states[0].leader.0, LeaderAndIsr::LEADER_DURING_DELETE);
}

#[test]
fn update_metadata_without_partitions_lists_brokers_only() {
    let ctx = ctx();
    let mut batch = ControllerBrokerRequestBatch::new(1, "PLAINTEXT");
    batch.add_update_metadata_request_for_brokers(&ctx, &[1, 2], &[]);
    let reqs = batch.take_requests(&ctx);
    assert_eq!(reqs.len(), 2);
    for (b, r) in &reqs {
        let ControllerRequest::UpdateMetadata(req) = r else { panic!("expected UpdateMetadata") };
        assert!(req.topic_states.is_empty());
        assert_eq!(req.broker_epoch, 100 + *b as i64);
    }
}

#[test]
fn stop_replica_leader_epochs() {
    let mut ctx = ctx();
    ctx.update_partition_full_replica_assignment(&tp("u", 0), ReplicaAssignment::new(vec![1]));
    let mut batch = ControllerBrokerRequestBatch::new(1, "PLAINTEXT");
    batch.add_stop_replica_request_for_brokers(&ctx, &[1], &tp("t", 0), false);
    batch.add_stop_replica_request_for_brokers(&ctx, &[1], &tp("u", 0), true);
    let reqs = batch.take_requests(&ctx);
    let ControllerRequest::StopReplica(req) = &reqs[0].1 else { panic!("expected StopReplica") };
    let epochs: Vec<(i32, bool)> = req
        .topic_states
        .iter()
        .map(|t| (t.partition_states[0].leader_epoch, t.partition_states[0].delete_partition))
        .collect();
    assert_eq!(epochs, vec![(4, false), (LeaderAndIsr::NO_EPOCH, true)]);

    ctx.topics_to_be_deleted.insert("t".into());
    batch.add_stop_replica_request_for_brokers(&ctx, &[1], &tp("t", 0), true);
    let reqs = batch.take_requests(&ctx);
    let ControllerRequest::StopReplica(req) = &reqs[0].1 else { panic!("expected StopReplica") };
    assert_eq!(req.topic_states[0].partition_states[0].leader_epoch, LeaderAndIsr::EPOCH_DURING_DELETE);
}

#[test]
fn requests_only_go_to_registered_brokers() {
    let mut ctx = ctx();
    let mut batch = ControllerBrokerRequestBatch::new(1, "PLAINTEXT");
    let a = ctx.partition_full_replica_assignment(&tp("t", 0));
    batch.add_leader_and_isr_request_for_brokers(&ctx, &[3, -1], &tp("t", 0), &leader_state(&ctx, 0), &a, false);
    batch.add_stop_replica_request_for_brokers(&ctx, &[3], &tp("t", 0), false);
    ctx.remove_live_brokers(&BTreeSet::from([2]));
    ctx.add_live_brokers([LiveBroker { id: 5, epoch: 5, endpoints: vec![], rack: None }]);
    let brokers: Vec<i32> = batch.take_requests(&ctx).iter().map(|(b, _)| *b).collect();
    assert_eq!(brokers, vec![1], "only broker 1 of the UpdateMetadata set is still live");
}
