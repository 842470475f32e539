use zk_schema::model::{PartitionRef, PartitionsZNode};
use zk_schema::paths;

use super::*;
use crate::config::ControllerConfig;
use crate::event::ControllerEvent;
use crate::requests_api::AlterIsrPartition;
use crate::test_support::{core, started, summary, tp, FakeZk};

fn req(broker_id: i32, broker_epoch: i64, parts: &[(&str, i32, i32, &[i32], i32)]) -> AlterIsrRequestData {
    AlterIsrRequestData {
        broker_id,
        broker_epoch,
        partitions: parts
            .iter()
            .map(|(t, p, le, isr, pe)| AlterIsrPartition { tp: tp(t, *p), leader_epoch: *le, new_isr: isr.to_vec(), partition_epoch: *pe })
            .collect(),
    }
}

fn outcome(r: &AlterPartitionResponse, topic: &str, p: i32) -> (i16, i32, i32, Vec<i32>, i32) {
    let t = r.topics.iter().find(|t| t.topic_name.0.as_str() == topic).expect("topic");
    let d = t.partitions.iter().find(|d| d.partition_index == p).expect("partition");
    (d.error_code, d.leader_id.0, d.leader_epoch, d.isr.iter().map(|b| b.0).collect(), d.partition_epoch)
}

#[tokio::test]
async fn shrink_expand_and_rejections() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1, 2, 3]), (1, vec![2, 3, 1])], true);
    let (mut c, sink) = started(&zk, 3, ControllerConfig::with_defaults(1)).await;
    let e1 = c.ctx.live_broker_epoch(1).expect("live");

    // Shrink t-0 and, in the same request, an unknown partition.
    let (r, changed) = c.process_alter_isr(&req(1, e1, &[("t", 0, 0, &[1, 2], 0), ("nope", 0, 0, &[1], 0)])).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(outcome(&r, "t", 0), (0, 1, 0, vec![1, 2], 1));
    assert_eq!(outcome(&r, "nope", 0).0, codes::UNKNOWN_TOPIC_OR_PARTITION);
    assert_eq!(changed, vec![tp("t", 0)]);
    let json = String::from_utf8(zk.partition_state("t", 0).expect("state").encode()).expect("utf8");
    assert_eq!(json, r#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2]}"#);
    assert_eq!(zk.version(&paths::partition_state("t", 0)), Some(1));
    assert_eq!(c.ctx.partition_leadership_info(&tp("t", 0)).map(|l| l.leader_and_isr.zk_version), Some(1));
    let sent = sink.take();
    assert_eq!(summary(&sent), vec![(1, "UpdateMetadata"), (2, "UpdateMetadata"), (3, "UpdateMetadata")]);

    // Same state again: success without a write.
    let writes = zk.set_data_calls().len();
    let (r, changed) = c.process_alter_isr(&req(1, e1, &[("t", 0, 0, &[1, 2], 1)])).await;
    assert_eq!(outcome(&r, "t", 0), (0, 1, 0, vec![1, 2], 1));
    assert!(changed.is_empty());
    assert_eq!(zk.set_data_calls().len(), writes, "no ZooKeeper write");

    // Stale partition epoch: INVALID_UPDATE_VERSION, nothing changed.
    let (r, _) = c.process_alter_isr(&req(1, e1, &[("t", 0, 0, &[1], 0)])).await;
    assert_eq!(outcome(&r, "t", 0).0, codes::INVALID_UPDATE_VERSION);
    assert_eq!(zk.partition_state("t", 0).map(|s| s.isr), Some(vec![1, 2]));

    // Older leader epoch: FENCED_LEADER_EPOCH.
    let (r, _) = c.process_alter_isr(&req(1, e1, &[("t", 0, -1, &[1], 1)])).await;
    assert_eq!(outcome(&r, "t", 0).0, codes::FENCED_LEADER_EPOCH);

    // Expand back.
    let (r, _) = c.process_alter_isr(&req(1, e1, &[("t", 0, 0, &[1, 2, 3], 1)])).await;
    assert_eq!(outcome(&r, "t", 0), (0, 1, 0, vec![1, 2, 3], 2));

    // Broker epoch checks.
    let (r, _) = c.process_alter_isr(&req(1, e1 + 1, &[("t", 0, 0, &[1], 2)])).await;
    assert_eq!((r.error_code, r.topics.len()), (codes::STALE_BROKER_EPOCH, 0));
    let (r, _) = c.process_alter_isr(&req(9, e1, &[("t", 0, 0, &[1], 2)])).await;
    assert_eq!(r.error_code, codes::STALE_BROKER_EPOCH);

    let (mut other, _, _) = core(&zk, ControllerConfig::with_defaults(2));
    other.process(ControllerEvent::Startup).await;
    let (r, _) = other.process_alter_isr(&req(1, e1, &[("t", 0, 0, &[1], 2)])).await;
    assert_eq!(r.error_code, codes::NOT_CONTROLLER);
}

