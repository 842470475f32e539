//! Executor behaviour against the in-memory ZooKeeper: BADVERSION, fencing, creation, deletion.

use zk_schema::model::PartitionStateZNode;

use super::*;
use crate::test_support::{tp, FakeZk};

async fn elected(zk: &FakeZk) -> i32 {
    zk.register_controller_and_increment_epoch(1).await.expect("elected").zk_version
}

#[tokio::test]
async fn create_then_update_with_bad_version_retry() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1]), (1, vec![1])], true);
    let v = elected(&zk).await;
    let states: Vec<_> = (0..2)
        .map(|p| (tp("t", p), LeaderIsrAndControllerEpoch::new(LeaderAndIsr::initial(1, vec![1]), 1)))
        .collect();
    let created = create_partition_states(&zk, v, &states).await.expect("created");
    assert!(created.iter().all(|(_, r)| r.is_ok()));
    let again = create_partition_states(&zk, v, &states).await.expect("no fencing problem");
    assert!(again.iter().all(|(_, r)| r.is_err()), "existing state znodes are a per-partition failure");

    zk.inject_bad_version_once(&paths::partition_state("t", 1));
    let updates: Vec<_> = (0..2).map(|p| (tp("t", p), LeaderAndIsr::initial(1, vec![1]).new_leader_and_isr(-1, vec![1]))).collect();
    let r = update_leader_and_isr(&zk, 1, v, &updates).await.expect("not fenced");
    assert_eq!(r.finished.len(), 1);
    assert_eq!(r.finished[0].1.as_ref().map(|l| l.zk_version), Ok(1));
    assert_eq!(r.updates_to_retry, vec![tp("t", 1)]);

    let reread = read_partition_states(&zk, &[tp("t", 1)]).await.expect("read");
    let current = reread[0].1.clone().expect("state");
    assert_eq!(current.leader_and_isr.zk_version, 1, "someone else wrote meanwhile");
    let retry = vec![(tp("t", 1), current.leader_and_isr.new_leader_and_isr(-1, vec![1]))];
    let r = update_leader_and_isr(&zk, 1, v, &retry).await.expect("not fenced");
    assert!(r.updates_to_retry.is_empty());
    let path = paths::partition_state("t", 1);
    let s = PartitionStateZNode::decode(&path, &zk.data(&path).expect("state")).expect("json");
    assert_eq!((s.leader, s.leader_epoch), (-1, 1));
}

#[tokio::test]
async fn fenced_writes_report_controller_moved() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1])], true);
    let v = elected(&zk).await;
    zk.put(paths::CONTROLLER_EPOCH, b"5");
    let states = vec![(tp("t", 0), LeaderIsrAndControllerEpoch::new(LeaderAndIsr::initial(1, vec![1]), 1))];
    assert!(matches!(create_partition_states(&zk, v, &states).await, Err(ControllerError::ControllerMoved)));
    let updates = vec![(tp("t", 0), LeaderAndIsr::initial(1, vec![1]))];
    assert!(matches!(update_leader_and_isr(&zk, 1, v, &updates).await, Err(ControllerError::ControllerMoved)));
    assert!(matches!(delete_fenced(&zk, v, &[paths::topic("t")]).await, Err(ControllerError::ControllerMoved)));
    assert!(zk.partition_state("t", 0).is_none());
}

#[tokio::test]
async fn recursive_delete_and_topic_ids() {
    let zk = FakeZk::new();
    zk.create_topic("t", &[(0, vec![1])], false);
    let v = elected(&zk).await;
    let mut read = read_topic_assignments(&zk, &["t".to_string(), "missing".to_string()]).await.expect("read");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].topic_id, None);
    assign_missing_topic_ids(&zk, v, &mut read).await.expect("ids");
    let id = read[0].topic_id.clone().expect("id assigned");
    assert_eq!(read_topic_assignments(&zk, &["t".to_string()]).await.expect("read")[0].topic_id, Some(id));

    let states = vec![(tp("t", 0), LeaderIsrAndControllerEpoch::new(LeaderAndIsr::initial(1, vec![1]), 1))];
    create_partition_states(&zk, v, &states).await.expect("created");
    delete_recursive_fenced(&zk, v, &paths::topic("t")).await.expect("deleted");
    assert!(!zk.exists(&paths::topic("t")));
    assert!(!zk.exists(&paths::topic_partitions("t")));
    delete_recursive_fenced(&zk, v, &paths::topic("t")).await.expect("absent is fine");
}
