use zk_schema::paths;

use super::*;
use crate::config::ControllerConfig;
use crate::event::ControllerEvent;
use crate::request_batch::ControllerRequest;
use crate::requests_api::codes;
use crate::test_support::{core, sent_to, started, tp, FakeZk};

#[tokio::test]
async fn leaders_move_off_and_followers_leave_the_isr() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1, 2, 3]), (1, vec![2, 1, 3])], true);
    zk.create_topic("single", &[(0, vec![1])], true);
    let (mut c, sink) = started(&zk, 3, ControllerConfig::with_defaults(2)).await;
    let epoch1 = c.ctx.live_broker_epoch(1).expect("live");

    let remaining = c.process_controlled_shutdown(1, epoch1).await.expect("accepted");
    assert!(remaining.is_empty(), "single-replica partitions are not reported: {remaining:?}");
    assert!(c.ctx.shutting_down_broker_ids.contains(&1));

    let s = zk.partition_state("t", 0).expect("state");
    assert_eq!((s.leader, s.leader_epoch, s.isr.clone()), (2, 1, vec![2, 3]), "leader moved, ISR without 1");
    let s = zk.partition_state("t", 1).expect("state");
    assert_eq!((s.leader, s.leader_epoch, s.isr.clone()), (2, 1, vec![2, 3]), "follower removed from the ISR");
    assert_eq!(zk.partition_state("single", 0).map(|s| s.leader), Some(1), "RF 1 is left alone");

    let sent = sink.take();
    let stops = sent_to(&sent, 1, "StopReplica");
    assert_eq!(stops.len(), 1);
    let ControllerRequest::StopReplica(stop) = stops[0] else { unreachable!() };
    let parts: Vec<_> = stop.topic_states.iter().flat_map(|t| t.partition_states.iter().map(move |p| (t.topic_name.0.to_string(), p.partition_index, p.delete_partition))).collect();
    assert_eq!(parts, vec![("t".to_string(), 1, false)], "only the followed partition is stopped, without deletion");
    let lai_to_2 = sent_to(&sent, 2, "LeaderAndIsr");
    assert!(!lai_to_2.is_empty(), "the new leader is told");

    // The broker goes away: no longer shutting down.
    zk.remove(&paths::broker_id(1));
    c.process(ControllerEvent::BrokerChange).await;
    assert!(c.ctx.shutting_down_broker_ids.is_empty());
}

#[tokio::test]
async fn leader_with_no_other_isr_member_stays_and_is_reported() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1, 2])], true);
    let (mut c, _sink) = started(&zk, 2, ControllerConfig::with_defaults(1)).await;
    // Broker 2 fell out of the ISR.
    zk.put(&paths::partition_state("t", 0), br#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1]}"#);
    c.process(ControllerEvent::IsrChangeNotification).await;
    let state = zk.partition_state("t", 0).expect("state");
    assert_eq!(state.isr, vec![1]);
    c.ctx.put_partition_leadership_info(
        tp("t", 0),
        crate::context::LeaderIsrAndControllerEpoch::from_znode(&state, zk.version(&paths::partition_state("t", 0)).expect("v")),
    );
    let remaining = c.process_controlled_shutdown(1, -1).await.expect("accepted (v0-1: no epoch)");
    assert_eq!(remaining, vec![tp("t", 0)]);
}

#[tokio::test]
async fn errors_map_to_kafka_codes() {
    let zk = FakeZk::new();
    let (mut c, _sink) = started(&zk, 2, ControllerConfig::with_defaults(1)).await;
    let e = c.process_controlled_shutdown(7, -1).await.unwrap_err();
    assert_eq!((e.clone(), e.code()), (ControlledShutdownError::BrokerNotAvailable(7), codes::BROKER_NOT_AVAILABLE));
    let epoch = c.ctx.live_broker_epoch(2).expect("live");
    let e = c.process_controlled_shutdown(2, epoch - 1).await.unwrap_err();
    assert_eq!(e.code(), codes::STALE_BROKER_EPOCH);
    assert!(c.ctx.shutting_down_broker_ids.is_empty());
    assert!(c.process_controlled_shutdown(2, epoch + 5).await.is_ok(), "newer epochs are accepted as Kafka does");

    let (mut inactive, _, _) = core(&zk, ControllerConfig::with_defaults(2));
    inactive.process(ControllerEvent::Startup).await;
    assert!(!inactive.is_active());
    let e = inactive.process_controlled_shutdown(2, epoch).await.unwrap_err();
    assert_eq!((e.clone(), e.code()), (ControlledShutdownError::NotController, codes::STALE_CONTROLLER_EPOCH));
}
