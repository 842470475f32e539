//! A log dir failing under a ReplicaManager with two dirs: the partitions in it answer
//! KAFKA_STORAGE_ERROR to every request, those in the other dir keep working, and new partitions
//! follow Kafka's creation rule.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use storage::batch_builder::BatchBuilder;
use storage::{LogConfig, LogManager, TopicPartition};
use wire::kafka_protocol::messages::leader_and_isr_request::{LeaderAndIsrPartitionState, LeaderAndIsrTopicState};
use wire::kafka_protocol::messages::stop_replica_request::{StopReplicaPartitionState, StopReplicaTopicState};
use wire::kafka_protocol::messages::{BrokerId, LeaderAndIsrRequest, StopReplicaRequest, TopicName};
use wire::kafka_protocol::protocol::StrBytes;
use wire::ResponseError;

use super::read::ReadParams;
use super::ReplicaManager;
use crate::config::KafkaConfig;
use crate::metadata_cache::MetadataCache;
use crate::topic_configs::TopicConfigs;

const STORAGE_ERROR: i16 = 56;

fn manager(dirs: &[&Path]) -> Arc<ReplicaManager> {
    let mut props = BTreeMap::new();
    props.insert("broker.id".to_string(), "1".to_string());
    props.insert("zookeeper.connect".to_string(), "127.0.0.1:1".to_string());
    let joined = dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(",");
    props.insert("log.dirs".to_string(), joined);
    let config = Arc::new(KafkaConfig::from_props(&props).unwrap());
    let topic_configs = Arc::new(TopicConfigs::new(config.log_config()));
    let tc = topic_configs.clone();
    let dirs = dirs.iter().map(|d| d.to_path_buf()).collect();
    let lm = Arc::new(LogManager::startup(dirs, Arc::new(move |t: &str| -> LogConfig { tc.log_config(t) })).unwrap());
    ReplicaManager::new(config, lm, topic_configs, Arc::new(AtomicI64::new(5)), Arc::new(MetadataCache::new()))
}

/// LeaderAndIsr v4 making broker 1 the only replica and leader of `t-<p>` at `epoch`.
fn lead(rm: &Arc<ReplicaManager>, partitions: &[i32], epoch: i32, is_new: bool) -> Vec<(i32, i16)> {
    let states = partitions
        .iter()
        .map(|&p| {
            LeaderAndIsrPartitionState::default()
                .with_partition_index(p)
                .with_controller_epoch(1)
                .with_leader(BrokerId(1))
                .with_leader_epoch(epoch)
                .with_isr(vec![BrokerId(1)])
                .with_partition_epoch(epoch)
                .with_replicas(vec![BrokerId(1)])
                .with_is_new(is_new)
        })
        .collect();
    let req = LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(1))
        .with_controller_epoch(1)
        .with_broker_epoch(5)
        .with_topic_states(vec![LeaderAndIsrTopicState::default()
            .with_topic_name(TopicName(StrBytes::from_static_str("t")))
            .with_partition_states(states)]);
    let resp = rm.become_leader_or_follower(&req, 4);
    assert_eq!(resp.error_code, 0);
    resp.partition_errors.iter().map(|e| (e.partition_index, e.error_code)).collect()
}

fn produce(rm: &ReplicaManager, p: i32) -> Option<ResponseError> {
    let records = bytes::Bytes::from(BatchBuilder::new(1_700_000_000_000).records(2).build());
    rm.append_to_leader("t", p, &records, 1, false).error
}

fn read(rm: &ReplicaManager, p: i32) -> Option<ResponseError> {
    let params = ReadParams {
        fetch_offset: 0,
        current_leader_epoch: -1,
        max_bytes: 1 << 20,
        min_one_message: true,
        replica_id: -1,
        log_start_offset: -1,
        last_fetched_epoch: -1,
    };
    rm.read_partition("t", p, params, 0).error
}

