use super::*;

fn wait_gone(p: &Path) -> bool {
    for _ in 0..300 {
        if !p.exists() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

#[test]
fn retention_by_size_moves_log_start_and_deletes_files() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch(2, NOW);
    let s = b.len() as i64;
    let config = LogConfig { segment_bytes: (s * 2) as i32, retention_bytes: s * 3, ..test_config() };
    let log = open_log(dir.path(), config, true);
    for _ in 0..8 {
        log.append_as_leader(&b, 0, NOW).unwrap();
    }
    assert_eq!(log.segment_base_offsets(), vec![0, 4, 8, 12]);
    // Nothing is below the high watermark yet.
    assert_eq!(log.delete_old_segments(NOW).unwrap(), 0);
    log.update_high_watermark(log.log_end_offset());
    // 8 batches = 8s; deleting whole 2s segments while the rest stays >= 3s: two go.
    assert_eq!(log.delete_old_segments(NOW).unwrap(), 2);
    assert_eq!(log.segment_base_offsets(), vec![8, 12]);
    assert_eq!(log.log_start_offset(), 8);
    assert!(wait_gone(&dir.path().join("foo-0/00000000000000000000.log.deleted")));
    assert!(!dir.path().join("foo-0/00000000000000000000.log").exists());
    assert!(matches!(log.read(0, 100, 16, true), Err(crate::StorageError::OffsetOutOfRange { .. })));
}

#[test]
fn retention_by_time_rolls_when_everything_expires() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch(2, NOW);
    let config = LogConfig { segment_bytes: (b.len() * 2) as i32, retention_ms: 1000, ..test_config() };
    let log = open_log(dir.path(), config, true);
    for _ in 0..3 {
        log.append_as_leader(&b, 0, NOW).unwrap();
    }
    log.update_high_watermark(4);
    // Only the first segment lies below the high watermark.
    assert_eq!(log.delete_old_segments(NOW + 10_000).unwrap(), 1);
    assert_eq!(log.log_start_offset(), 4);
    assert_eq!(log.delete_old_segments(NOW + 10_000).unwrap(), 0);
    log.update_high_watermark(6);
    assert_eq!(log.delete_old_segments(NOW + 500).unwrap(), 0, "not old enough");
    assert_eq!(log.delete_old_segments(NOW + 10_000).unwrap(), 1);
    assert_eq!(log.segment_base_offsets(), vec![6]);
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (6, 6));
    // The empty active segment is never deleted.
    assert_eq!(log.delete_old_segments(NOW + 100_000).unwrap(), 0);
}

#[test]
fn log_start_offset_advance_deletes_segments_below_it() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch(2, NOW);
    let config = LogConfig { segment_bytes: (b.len() * 2) as i32, retention_ms: -1, ..test_config() };
    let log = open_log(dir.path(), config, true);
    for e in 0..5 {
        log.append_as_leader(&b, e, NOW).unwrap();
    }
    log.update_high_watermark(6);
    assert!(log.maybe_increment_log_start_offset(7).is_err(), "bounded by the high watermark");
    log.maybe_increment_log_start_offset(5).unwrap();
    assert_eq!(log.log_start_offset(), 5);
    assert_eq!(log.leader_epoch_cache().entries(), vec![(2, 5), (3, 6), (4, 8)]);
    assert_eq!(log.delete_old_segments(NOW).unwrap(), 1);
    assert_eq!(log.segment_base_offsets(), vec![4, 8]);
    assert_eq!(log.log_start_offset(), 5);
    let r = log.read(5, u32::MAX, 6, false).unwrap();
    assert_eq!(batches_of(&r.records.read_to_vec().unwrap()), vec![(4, 5, 2)]);
}
