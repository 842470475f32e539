use zk_schema::model::LogDirEventNotification;
use zk_schema::paths;

use super::*;
use crate::broker_membership::KAFKA_STORAGE_ERROR;
use crate::config::ControllerConfig;
use crate::event::ControllerEvent;
use crate::partition_state_machine::PartitionState;
use crate::request_batch::ControllerRequest;
use crate::test_support::{started, summary, tp, FakeZk};

fn node(bytes: &[u8]) -> NodeData {
    let stat = zk_schema::ZkStat { czxid: 1, version: 0, ephemeral_owner: 0, num_children: 0, ctime: 0, mtime: 0 };
    Some((bytes.to_vec(), stat))
}

#[tokio::test]
async fn decision_names_the_live_reporting_brokers_and_all_their_replicas() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1, 2]), (1, vec![2, 3]), (2, vec![3, 1])], true);
    let (c, _) = started(&zk, 3, ControllerConfig::with_defaults(1)).await;
    let notes = vec![
        ("/log_dir_event_notification/log_dir_event_0000000000".to_string(), node(&LogDirEventNotification::failure(1).encode())),
        ("/log_dir_event_notification/log_dir_event_0000000001".to_string(), node(&LogDirEventNotification::failure(1).encode())),
        ("/log_dir_event_notification/log_dir_event_0000000002".to_string(), node(&LogDirEventNotification::failure(9).encode())),
        ("/log_dir_event_notification/log_dir_event_0000000003".to_string(), node(b"not json")),
        ("/log_dir_event_notification/log_dir_event_0000000004".to_string(), node(br#"{"version":1,"broker":2,"event":7}"#)),
        ("/log_dir_event_notification/log_dir_event_0000000005".to_string(), None),
    ];
    let d = decide_log_dir_event(c.context(), &notes);
    assert_eq!(d.brokers, BTreeSet::from([1]));
    let mut replicas: Vec<(String, i32, i32)> = d.replicas.iter().map(|r| (r.tp.topic.clone(), r.tp.partition, r.replica)).collect();
    replicas.sort();
    assert_eq!(replicas, vec![("t".into(), 0, 1), ("t".into(), 2, 1)]);
    let ignored: Vec<&str> = d.ignored.iter().map(|(_, why)| why.as_str()).collect();
    assert_eq!(ignored.len(), 3, "{ignored:?}");
    assert!(ignored[0].contains("broker 9 is not live"));
    assert!(ignored[2].contains("unknown event 7"));
    assert_eq!(decide_log_dir_event(c.context(), &[]), LogDirEventDecision::default());
}

#[tokio::test]
async fn a_log_dir_event_reprobes_the_broker_and_its_offline_replicas_lose_leadership() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1, 2, 3]), (1, vec![2, 1, 3])], true);
    let (mut c, sink) = started(&zk, 3, ControllerConfig::with_defaults(1)).await;
    assert!(zk.is_watched(&WatchTarget::LogDirEventNotifications));
    assert_eq!(zk.partition_state("t", 0).expect("state").leader, 1);

    zk.put_sequential(paths::LOG_DIR_EVENT_PREFIX, &LogDirEventNotification::failure(1).encode());
    c.process(ControllerEvent::LogDirEventNotification).await;
    assert!(zk.children(paths::LOG_DIR_EVENT_NOTIFICATION).is_empty(), "notifications deleted");
    let sent = sink.take();
    let lais: Vec<&(i32, ControllerRequest)> = sent.iter().filter(|(_, r)| r.name() == "LeaderAndIsr").collect();
    assert_eq!(lais.len(), 1, "only broker 1 is probed: {:?}", summary(&sent));
    let (1, ControllerRequest::LeaderAndIsr(lai)) = lais[0] else { panic!("not a LeaderAndIsr to broker 1") };
    let probed: Vec<(i32, i32, bool)> =
        lai.topic_states[0].partition_states.iter().map(|p| (p.partition_index, p.leader_epoch, p.is_new)).collect();
    assert_eq!(probed, vec![(0, 0, false), (1, 0, false)], "the current state, not new");

    // Broker 1's answer: t-0 lived on the failed dir, t-1 on a good one.
    c.process(ControllerEvent::LeaderAndIsrResponseReceived {
        broker_id: 1,
        error_code: 0,
        partition_errors: vec![(tp("t", 0), KAFKA_STORAGE_ERROR), (tp("t", 1), 0)],
    })
    .await;
    let state = zk.partition_state("t", 0).expect("state");
    assert_eq!((state.leader, state.leader_epoch), (2, 1), "leadership moved to the next live replica");
    assert!(!state.isr.contains(&1), "the offline replica left the ISR: {:?}", state.isr);
    assert_eq!(c.ctx.partition_state(&tp("t", 0)), PartitionState::Online);
    assert!(!c.ctx.is_replica_online(1, &tp("t", 0), false));
    assert!(c.ctx.is_replica_online(1, &tp("t", 1), false));
    assert_eq!(zk.partition_state("t", 1).expect("state").leader, 2, "t-1 untouched");
    let sent = sink.take();
    assert!(summary(&sent).contains(&(2, "LeaderAndIsr")), "{:?}", summary(&sent));
    assert!(summary(&sent).contains(&(1, "StopReplica")), "the offline replica is stopped: {:?}", summary(&sent));
}