#[tokio::test]
async fn many_partitions_in_one_request() {
    let zk = FakeZk::new();
    let assignment: Vec<(i32, Vec<i32>)> = (0..500).map(|p| (p, vec![1, 2])).collect();
    zk.create_topic("big", &assignment, true);
    let (mut c, sink) = started(&zk, 2, ControllerConfig::with_defaults(1)).await;
    let e1 = c.ctx.live_broker_epoch(1).expect("live");
    let parts: Vec<(&str, i32, i32, &[i32], i32)> = (0..500).map(|p| ("big", p, 0, &[1][..], 0)).collect();
    let (r, changed) = c.process_alter_isr(&req(1, e1, &parts)).await;
    assert_eq!(changed.len(), 500);
    assert!(r.topics[0].partitions.iter().all(|p| p.error_code == 0 && p.partition_epoch == 1));
    assert_eq!(r.topics[0].partitions.len(), 500);
    let sent = sink.take();
    assert_eq!(summary(&sent), vec![(1, "UpdateMetadata"), (2, "UpdateMetadata")], "one UpdateMetadata per broker for the batch");
}

#[tokio::test]
async fn isr_change_notifications_refresh_the_cache_and_are_deleted() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1, 2])], true);
    let (mut c, sink) = started(&zk, 2, ControllerConfig::with_defaults(1)).await;
    assert!(zk.is_watched(&crate::zk_backend::WatchTarget::IsrChangeNotifications));
    // A broker on the ZooKeeper ISR path shrank the ISR itself.
    zk.put(&paths::partition_state("t", 0), br#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1]}"#);
    let node = PartitionsZNode::new(vec![PartitionRef { topic: "t".into(), partition: 0 }, PartitionRef { topic: "gone".into(), partition: 3 }]);
    zk.put_sequential(paths::ISR_CHANGE_PREFIX, &node.encode());
    c.process(ControllerEvent::IsrChangeNotification).await;
    assert!(zk.children(paths::ISR_CHANGE_NOTIFICATION).is_empty(), "notifications deleted");
    let cached = c.ctx.partition_leadership_info(&tp("t", 0)).expect("cached");
    assert_eq!((cached.leader_and_isr.isr.clone(), cached.leader_and_isr.zk_version), (vec![1], 1));
    let sent = sink.take();
    assert_eq!(summary(&sent), vec![(1, "UpdateMetadata"), (2, "UpdateMetadata")]);
    let crate::request_batch::ControllerRequest::UpdateMetadata(um) = &sent[0].1 else { unreachable!() };
    assert_eq!(um.topic_states[0].partition_states[0].isr.iter().map(|b| b.0).collect::<Vec<_>>(), vec![1]);
}

