//! Unit tests of the follower's truncation and response handling.

use bytes::Bytes;

use super::apply::local_end_offset_for;
use super::*;

#[test]
fn truncation_by_leader_epoch() {
    // Same epoch known on both sides: the smaller end wins (leader appended less in it).
    assert_eq!(truncation_offset((3, 120), Some((3, 150)), 150, 100), (120, true));
    // Our copy of the epoch ends earlier than the leader's: keep it all (bounded by LEO).
    assert_eq!(truncation_offset((3, 200), Some((3, 150)), 150, 100), (150, true));
    // We only know an older epoch than the leader's answer: cut to where ours ends and ask again.
    assert_eq!(truncation_offset((4, 130), Some((2, 90)), 150, 100), (90, false));
    // We know no epoch at or below the leader's: truncate to the leader's end offset.
    assert_eq!(truncation_offset((1, 40), None, 150, 100), (40, true));
    // Leader without epochs: min(leader end, LEO).
    assert_eq!(truncation_offset((-1, 70), Some((3, 150)), 150, 100), (70, true));
    assert_eq!(truncation_offset((-1, 170), None, 150, 100), (150, true));
    // Leader has no answer: high watermark, never past the LEO.
    assert_eq!(truncation_offset((-1, -1), None, 150, 100), (100, true));
    assert_eq!(truncation_offset((-1, -1), None, 80, 100), (80, true));
}

#[test]
fn diverged_follower_scenario() {
    // Leader A (epoch 1) wrote 0..10, replicated 0..6 to B, then died. B leads epoch 2 from 6
    // and writes 6..9. A returns with epochs [(1,0)] and LEO 10, fetches with last epoch 1.
    let leader = tempfile::tempdir().unwrap();
    let b = storage::LeaderEpochFileCache::load(leader.path()).unwrap();
    b.assign(1, 0).unwrap();
    b.assign(2, 6).unwrap();
    let ours = b.end_offset_for(1, 9);
    assert_eq!(ours, (1, 6));
    use crate::replica_manager::read::diverging_epoch;
    let div = diverging_epoch(1, 10, 0, ours).expect("in range").expect("diverged");
    // A truncates to 6, where epoch 1 ends on B.
    assert_eq!(truncation_offset(div, Some((1, 10)), 10, 6), (6, true));
    // A follower that is simply behind does not diverge.
    assert_eq!(diverging_epoch(2, 8, 0, b.end_offset_for(2, 9)), Ok(None));
    assert_eq!(diverging_epoch(1, 5, 0, ours), Ok(None));
    // A follower with an epoch the leader never had (3 > all known): the leader cannot say
    // where it ends, so the fetch is out of range (Kafka's readRecords), never "diverging at -1".
    assert_eq!(diverging_epoch(3, 9, 0, b.end_offset_for(3, 9)), Err(ResponseError::OffsetOutOfRange));
    // Below the leader's log start: out of range whatever the epochs say.
    assert_eq!(diverging_epoch(1, 5, 6, ours), Err(ResponseError::OffsetOutOfRange));
}

fn open_log(dir: &std::path::Path) -> storage::Log {
    let tp = TopicPartition::new("t", 0);
    storage::Log::open(dir.join("t-0"), tp, storage::LogConfig::default(), storage::LogLoadParams::new(true)).expect("open log")
}

/// The rolling-restart loop of issue 8, end to end through the leader's and the follower's
/// decisions on real logs: the follower led epoch 4 at offset 30 without appending; the new
/// leader has epoch 5 from 30. One diverging answer must settle it.
#[test]
fn empty_epoch_of_a_former_leader_settles_in_one_round() {
    use crate::replica_manager::read::diverging_epoch;
    let (ld, fd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (leader, follower) = (open_log(ld.path()), open_log(fd.path()));
    let batch = storage::batch_builder::BatchBuilder::new(1_000).records(10).build();
    for _ in 0..3 {
        leader.append_as_leader(&batch, 3, 1_000).unwrap();
    }
    let data = leader.read(0, u32::MAX, 30, false).unwrap().records.read_to_vec().unwrap();
    follower.append_as_follower(&data).unwrap();
    follower.leader_epoch_cache().assign(4, 30).unwrap();
    leader.leader_epoch_cache().assign(5, 30).unwrap();
    let fetch = |f: &storage::Log| {
        let last = f.leader_epoch_cache().latest_epoch().unwrap_or(-1);
        let ours = leader.leader_epoch_cache().end_offset_for(last, leader.log_end_offset());
        diverging_epoch(last, f.log_end_offset(), leader.log_start_offset(), ours).expect("in range")
    };
    let div = fetch(&follower).expect("epoch 4 diverges");
    assert_eq!(div, (3, 30));
    let local = local_end_offset_for(&follower, div.0);
    let (target, complete) = truncation_offset(div, local, follower.log_end_offset(), follower.high_watermark());
    assert_eq!((target, complete), (30, true));
    assert!(!follower.truncate_to(target).unwrap());
    assert_eq!(follower.leader_epoch_cache().entries(), vec![(3, 0)]);
    assert_eq!(fetch(&follower), None, "the next fetch reads data");
}

#[test]
fn whole_batches_drops_partial_tail() {
    let mut buf = Vec::new();
    for len in [20u32, 30] {
        buf.extend_from_slice(&0i64.to_be_bytes());
        buf.extend_from_slice(&(len as i32).to_be_bytes());
        buf.extend(std::iter::repeat_n(7u8, len as usize));
    }
    let full = buf.len();
    buf.extend_from_slice(&0i64.to_be_bytes());
    buf.extend_from_slice(&100i32.to_be_bytes());
    buf.extend_from_slice(&[1, 2, 3]);
    let b = Bytes::from(buf);
    assert_eq!(whole_batches(&b).len(), full);
    assert_eq!(whole_batches(&Bytes::from_static(&[0u8; 5])).len(), 0);
}
