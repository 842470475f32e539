use super::*;
use crate::batch_builder::BatchBuilder;
use crate::record_batch::parse_header;
use crate::{StorageError, TimestampType};

#[test]
fn append_assigns_offsets_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path(), test_config(), true);
    let b = batch(5, NOW);
    for i in 0..3 {
        let info = log.append_as_leader(&b, 7, NOW).unwrap();
        assert_eq!((info.first_offset, info.last_offset, info.num_messages), (i * 5, i * 5 + 4, 5));
        assert_eq!(info.log_append_time, -1);
        assert_eq!(info.max_timestamp, NOW + 4);
        assert_eq!(info.offset_of_max_timestamp, i * 5 + 4);
        assert_eq!(info.valid_bytes, b.len());
    }
    assert_eq!(log.log_end_offset(), 15);
    assert_eq!(log.size_in_bytes(), 3 * b.len() as u64);
    let all = read_all(&log);
    assert_eq!(batches_of(&all), vec![(0, 4, 7), (5, 9, 7), (10, 14, 7)]);
    // The body is byte-identical to what the producer sent.
    assert_eq!(&all[61..b.len()], &b[61..]);
    assert_eq!(log.leader_epoch_cache().entries(), vec![(7, 0)]);
}

#[test]
fn read_respects_offsets_max_offset_and_min_one_message() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path(), test_config(), true);
    let b = batch(5, NOW);
    let sz = b.len() as u32;
    for _ in 0..3 {
        log.append_as_leader(&b, 0, NOW).unwrap();
    }
    // Start in the middle of the second batch: the slice starts at that batch.
    let r = log.read(7, u32::MAX, 15, false).unwrap();
    assert_eq!((r.fetch_offset, r.records.position, r.records.len), (7, sz as u64, 2 * sz));
    // max_offset = 10 (a "high watermark"): only the first two batches.
    let r = log.read(0, u32::MAX, 10, false).unwrap();
    assert_eq!(batches_of(&r.records.read_to_vec().unwrap()).len(), 2);
    // max_offset inside the first batch: nothing.
    assert_eq!(log.read(0, u32::MAX, 3, false).unwrap().records.len, 0);
    // start == max_offset: empty slice.
    assert_eq!(log.read(10, u32::MAX, 10, true).unwrap().records.len, 0);
    assert_eq!(log.read(15, u32::MAX, 15, true).unwrap().records.len, 0);
    // max_bytes smaller than one batch.
    assert_eq!(log.read(0, 10, 15, false).unwrap().records.len, 10);
    assert_eq!(log.read(0, 10, 15, true).unwrap().records.len, sz);
    assert_eq!(log.read(0, sz + 10, 15, true).unwrap().records.len, sz + 10);
    assert!(matches!(log.read(16, 100, 16, true), Err(StorageError::OffsetOutOfRange { .. })));
    assert!(matches!(log.read(-1, 100, 16, true), Err(StorageError::OffsetOutOfRange { .. })));
}

#[test]
fn index_entries_follow_index_interval_and_are_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { index_interval_bytes: 100, ..test_config() };
    let log = open_log(dir.path(), config, true);
    let mk = |ts: i64| BatchBuilder::new(ts).value_size(50).build();
    let s = mk(NOW).len() as u32;
    assert!(s > 100);
    for i in 0..4 {
        log.append_as_leader(&mk(NOW + i), 0, NOW).unwrap();
    }
    let seg_dir = dir.path().join("foo-0");
    // Active index is pre-allocated to segment.index.bytes.
    assert_eq!(std::fs::metadata(seg_dir.join("00000000000000000000.index")).unwrap().len(), 1024);
    assert_eq!(std::fs::metadata(seg_dir.join("00000000000000000000.timeindex")).unwrap().len(), 1020);
    log.close().unwrap();
    // Entries at appends 2..4: (last offset of that append, position where it started).
    let mut want = Vec::new();
    for k in 1..4u32 {
        want.extend_from_slice(&(k as i32).to_be_bytes());
        want.extend_from_slice(&((k * s) as i32).to_be_bytes());
    }
    assert_eq!(std::fs::read(seg_dir.join("00000000000000000000.index")).unwrap(), want);
    let mut want_t = Vec::new();
    for k in 1..4i64 {
        want_t.extend_from_slice(&(NOW + k).to_be_bytes());
        want_t.extend_from_slice(&(k as i32).to_be_bytes());
    }
    assert_eq!(std::fs::read(seg_dir.join("00000000000000000000.timeindex")).unwrap(), want_t);
}