#[test]
fn response_encodes_as_alter_isr_v0() {
    use wire::kafka_protocol::protocol::{Decodable, Encodable};
    let mut outcomes = BTreeMap::new();
    outcomes.insert(tp("t", 0), Ok(LeaderAndIsr { leader: 1, leader_epoch: 3, isr: vec![1, 2], zk_version: 7 }));
    outcomes.insert(tp("t", 1), Err(codes::INVALID_UPDATE_VERSION));
    let r = build_alter_isr_response(&[tp("t", 0), tp("t", 1)], &outcomes);
    let mut buf = bytes::BytesMut::new();
    r.encode(&mut buf, 0).expect("v0 encodes");
    let back = AlterPartitionResponse::decode(&mut buf.freeze(), 0).expect("decodes");
    assert_eq!(back, r);
    assert_eq!(outcome(&back, "t", 0), (0, 1, 3, vec![1, 2], 7));
    assert_eq!(outcome(&back, "t", 1).0, codes::INVALID_UPDATE_VERSION);
}

#[tokio::test]
async fn dead_or_shutting_down_replicas_may_not_join_the_isr() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1, 2, 3])], true);
    let (mut c, _sink) = started(&zk, 3, ControllerConfig::with_defaults(1)).await;
    let e1 = c.ctx.live_broker_epoch(1).expect("live");
    let (r, _) = c.process_alter_isr(&req(1, e1, &[("t", 0, 0, &[1, 2], 0)])).await;
    assert_eq!(outcome(&r, "t", 0).0, 0);

    // Broker 3 is shutting down: the leader may not add it back (KIP-841), nothing is written.
    c.ctx.shutting_down_broker_ids.insert(3);
    let writes = zk.set_data_calls().len();
    let (r, changed) = c.process_alter_isr(&req(1, e1, &[("t", 0, 0, &[1, 2, 3], 1)])).await;
    assert_eq!(outcome(&r, "t", 0).0, codes::OPERATION_NOT_ATTEMPTED);
    assert!(changed.is_empty());
    assert_eq!(zk.set_data_calls().len(), writes, "no ZooKeeper write");
    // A shrink that keeps a shutting-down member already in the ISR is still fine.
    let (r, _) = c.process_alter_isr(&req(1, e1, &[("t", 0, 0, &[1], 1)])).await;
    assert_eq!(outcome(&r, "t", 0), (0, 1, 0, vec![1], 2));

    // Once it is back (not shutting down) it may join; an unknown broker never may.
    c.ctx.shutting_down_broker_ids.clear();
    let (r, _) = c.process_alter_isr(&req(1, e1, &[("t", 0, 0, &[1, 9], 2)])).await;
    assert_eq!(outcome(&r, "t", 0).0, codes::OPERATION_NOT_ATTEMPTED);
    let (r, _) = c.process_alter_isr(&req(1, e1, &[("t", 0, 0, &[1, 3], 2)])).await;
    assert_eq!(outcome(&r, "t", 0), (0, 1, 0, vec![1, 3], 3));
}

#[test]
fn decide_checks_only_replicas_that_join() {
    let cached = LeaderIsrAndControllerEpoch::new(LeaderAndIsr { leader: 1, leader_epoch: 2, isr: vec![1, 3], zk_version: 4 }, 1);
    let p = |isr: &[i32]| AlterIsrPartition { tp: tp("t", 0), leader_epoch: 2, new_isr: isr.to_vec(), partition_epoch: 4 };
    let only_1_2 = |r: i32| r == 1 || r == 2;
    assert_eq!(decide_alter_isr(Some(&cached), 1, &p(&[1, 3]), only_1_2), AlterIsrDecision::Unchanged(cached.leader_and_isr.clone()));
    assert!(matches!(decide_alter_isr(Some(&cached), 1, &p(&[1]), only_1_2), AlterIsrDecision::Write(_)));
    assert!(matches!(decide_alter_isr(Some(&cached), 1, &p(&[1, 3, 2]), only_1_2), AlterIsrDecision::Write(_)));
    assert_eq!(decide_alter_isr(Some(&cached), 1, &p(&[1, 3, 4]), only_1_2), AlterIsrDecision::Error(codes::OPERATION_NOT_ATTEMPTED));
}
