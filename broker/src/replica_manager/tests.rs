//! ReplicaManager tests over real logs in a temp dir (no ZooKeeper, no network).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use storage::batch_builder::BatchBuilder;
use storage::{LogConfig, LogManager};
use wire::kafka_protocol::messages::leader_and_isr_request::{LeaderAndIsrPartitionState, LeaderAndIsrTopicState};
use wire::kafka_protocol::messages::offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
use wire::kafka_protocol::messages::{BrokerId, LeaderAndIsrRequest, OffsetForLeaderEpochRequest, TopicName};
use wire::kafka_protocol::protocol::StrBytes;
use wire::ResponseError;

use super::ReplicaManager;
use crate::apis::offset_for_leader_epoch::answer;
use crate::config::KafkaConfig;
use crate::metadata_cache::MetadataCache;
use crate::topic_configs::TopicConfigs;

fn manager(dir: &tempfile::TempDir) -> Arc<ReplicaManager> {
    let mut props = BTreeMap::new();
    props.insert("broker.id".to_string(), "1".to_string());
    props.insert("zookeeper.connect".to_string(), "127.0.0.1:1".to_string());
    props.insert("log.dirs".to_string(), dir.path().display().to_string());
    props.insert("min.insync.replicas".to_string(), "2".to_string());
    let config = Arc::new(KafkaConfig::from_props(&props).unwrap());
    let topic_configs = Arc::new(TopicConfigs::new(config.log_config()));
    let tc = topic_configs.clone();
    let lm = Arc::new(
        LogManager::startup(vec![dir.path().to_path_buf()], Arc::new(move |t: &str| -> LogConfig { tc.log_config(t) }))
            .unwrap(),
    );
    ReplicaManager::new(config, lm, topic_configs, Arc::new(AtomicI64::new(5)), Arc::new(MetadataCache::new()))
}

fn lead(rm: &Arc<ReplicaManager>, epoch: i32, isr: &[i32]) {
    let state = LeaderAndIsrPartitionState::default()
        .with_partition_index(0)
        .with_controller_epoch(1)
        .with_leader(BrokerId(1))
        .with_leader_epoch(epoch)
        .with_isr(isr.iter().map(|&b| BrokerId(b)).collect())
        .with_partition_epoch(epoch)
        .with_replicas(vec![BrokerId(1), BrokerId(2), BrokerId(3)]);
    let req = LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(1))
        .with_controller_epoch(1)
        .with_broker_epoch(5)
        .with_topic_states(vec![LeaderAndIsrTopicState::default()
            .with_topic_name(TopicName(StrBytes::from_static_str("t")))
            .with_partition_states(vec![state])]);
    let resp = rm.become_leader_or_follower(&req, 4);
    assert_eq!(resp.error_code, 0);
    assert!(resp.partition_errors.iter().all(|e| e.error_code == 0), "{resp:?}");
}

fn produce(rm: &ReplicaManager, n: usize, acks: i16) -> super::append::PartitionAppendResult {
    let records = bytes::Bytes::from(BatchBuilder::new(1_700_000_000_000).records(n).build());
    rm.append_to_leader("t", 0, &records, acks, false)
}

fn olfe(epoch: i32, current: i32) -> OffsetForLeaderEpochRequest {
    OffsetForLeaderEpochRequest::default().with_replica_id(BrokerId(2)).with_topics(vec![OffsetForLeaderTopic::default()
        .with_topic(TopicName(StrBytes::from_static_str("t")))
        .with_partitions(vec![OffsetForLeaderPartition::default()
            .with_partition(0)
            .with_current_leader_epoch(current)
            .with_leader_epoch(epoch)])])
}

fn epoch_answer(rm: &ReplicaManager, version: i16, epoch: i32, current: i32) -> (i16, i32, i64) {
    let r = answer(rm, version, &olfe(epoch, current));
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.leader_epoch, p.end_offset)
}

