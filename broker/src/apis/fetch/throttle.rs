//! Leader side of replication throttling (KIP-73) in the Fetch handler: Kafka's
//! `ReplicaManager.shouldLeaderThrottle` and the recording of throttled bytes in
//! `KafkaApis.handleFetchRequest`.
//!
//! A follower fetch of a throttled partition from a replica outside the ISR gets no records (the
//! partition's high watermark and offsets are still returned, and the follower's fetch position is
//! still tracked) while this broker's leader quota is exceeded. The bytes sent for throttled
//! partitions — whatever the follower's ISR membership — are recorded into the leader quota once
//! the response is final.

use crate::replica_manager::read::PartitionRead;
use crate::replica_manager::ReplicaManager;

/// Drop the records of `read` if the leader quota throttles `replica_id` on this partition now.
pub fn throttle_leader_read(rm: &ReplicaManager, topic: &str, partition: i32, replica_id: i32, read: &mut PartitionRead) {
    let quota = &rm.replication_quotas().leader;
    if replica_id < 0 || read.bytes() == 0 || !quota.is_throttled_parts(topic, partition) || !quota.is_quota_exceeded() {
        return;
    }
    let in_sync = rm.get_partition(topic, partition).is_some_and(|p| p.leadership().isr.contains(&replica_id));
    if !in_sync {
        if let Some(records) = read.records.as_mut() {
            // Kafka answers `MemoryRecords.EMPTY`: present but empty.
            records.len = 0;
        }
    }
}

/// Record the bytes of throttled partitions in a final follower-fetch response into the leader quota.
pub fn record_leader_bytes<'a>(rm: &ReplicaManager, replica_id: i32, reads: impl Iterator<Item = (&'a str, i32, &'a PartitionRead)>) {
    if replica_id < 0 {
        return;
    }
    let quota = &rm.replication_quotas().leader;
    let bytes: usize = reads.filter(|(t, p, _)| quota.is_throttled_parts(t, *p)).map(|(_, _, r)| r.bytes()).sum();
    quota.record(bytes as u64);
}
