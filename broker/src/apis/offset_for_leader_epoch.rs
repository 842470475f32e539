//! OffsetsForLeaderEpoch (key 23, v0-4): the end offset of a leader epoch on this broker's log,
//! answered from the leader epoch cache (spec §3.6). Followers use it to find where they diverged
//! (KIP-101/279); consumers use it to detect truncation after a leader change (KIP-320).

use wire::kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use wire::kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use wire::ResponseError;

use super::{KafkaApis, RequestContext};
use crate::replica_manager::ReplicaManager;

/// `replica_id` of a debugging client, which may read from followers.
pub const DEBUGGING_REPLICA_ID: i32 = -2;

/// Handle an OffsetsForLeaderEpoch request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
    answer(&apis.replica_manager, ctx.header.api_version, &req)
}

/// The response for `req` at `version`.
pub fn answer(rm: &ReplicaManager, version: i16, req: &OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
    // replica_id exists from v3; before that only followers (leader-only reads) used the API.
    let leader_only = version < 3 || req.replica_id.0 != DEBUGGING_REPLICA_ID;
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    // current_leader_epoch exists from v2 (decoded as -1 before).
                    let current = if version >= 2 { p.current_leader_epoch } else { -1 };
                    let out = EpochEndOffset::default().with_partition(p.partition).with_leader_epoch(-1).with_end_offset(-1);
                    match rm.end_offset_for_epoch(t.topic.0.as_str(), p.partition, current, p.leader_epoch, leader_only) {
                        Ok((epoch, end)) => out.with_leader_epoch(epoch).with_end_offset(end),
                        Err(e) => out.with_error_code(e.code()),
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default().with_topic(t.topic.clone()).with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}

impl ReplicaManager {
    /// `(epoch, end offset)` of `leader_epoch` on our log, or (-1, -1) if undefined, after the
    /// current-leader-epoch checks (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH) and, if
    /// `leader_only`, NOT_LEADER_OR_FOLLOWER on followers.
    pub fn end_offset_for_epoch(
        &self,
        topic: &str,
        partition: i32,
        current_leader_epoch: i32,
        leader_epoch: i32,
        leader_only: bool,
    ) -> Result<(i32, i64), ResponseError> {
        let p = if leader_only {
            self.leader_partition_for_read(topic, partition, current_leader_epoch)?
        } else {
            let p = self.partition_or_error(topic, partition)?;
            let local = p.leader_epoch();
            if current_leader_epoch >= 0 && current_leader_epoch < local {
                return Err(ResponseError::FencedLeaderEpoch);
            }
            if current_leader_epoch > local {
                return Err(ResponseError::UnknownLeaderEpoch);
            }
            p
        };
        let log = p.log();
        let (epoch, end) = log.leader_epoch_cache().end_offset_for(leader_epoch, log.log_end_offset());
        Ok(if end < 0 { (-1, -1) } else { (epoch, end) })
    }
}
