//! Reads: what a Fetch or ListOffsets sees of a partition (spec §3.3).

use std::sync::Arc;

use storage::FileSlice;
use wire::ResponseError;

use super::{now_ms, ReplicaManager};
use crate::errors::storage_error;
use crate::partition::{AlterIsrSink, Partition};

/// Isolation level `read_committed` on the wire.
pub const READ_COMMITTED: i8 = 1;

/// One partition's read for a fetch.
#[derive(Debug, Clone)]
pub struct PartitionRead {
    /// Error, if any (then `records` is None).
    pub error: Option<ResponseError>,
    /// High watermark at read time, -1 if unknown.
    pub high_watermark: i64,
    /// Last stable offset (equal to the HW without transactions), -1 if unknown.
    pub last_stable_offset: i64,
    /// Log start offset, -1 if unknown.
    pub log_start_offset: i64,
    /// The bytes to send: a file region (zero copy); None when there are none (an error or a
    /// diverging epoch), sent as empty records, never as null (Kafka never sends null records).
    pub records: Option<FileSlice>,
    /// For a follower whose last fetched epoch diverges from this log: (epoch, end offset).
    pub diverging_epoch: Option<(i32, i64)>,
}

impl PartitionRead {
    fn error(e: ResponseError) -> Self {
        PartitionRead {
            error: Some(e),
            high_watermark: -1,
            last_stable_offset: -1,
            log_start_offset: -1,
            records: None,
            diverging_epoch: None,
        }
    }

    /// Bytes this read contributes to the response.
    pub fn bytes(&self) -> usize {
        self.records.as_ref().map(|r| r.len as usize).unwrap_or(0)
    }
}

/// Parameters of one partition's read.
#[derive(Debug, Clone, Copy)]
pub struct ReadParams {
    /// First offset wanted.
    pub fetch_offset: i64,
    /// The client's view of the leader epoch (-1 = don't check).
    pub current_leader_epoch: i32,
    /// Byte limit for this partition.
    pub max_bytes: u32,
    /// Return a whole first batch even if larger than `max_bytes` (KIP-74).
    pub min_one_message: bool,
    /// Fetching replica id (>= 0 follower, < 0 consumer).
    pub replica_id: i32,
    /// Follower's log start offset (followers only).
    pub log_start_offset: i64,
    /// Epoch of the follower's last fetched batch (Fetch v12+, -1 = not given).
    pub last_fetched_epoch: i32,
}

/// KIP-320 check on the leader (Kafka's `Partition.readRecords`): the follower's last fetched
/// epoch `last_fetched_epoch` ends on our log at `ours` = `end_offset_for(last_fetched_epoch)`.
/// If we cannot tell where it ends (undefined epoch or offset), or the fetch offset is below our
/// log start, the fetch is out of range; if we know the epoch only as an older one, or it ends
/// before the follower's fetch offset, the follower diverged and gets `(epoch, end offset)`.
pub fn diverging_epoch(
    last_fetched_epoch: i32,
    fetch_offset: i64,
    log_start_offset: i64,
    ours: (i32, i64),
) -> Result<Option<(i32, i64)>, ResponseError> {
    let (epoch, end) = ours;
    if epoch < 0 || end < 0 || fetch_offset < log_start_offset {
        return Err(ResponseError::OffsetOutOfRange);
    }
    Ok((epoch < last_fetched_epoch || end < fetch_offset).then_some((epoch, end)))
}

impl ReplicaManager {
    /// Find the partition a read must be served from, with Kafka's errors: unknown partition,
    /// not the leader, fenced or unknown leader epoch.
    pub fn leader_partition_for_read(&self, topic: &str, partition: i32, current_leader_epoch: i32) -> Result<Arc<Partition>, ResponseError> {
        let p = self.partition_or_error(topic, partition)?;
        p.check_leadership_for_read(self.broker_id, current_leader_epoch)?;
        Ok(p)
    }

    /// Read one partition for a fetch: consumers up to the high watermark (or LSO), followers up to
    /// the log end offset. A follower's read also records its progress on the leader.
    pub fn read_partition(&self, topic: &str, partition: i32, params: ReadParams, isolation_level: i8) -> PartitionRead {
        match self.leader_partition_for_read(topic, partition, params.current_leader_epoch) {
            Ok(p) => read_from_leader(&p, params, isolation_level, self.alter_isr_manager.as_ref(), now_ms()),
            Err(e) => PartitionRead::error(e),
        }
    }
}

/// The leader's side of one partition of a fetch, after the leadership checks: the KIP-320
/// diverging-epoch check for followers, the follower's progress (which may expand the ISR through
/// `sink` and move the high watermark), then the read. A function of the partition alone, so the
/// replication model test drives exactly what a broker does.
pub fn read_from_leader(p: &Arc<Partition>, params: ReadParams, isolation_level: i8, sink: &dyn AlterIsrSink, now_ms: i64) -> PartitionRead {
    let log = p.log();
    let is_follower = params.replica_id >= 0;
    if is_follower && params.last_fetched_epoch >= 0 {
        // KIP-320: if our log ends the follower's last epoch before its fetch offset, tell it
        // where instead of sending data, so it truncates. Its fetch offset is then not a valid
        // position in our log, so its fetch state is left alone.
        let ours = log.leader_epoch_cache().end_offset_for(params.last_fetched_epoch, log.log_end_offset());
        let hw = log.high_watermark();
        let answer = |error, diverging_epoch| PartitionRead {
            error,
            high_watermark: hw,
            last_stable_offset: hw,
            log_start_offset: log.log_start_offset(),
            records: None,
            diverging_epoch,
        };
        match diverging_epoch(params.last_fetched_epoch, params.fetch_offset, log.log_start_offset(), ours) {
            Ok(None) => {}
            Ok(Some(diverging)) => return answer(None, Some(diverging)),
            Err(e) => return answer(Some(e), None),
        }
    }
    if is_follower {
        // Kafka records the follower's position only for fetches that read successfully; an
        // out-of-range offset is not a LEO we can count towards the high watermark.
        if params.fetch_offset >= log.log_start_offset() && params.fetch_offset <= log.log_end_offset() {
            p.update_follower_fetch_state(
                params.replica_id,
                params.fetch_offset,
                params.log_start_offset,
                now_ms,
                sink,
            );
        }
    }
    let hw = log.high_watermark();
    // No transactions yet: the last stable offset is the high watermark.
    let lso = hw;
    let max_offset = if is_follower {
        log.log_end_offset()
    } else if isolation_level == READ_COMMITTED {
        lso
    } else {
        hw
    };
    match log.read(params.fetch_offset, params.max_bytes, max_offset, params.min_one_message) {
        Ok(info) => PartitionRead {
            error: None,
            high_watermark: hw,
            last_stable_offset: lso,
            log_start_offset: log.log_start_offset(),
            records: Some(info.records),
            diverging_epoch: None,
        },
        Err(e) => {
            let mut r = PartitionRead::error(storage_error(&e));
            r.high_watermark = hw;
            r.last_stable_offset = lso;
            r.log_start_offset = log.log_start_offset();
            r
        }
    }
}