#[test]
fn rolls_by_size_and_trims_old_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch(2, NOW);
    let config = LogConfig { segment_bytes: (b.len() * 3) as i32, ..test_config() };
    let log = open_log(dir.path(), config, true);
    for _ in 0..7 {
        log.append_as_leader(&b, 0, NOW).unwrap();
    }
    assert_eq!(log.segment_base_offsets(), vec![0, 6, 12]);
    let seg_dir = dir.path().join("foo-0");
    assert_eq!(std::fs::metadata(seg_dir.join("00000000000000000000.index")).unwrap().len(), 0);
    // Final time index entry on roll: (max timestamp, offset of it).
    let t = std::fs::read(seg_dir.join("00000000000000000006.timeindex")).unwrap();
    assert_eq!(t.len(), 12);
    assert_eq!(&t[..8], &(NOW + 1).to_be_bytes());
    // Offset of the first record carrying the max timestamp (7), relative to base 6.
    assert_eq!(&t[8..], &1i32.to_be_bytes());
    assert_eq!(std::fs::metadata(seg_dir.join("00000000000000000012.index")).unwrap().len(), 1024);
    assert_eq!(batches_of(&read_all(&log)).len(), 3, "a read stays within one segment");
    let r = log.read(6, u32::MAX, 14, false).unwrap();
    assert_eq!(batches_of(&r.records.read_to_vec().unwrap()), vec![(6, 7, 0), (8, 9, 0), (10, 11, 0)]);
    let too_big = batch(200, NOW);
    assert!(matches!(log.append_as_leader(&too_big, 0, NOW), Err(StorageError::RecordListTooLarge { .. })));
}

#[test]
fn rolls_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { segment_ms: 1000, ..test_config() };
    let log = open_log(dir.path(), config, true);
    log.append_as_leader(&batch(1, NOW), 0, NOW).unwrap();
    log.append_as_leader(&batch(1, NOW + 500), 0, NOW).unwrap();
    assert_eq!(log.num_segments(), 1);
    log.append_as_leader(&batch(1, NOW + 1001), 0, NOW).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2]);
}

#[test]
fn log_append_time_rewrites_header_and_crc() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { message_timestamp_type: TimestampType::LogAppendTime, ..test_config() };
    let log = open_log(dir.path(), config, true);
    let info = log.append_as_leader(&batch(3, 5), 2, NOW).unwrap();
    assert_eq!(info.log_append_time, NOW);
    let bytes = read_all(&log);
    let h = parse_header(&bytes).unwrap();
    assert!(h.is_log_append_time());
    assert_eq!(h.max_timestamp, NOW);
    assert_eq!(batches_of(&bytes), vec![(0, 2, 2)]);
}

#[test]
fn follower_append_keeps_offsets_and_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path(), test_config(), true);
    let mut buf = BatchBuilder::new(NOW).records(3).base_offset(0).leader_epoch(1).build();
    buf.extend(BatchBuilder::new(NOW).records(2).base_offset(3).leader_epoch(4).build());
    let info = log.append_as_follower(&buf).unwrap();
    assert_eq!((info.first_offset, info.last_offset, info.num_messages), (0, 4, 5));
    assert_eq!(log.log_end_offset(), 5);
    assert_eq!(log.leader_epoch_cache().entries(), vec![(1, 0), (4, 3)]);
    assert_eq!(read_all(&log), buf);
    let stale = BatchBuilder::new(NOW).base_offset(2).leader_epoch(4).build();
    assert!(matches!(log.append_as_follower(&stale), Err(StorageError::InvalidRecord(_))));
    let mut corrupt = BatchBuilder::new(NOW).base_offset(5).build();
    let n = corrupt.len();
    corrupt[n - 1] ^= 1;
    assert!(matches!(log.append_as_follower(&corrupt), Err(StorageError::CorruptRecord(_))));
}