#[tokio::test]
async fn partitions_of_a_failed_dir_answer_storage_errors_and_the_other_dir_keeps_working() {
    let bad = tempfile::tempdir().unwrap();
    let good = tempfile::tempdir().unwrap();
    // t-0 already lives in `bad`, on a "disk" where every write fails with ENOSPC.
    let t0 = bad.path().join("t-0");
    std::fs::create_dir_all(&t0).unwrap();
    std::os::unix::fs::symlink("/dev/full", t0.join("00000000000000000000.log")).unwrap();
    std::fs::write(bad.path().join(".kafka_cleanshutdown"), b"").unwrap();
    let rm = manager(&[bad.path(), good.path()]);
    assert_eq!(lead(&rm, &[0, 1], 1, true), vec![(0, 0), (1, 0)]);
    assert_eq!(rm.get_partition("t", 1).unwrap().log().log_dir(), good.path());
    assert_eq!(produce(&rm, 1), None);

    // The write to t-0 fails for real; the dir goes offline through the channel, once.
    assert_eq!(produce(&rm, 0), Some(ResponseError::KafkaStorageError));
    let channel = rm.log_manager().log_dir_failure_channel().clone();
    let offline = channel.take_next_offline_log_dir(std::time::Duration::from_millis(10)).expect("dir queued");
    assert_eq!(offline.dir, bad.path());
    assert!(offline.cause.contains("No space left on device"), "{}", offline.cause);
    assert_eq!(produce(&rm, 0), Some(ResponseError::KafkaStorageError), "refused before any write");
    assert!(channel.take_next_offline_log_dir(std::time::Duration::from_millis(10)).is_none());

    let outcome = rm.handle_log_dir_failure(bad.path());
    assert!(outcome.was_live && outcome.all_log_dirs_failed.is_none());
    assert_eq!(outcome.offline_partitions, vec![TopicPartition::new("t", 0)]);
    assert_eq!(rm.handle_log_dir_failure(bad.path()), Default::default(), "handled once");

    // Every request for t-0 answers KAFKA_STORAGE_ERROR; t-1 is untouched.
    assert!(rm.is_partition_offline("t", 0));
    assert_eq!(produce(&rm, 0), Some(ResponseError::KafkaStorageError));
    assert_eq!(read(&rm, 0), Some(ResponseError::KafkaStorageError));
    assert_eq!(rm.leader_partition_for_read("t", 0, -1).err(), Some(ResponseError::KafkaStorageError));
    assert_eq!(rm.end_offset_for_epoch("t", 0, -1, 1, false).err(), Some(ResponseError::KafkaStorageError));
    assert_eq!(lead(&rm, &[0, 1], 2, false), vec![(0, STORAGE_ERROR), (1, 0)]);
    let stop = StopReplicaRequest::default().with_controller_id(BrokerId(1)).with_controller_epoch(1).with_broker_epoch(5).with_topic_states(vec![
        StopReplicaTopicState::default()
            .with_topic_name(TopicName(StrBytes::from_static_str("t")))
            .with_partition_states(vec![StopReplicaPartitionState::default().with_partition_index(0).with_leader_epoch(3)]),
    ]);
    assert_eq!(rm.stop_replicas(&stop, 3).partition_errors[0].error_code, STORAGE_ERROR);
    assert_eq!(produce(&rm, 1), None);
    assert_eq!(read(&rm, 1), None);

    // A partition the controller says is not new may have lived in the failed dir: not created.
    assert_eq!(lead(&rm, &[2], 1, false), vec![(2, STORAGE_ERROR)]);
    assert!(rm.is_partition_offline("t", 2));
    // A new one is created in the live dir.
    assert_eq!(lead(&rm, &[3], 1, true), vec![(3, 0)]);
    assert_eq!(rm.get_partition("t", 3).unwrap().log().log_dir(), good.path());
    assert_eq!(rm.offline_partitions(), vec![TopicPartition::new("t", 0), TopicPartition::new("t", 2)]);
}

#[tokio::test]
async fn the_last_dir_failing_asks_for_a_halt() {
    let d = tempfile::tempdir().unwrap();
    let rm = manager(&[d.path()]);
    assert_eq!(lead(&rm, &[0], 1, true), vec![(0, 0)]);
    rm.log_manager().log_dir_failure_channel().maybe_add_offline_log_dir(d.path(), "Error while flushing t-0", &"Input/output error");
    let outcome = rm.handle_log_dir_failure(d.path());
    assert_eq!(outcome.offline_partitions, vec![TopicPartition::new("t", 0)]);
    let fatal = outcome.all_log_dirs_failed.expect("no live dir left");
    assert_eq!(fatal, format!("Shutdown broker because all log dirs in {} have failed", d.path().display()));
}
