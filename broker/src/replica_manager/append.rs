//! Produce: append to leader logs, then (for `acks=all`) wait for the ISR in the delayed-produce
//! purgatory (spec §3.2).

use std::time::Duration;

use bytes::Bytes;
use wire::ResponseError;

use super::{now_ms, ReplicaManager};
use crate::errors::{broker_error, storage_error, BrokerError};
use crate::partition::LeaderAppendError;
use crate::purgatory;

/// Outcome of one partition of a produce request.
#[derive(Debug, Clone)]
pub struct PartitionAppendResult {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Error, if any.
    pub error: Option<ResponseError>,
    /// Human-readable error message (v8+ responses carry it).
    pub error_message: Option<String>,
    /// Offset of the first appended record, -1 on error.
    pub base_offset: i64,
    /// Last appended offset, for acks=all waiting.
    pub last_offset: i64,
    /// LogAppendTime used, -1 with CreateTime.
    pub log_append_time: i64,
    /// Log start offset after the append.
    pub log_start_offset: i64,
}

impl PartitionAppendResult {
    fn failed(topic: &str, partition: i32, error: ResponseError, message: String) -> Self {
        PartitionAppendResult {
            topic: topic.to_string(),
            partition,
            error: Some(error),
            error_message: Some(message),
            base_offset: -1,
            last_offset: -1,
            log_append_time: -1,
            log_start_offset: -1,
        }
    }
}

impl ReplicaManager {
    /// Append one partition's records as leader. `internal_allowed` lets coordinators write to
    /// internal topics.
    pub fn append_to_leader(
        &self,
        topic: &str,
        partition: i32,
        records: &Bytes,
        acks: i16,
        internal_allowed: bool,
    ) -> PartitionAppendResult {
        if zk_schema::admin::is_internal_topic(topic) && !internal_allowed {
            let e = BrokerError::InvalidTopic(topic.to_string());
            return PartitionAppendResult::failed(topic, partition, broker_error(&e), e.to_string());
        }
        let p = match self.partition_or_error(topic, partition) {
            Ok(p) => p,
            Err(ResponseError::KafkaStorageError) => {
                let e = BrokerError::LogDirOffline(format!("{topic}-{partition}"));
                return PartitionAppendResult::failed(topic, partition, broker_error(&e), e.to_string());
            }
            Err(_) => {
                let e = BrokerError::UnknownTopicOrPartition(format!("{topic}-{partition}"));
                return PartitionAppendResult::failed(topic, partition, broker_error(&e), e.to_string());
            }
        };
        let min_isr = self.topic_configs.log_config(topic).min_insync_replicas;
        let now = now_ms();
        match p.append_records_to_leader(records, acks, min_isr, now) {
            Ok(info) => PartitionAppendResult {
                topic: topic.to_string(),
                partition,
                error: None,
                error_message: None,
                base_offset: info.first_offset,
                last_offset: info.last_offset,
                log_append_time: info.log_append_time,
                log_start_offset: info.log_start_offset,
            },
            Err(LeaderAppendError::NotLeader) => {
                let e = BrokerError::NotLeaderOrFollower(format!("{topic}-{partition}"));
                PartitionAppendResult::failed(topic, partition, broker_error(&e), e.to_string())
            }
            Err(LeaderAppendError::NotEnoughReplicas(isr)) => {
                let e = BrokerError::NotEnoughReplicas(format!(
                    "{topic}-{partition}: ISR {isr:?} is smaller than min.insync.replicas {min_isr}"
                ));
                PartitionAppendResult::failed(topic, partition, broker_error(&e), e.to_string())
            }
            Err(LeaderAppendError::Storage(e)) => {
                if storage_error(&e) == ResponseError::KafkaStorageError {
                    tracing::warn!("produce to {topic}-{partition} failed on its log dir: {e}");
                } else {
                    tracing::info!("rejected produce to {topic}-{partition}: {e}");
                }
                PartitionAppendResult::failed(topic, partition, storage_error(&e), e.to_string())
            }
        }
    }

    /// `acks=all`: wait until the high watermark passes each successful partition's last offset,
    /// or the timeout, then settle each partition's outcome (spec §3.2 `checkEnoughReplicasReachOffset`).
    pub async fn wait_for_replication(&self, results: &mut [PartitionAppendResult], timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        for r in results.iter_mut().filter(|r| r.error.is_none()) {
            let required = r.last_offset + 1;
            let Some(p) = self.get_partition(&r.topic, r.partition) else {
                r.error = Some(ResponseError::NotLeaderOrFollower);
                continue;
            };
            let reached = purgatory::wait_until(&p, deadline, |part, (_, hw)| !part.is_leader() || hw >= required).await;
            if !p.is_leader() {
                r.error = Some(ResponseError::NotLeaderOrFollower);
            } else if !reached {
                r.error = Some(ResponseError::RequestTimedOut);
            } else {
                // The data is in the log already; the producer learns the ISR was too small.
                let min_isr = self.topic_configs.log_config(&r.topic).min_insync_replicas;
                if (p.maximal_isr().len() as i32) < min_isr {
                    r.error = Some(ResponseError::NotEnoughReplicasAfterAppend);
                }
            }
        }
    }
}