#[test]
fn leader_epochs_are_cached_and_answer_offsets_for_leader_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path(), test_config(), true);
    log.append_as_leader(&batch(2, NOW), 0, NOW).unwrap();
    log.append_as_leader(&batch(2, NOW), 0, NOW).unwrap();
    log.append_as_leader(&batch(2, NOW), 3, NOW).unwrap();
    let c = log.leader_epoch_cache();
    assert_eq!(c.entries(), vec![(0, 0), (3, 4)]);
    assert_eq!(c.end_offset_for(0, log.log_end_offset()), (0, 4));
    assert_eq!(c.end_offset_for(2, log.log_end_offset()), (0, 4));
    assert_eq!(c.end_offset_for(3, log.log_end_offset()), (3, 6));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("foo-0/leader-epoch-checkpoint")).unwrap(),
        "0\n2\n0 0\n3 4\n"
    );
}

#[test]
fn fetch_offset_by_timestamp_finds_first_record_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { index_interval_bytes: 1, segment_bytes: 600, ..test_config() };
    let log = open_log(dir.path(), config, true);
    for i in 0..10 {
        log.append_as_leader(&batch(3, NOW + i * 10), i as i32, NOW).unwrap();
    }
    assert!(log.num_segments() > 1);
    let r = log.fetch_offset_by_timestamp(NOW + 41).unwrap().unwrap();
    assert_eq!((r.timestamp, r.offset, r.leader_epoch), (NOW + 41, 13, Some(4)));
    let r = log.fetch_offset_by_timestamp(NOW + 43).unwrap().unwrap();
    assert_eq!((r.timestamp, r.offset), (NOW + 50, 15));
    let r = log.fetch_offset_by_timestamp(0).unwrap().unwrap();
    assert_eq!((r.timestamp, r.offset), (NOW, 0));
    assert_eq!(log.fetch_offset_by_timestamp(NOW + 1000).unwrap(), None);
}

#[test]
fn truncation_removes_data_segments_and_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch(2, NOW);
    let config = LogConfig { segment_bytes: (b.len() * 2) as i32, ..test_config() };
    let log = open_log(dir.path(), config, true);
    for e in 0..6 {
        log.append_as_leader(&b, e, NOW).unwrap();
    }
    log.update_high_watermark(12);
    assert_eq!(log.segment_base_offsets(), vec![0, 4, 8]);
    log.truncate_to(6).unwrap();
    assert_eq!(log.log_end_offset(), 6);
    assert_eq!(log.high_watermark(), 6);
    assert_eq!(log.segment_base_offsets(), vec![0, 4]);
    assert_eq!(log.leader_epoch_cache().latest_epoch(), Some(2));
    let info = log.append_as_leader(&b, 9, NOW).unwrap();
    assert_eq!(info.first_offset, 6);
    assert_eq!(batches_of(&log.read(4, u32::MAX, 8, false).unwrap().records.read_to_vec().unwrap()), vec![(4, 5, 2), (6, 7, 9)]);
    log.truncate_fully_and_start_at(100).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset(), log.num_segments()), (100, 100, 1));
    assert!(log.leader_epoch_cache().entries().is_empty());
    assert_eq!(log.append_as_leader(&b, 10, NOW).unwrap().first_offset, 100);
}

