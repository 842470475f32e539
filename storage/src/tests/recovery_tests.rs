use std::io::Write;

use super::*;
use crate::LogLoadParams;

fn seg_path(root: &Path, base: i64, suffix: &str) -> std::path::PathBuf {
    root.join("foo-0").join(format!("{base:020}{suffix}"))
}

fn append_raw(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn torn_write_is_truncated_and_indexes_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { index_interval_bytes: 100, ..test_config() };
    let (size, leo) = {
        let log = open_log(dir.path(), config.clone(), true);
        for i in 0..6 {
            log.append_as_leader(&batch(2, NOW + i), 1, NOW).unwrap();
        }
        (log.size_in_bytes(), log.log_end_offset())
    }; // dropped without close: "crash"
    let log_file = seg_path(dir.path(), 0, ".log");
    let half = batch(3, NOW);
    append_raw(&log_file, &half[..half.len() / 2]);
    let log = open_log(dir.path(), config.clone(), false);
    assert_eq!(log.log_end_offset(), leo);
    assert_eq!(log.size_in_bytes(), size);
    assert_eq!(std::fs::metadata(&log_file).unwrap().len(), size);
    assert_eq!(log.segments()[0].offset_index_entries(), 5);
    assert_eq!(log.leader_epoch_cache().entries(), vec![(1, 0)]);
    assert_eq!(log.append_as_leader(&batch(1, NOW), 1, NOW).unwrap().first_offset, leo);
    drop(log);

    // Garbage (not a batch at all) at the tail.
    append_raw(&log_file, &[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 100, 1, 2, 3]);
    let log = open_log(dir.path(), config, false);
    assert_eq!(log.log_end_offset(), leo + 1);
    assert_eq!(batches_of(&read_all(&log)).len(), 7);
}

#[test]
fn corrupt_batch_truncates_segment_and_deletes_later_segments() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch(2, NOW);
    let config = LogConfig { segment_bytes: (b.len() * 2) as i32, ..test_config() };
    {
        let log = open_log(dir.path(), config.clone(), true);
        for _ in 0..6 {
            log.append_as_leader(&b, 0, NOW).unwrap();
        }
        assert_eq!(log.segment_base_offsets(), vec![0, 4, 8]);
    }
    // Flip a byte in the second batch of segment 4.
    let p = seg_path(dir.path(), 4, ".log");
    let mut bytes = std::fs::read(&p).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&p, &bytes).unwrap();
    let log = open_log(dir.path(), config, false);
    assert_eq!(log.segment_base_offsets(), vec![0, 4]);
    assert_eq!(log.log_end_offset(), 6);
    assert!(!seg_path(dir.path(), 8, ".log").exists());
}

#[test]
fn recovery_starts_at_recovery_point() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch(2, NOW);
    let config = LogConfig { segment_bytes: (b.len() * 2) as i32, ..test_config() };
    {
        let log = open_log(dir.path(), config.clone(), true);
        for _ in 0..6 {
            log.append_as_leader(&b, 0, NOW).unwrap();
        }
    }
    // Corrupt segment 0 but say it was flushed (recovery point 8): it is not re-checked.
    let p0 = seg_path(dir.path(), 0, ".log");
    let mut bytes = std::fs::read(&p0).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&p0, &bytes).unwrap();
    let params = LogLoadParams { recovery_point: 8, ..LogLoadParams::new(false) };
    let log = open_log_with(dir.path(), config, params);
    assert_eq!(log.segment_base_offsets(), vec![0, 4, 8]);
    assert_eq!(log.log_end_offset(), 12);
    assert_eq!(log.recovery_point(), 8);
}

#[test]
fn missing_indexes_are_rebuilt_after_clean_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let mk = |ts: i64| BatchBuilder::new(ts).value_size(50).build();
    let b = mk(NOW);
    assert!(b.len() > 100);
    let config = LogConfig { index_interval_bytes: 100, segment_bytes: (b.len() * 5) as i32, ..test_config() };
    let (idx0, tidx0, idx5) = {
        let log = open_log(dir.path(), config.clone(), true);
        for i in 0..8 {
            log.append_as_leader(&mk(NOW + i), 0, NOW).unwrap();
        }
        log.close().unwrap();
        (
            std::fs::read(seg_path(dir.path(), 0, ".index")).unwrap(),
            std::fs::read(seg_path(dir.path(), 0, ".timeindex")).unwrap(),
            std::fs::read(seg_path(dir.path(), 5, ".index")).unwrap(),
        )
    };
    assert_eq!(idx0.len(), 4 * 8);
    std::fs::remove_file(seg_path(dir.path(), 0, ".index")).unwrap();
    std::fs::remove_file(seg_path(dir.path(), 0, ".timeindex")).unwrap();
    // A corrupt (zero-filled) index is rebuilt too.
    std::fs::write(seg_path(dir.path(), 5, ".index"), vec![0u8; 64]).unwrap();
    let log = open_log(dir.path(), config, true);
    assert_eq!(log.log_end_offset(), 8);
    assert_eq!(std::fs::read(seg_path(dir.path(), 0, ".index")).unwrap(), idx0);
    assert_eq!(std::fs::read(seg_path(dir.path(), 0, ".timeindex")).unwrap(), tidx0);
    // The active segment is re-grown to segment.index.bytes after load.
    assert_eq!(std::fs::metadata(seg_path(dir.path(), 5, ".index")).unwrap().len(), 1024);
    log.close().unwrap();
    assert_eq!(std::fs::read(seg_path(dir.path(), 5, ".index")).unwrap(), idx5);
    let r = log.read(3, u32::MAX, 8, false).unwrap();
    assert_eq!(batches_of(&r.records.read_to_vec().unwrap())[0].0, 3);
}

#[test]
fn leftover_files_are_removed_on_load() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open_log(dir.path(), test_config(), true);
        log.append_as_leader(&batch(1, NOW), 0, NOW).unwrap();
        log.close().unwrap();
    }
    let d = dir.path().join("foo-0");
    std::fs::write(d.join("00000000000000000007.log.deleted"), b"x").unwrap();
    std::fs::write(d.join("00000000000000000099.index"), b"").unwrap();
    let log = open_log(dir.path(), test_config(), true);
    assert!(!d.join("00000000000000000007.log.deleted").exists());
    assert!(!d.join("00000000000000000099.index").exists());
    assert_eq!(log.log_end_offset(), 1);
}