#[tokio::test]
async fn offsets_for_leader_epoch_answers_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let rm = manager(&dir);
    assert_eq!(epoch_answer(&rm, 4, 1, -1).0, ResponseError::UnknownTopicOrPartition.code());
    lead(&rm, 1, &[1, 2, 3]);
    assert!(produce(&rm, 5, 1).error.is_none());
    lead(&rm, 3, &[1, 2, 3]);
    assert!(produce(&rm, 4, 1).error.is_none());
    // Epochs: (1,0), (3,5); LEO 9.
    assert_eq!(epoch_answer(&rm, 4, 3, 3), (0, 3, 9));
    assert_eq!(epoch_answer(&rm, 4, 1, 3), (0, 1, 5));
    assert_eq!(epoch_answer(&rm, 4, 2, 3), (0, 1, 5), "unknown epoch 2: floor epoch 1, ends where 3 starts");
    assert_eq!(epoch_answer(&rm, 4, 0, -1), (0, 0, 0), "older than every epoch: the first start offset");
    assert_eq!(epoch_answer(&rm, 4, 7, -1), (0, -1, -1), "newer than every epoch: undefined");
    assert_eq!(epoch_answer(&rm, 4, 3, 2).0, ResponseError::FencedLeaderEpoch.code());
    assert_eq!(epoch_answer(&rm, 4, 3, 4).0, ResponseError::UnknownLeaderEpoch.code());
    // Before v2 there is no current leader epoch to check.
    assert_eq!(epoch_answer(&rm, 1, 3, 2), (0, 3, 9));
}

#[tokio::test]
async fn min_insync_replicas_before_and_after_append() {
    let dir = tempfile::tempdir().unwrap();
    let rm = manager(&dir);
    lead(&rm, 1, &[1]);
    // ISR of one with min.insync.replicas=2: refused before writing for acks=all only.
    let r = produce(&rm, 3, -1);
    assert_eq!(r.error, Some(ResponseError::NotEnoughReplicas));
    assert_eq!(rm.get_partition("t", 0).unwrap().log().log_end_offset(), 0);
    let r = produce(&rm, 3, 1);
    assert!(r.error.is_none());
    assert_eq!(rm.get_partition("t", 0).unwrap().log().high_watermark(), 3, "leader alone in the ISR");

    lead(&rm, 2, &[1, 2]);
    let mut results = vec![produce(&rm, 2, -1)];
    assert!(results[0].error.is_none());
    // Nobody fetches: the wait times out.
    rm.wait_for_replication(&mut results, std::time::Duration::from_millis(50)).await;
    assert_eq!(results[0].error, Some(ResponseError::RequestTimedOut));

    // Follower 2 fetches up to the LEO: the HW reaches the produce and it succeeds.
    let mut results = vec![produce(&rm, 2, -1)];
    let p = rm.get_partition("t", 0).unwrap();
    p.update_follower_fetch_state(2, p.log().log_end_offset(), 0, super::now_ms(), rm.alter_isr_manager().as_ref());
    rm.wait_for_replication(&mut results, std::time::Duration::from_millis(50)).await;
    assert_eq!(results[0].error, None);
    assert_eq!(p.log().high_watermark(), p.log().log_end_offset());
}

#[tokio::test]
async fn consumers_never_read_past_the_high_watermark() {
    use super::read::ReadParams;
    let dir = tempfile::tempdir().unwrap();
    let rm = manager(&dir);
    lead(&rm, 1, &[1, 2]);
    produce(&rm, 4, 1);
    let p = rm.get_partition("t", 0).unwrap();
    assert_eq!(p.log().high_watermark(), 0);
    let params = |replica_id, fetch_offset| ReadParams {
        fetch_offset,
        current_leader_epoch: -1,
        max_bytes: 1 << 20,
        min_one_message: true,
        replica_id,
        log_start_offset: 0,
        last_fetched_epoch: -1,
    };
    let consumer = rm.read_partition("t", 0, params(-1, 0), 0);
    assert_eq!(consumer.bytes(), 0);
    let follower = rm.read_partition("t", 0, params(2, 0), 0);
    assert!(follower.bytes() > 0);
    // The follower's next fetch at the LEO moves the HW; now consumers see it.
    rm.read_partition("t", 0, params(2, 4), 0);
    assert_eq!(p.log().high_watermark(), 4);
    assert!(rm.read_partition("t", 0, params(-1, 0), 0).bytes() > 0);
    // A diverged follower gets DivergingEpoch, and its fetch offset does not count.
    let mut diverged = params(3, 9);
    diverged.last_fetched_epoch = 0;
    let r = rm.read_partition("t", 0, diverged, 0);
    assert_eq!(r.diverging_epoch, Some((0, 0)));
    assert_eq!(p.follower_state(3).unwrap().log_end_offset, -1);
}