#[test]
fn flush_messages_moves_recovery_point() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path(), LogConfig { flush_messages: 4, ..test_config() }, true);
    log.append_as_leader(&batch(2, NOW), 0, NOW).unwrap();
    assert_eq!(log.recovery_point(), 0);
    log.append_as_leader(&batch(2, NOW), 0, NOW).unwrap();
    assert_eq!(log.recovery_point(), 4);
    log.update_high_watermark(100);
    assert_eq!(log.high_watermark(), 4);
}

/// The rolling-restart loop of issue 8: a broker led epoch 4 at offset 30 without appending, so
/// its cache ends with (4, 30) while the new leader has (5, 30). The follower truncates to 30, its
/// own log end: nothing is cut, but the epoch entry the leader does not have must go (Kafka's
/// `Log.truncateTo` always truncates the epoch cache at the log end), or it would diverge again
/// on every fetch.
#[test]
fn truncation_at_log_end_removes_epochs_without_records() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path(), test_config(), true);
    let b = batch(10, NOW);
    log.append_as_leader(&b, 3, NOW).unwrap();
    log.append_as_leader(&b, 3, NOW).unwrap();
    log.append_as_leader(&b, 3, NOW).unwrap();
    log.leader_epoch_cache().assign(4, 30).unwrap();
    assert_eq!(log.leader_epoch_cache().entries(), vec![(3, 0), (4, 30)]);
    assert!(!log.truncate_to(30).unwrap(), "nothing to cut");
    assert_eq!(log.log_end_offset(), 30);
    assert_eq!(log.leader_epoch_cache().entries(), vec![(3, 0)]);
    // The checkpoint on disk says the same, so a restart does not bring the entry back.
    drop(log);
    let log = open_log(dir.path(), test_config(), false);
    assert_eq!(log.leader_epoch_cache().entries(), vec![(3, 0)]);
    // Past the log end: the same (nothing cut, nothing of the cache below the end touched).
    assert!(!log.truncate_to(100).unwrap());
    assert_eq!(log.leader_epoch_cache().entries(), vec![(3, 0)]);
}

/// A follower appending a batch of an older epoch than its latest entry (an entry for an epoch it
/// led without records) drops that entry, as Kafka's `assign` does for every appended batch, and
/// keeps where the older epoch began (Kafka would restart it at the batch).
#[test]
fn follower_append_of_older_epoch_replaces_empty_newer_entry() {
    let dir = tempfile::tempdir().unwrap();
    let leader_dir = tempfile::tempdir().unwrap();
    let leader = open_log(leader_dir.path(), test_config(), true);
    let b = batch(10, NOW);
    leader.append_as_leader(&b, 3, NOW).unwrap();
    leader.append_as_leader(&b, 3, NOW).unwrap();
    let follower = open_log(dir.path(), test_config(), true);
    let first = leader.read(0, u32::MAX, 10, false).unwrap().records.read_to_vec().unwrap();
    follower.append_as_follower(&first).unwrap();
    follower.leader_epoch_cache().assign(4, 10).unwrap();
    let second = leader.read(10, u32::MAX, 20, false).unwrap().records.read_to_vec().unwrap();
    follower.append_as_follower(&second).unwrap();
    assert_eq!(follower.leader_epoch_cache().entries(), vec![(3, 0)]);
}

/// Truncating below the log start but inside the first segment keeps the data below the target and
/// moves the log start down to it (Kafka truncates fully only below the first segment).
#[test]
fn truncation_below_log_start_inside_first_segment() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path(), test_config(), true);
    let b = batch(5, NOW);
    for _ in 0..4 {
        log.append_as_leader(&b, 1, NOW).unwrap();
    }
    log.update_high_watermark(20);
    log.maybe_increment_log_start_offset(12).unwrap();
    assert!(log.truncate_to(10).unwrap());
    assert_eq!((log.log_start_offset(), log.log_end_offset(), log.high_watermark()), (10, 10, 10));
    assert_eq!(log.segment_base_offsets(), vec![0]);
}
