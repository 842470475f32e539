//! ListOffsets (key 2): earliest, latest or by timestamp.

use wire::kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use wire::kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use wire::ResponseError;

use super::{KafkaApis, RequestContext};
use crate::errors::storage_error;
use crate::replica_manager::read::READ_COMMITTED;

/// Special timestamp: the latest offset.
pub const LATEST_TIMESTAMP: i64 = -1;
/// Special timestamp: the earliest offset.
pub const EARLIEST_TIMESTAMP: i64 = -2;

/// Handle a ListOffsets request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let version = ctx.header.api_version;
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let mut out = ListOffsetsPartitionResponse::default()
                .with_partition_index(p.partition_index)
                .with_timestamp(-1)
                .with_offset(-1)
                .with_leader_epoch(-1);
            match lookup(apis, t.name.0.as_str(), p.partition_index, p.current_leader_epoch, p.timestamp, req.replica_id.0, req.isolation_level) {
                Ok((timestamp, offset, epoch)) => {
                    if version == 0 {
                        out.old_style_offsets = if offset >= 0 { vec![offset] } else { Vec::new() };
                    } else {
                        out.timestamp = timestamp;
                        out.offset = offset;
                        if version >= 4 {
                            out.leader_epoch = epoch;
                        }
                    }
                }
                Err(e) => out.error_code = e.code(),
            }
            partitions.push(out);
        }
        topics.push(ListOffsetsTopicResponse::default().with_name(t.name.clone()).with_partitions(partitions));
    }
    ListOffsetsResponse::default().with_topics(topics)
}

/// (timestamp, offset, leader epoch) for one partition.
fn lookup(
    apis: &KafkaApis,
    topic: &str,
    partition: i32,
    current_leader_epoch: i32,
    timestamp: i64,
    replica_id: i32,
    isolation_level: i8,
) -> Result<(i64, i64, i32), ResponseError> {
    let p = apis.replica_manager.leader_partition_for_read(topic, partition, current_leader_epoch)?;
    let log = p.log();
    let epochs = log.leader_epoch_cache();
    match timestamp {
        LATEST_TIMESTAMP => {
            // Consumers see up to the high watermark (the LSO for read_committed, equal without
            // transactions); followers and debug consumers (replica id >= 0 or -2) see the LEO.
            let _ = isolation_level == READ_COMMITTED;
            let offset = if replica_id >= 0 || replica_id == -2 { log.log_end_offset() } else { log.high_watermark() };
            Ok((-1, offset, epochs.latest_epoch().unwrap_or(-1)))
        }
        EARLIEST_TIMESTAMP => {
            let start = log.log_start_offset();
            Ok((-1, start, epochs.epoch_for_offset(start).unwrap_or(-1)))
        }
        ts if ts < 0 => Err(ResponseError::InvalidRequest),
        ts => match log.fetch_offset_by_timestamp(ts) {
            Ok(Some(found)) if found.offset < log.high_watermark() => {
                Ok((found.timestamp, found.offset, found.leader_epoch.unwrap_or(-1)))
            }
            Ok(_) => Ok((-1, -1, -1)),
            Err(e) => Err(storage_error(&e)),
        },
    }
}
