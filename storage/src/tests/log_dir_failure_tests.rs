//! Log-dir failure: a real `ENOSPC` (a segment file that is `/dev/full`) marks the dir offline once
//! through the `LogDirFailureChannel`, the log refuses every later write, the manager stops using
//! the dir, and a torn tail left by a failed write is truncated at the next start.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::{LogDirFailureChannel, LogManager, StorageError};

fn provider(config: LogConfig) -> Arc<dyn Fn(&str) -> LogConfig + Send + Sync> {
    Arc::new(move |_topic: &str| config.clone())
}

/// A partition dir `<root>/<topic>-0` whose active segment is `/dev/full`: every write to it
/// fails with "No space left on device", as on a full disk.
fn full_disk_partition(root: &Path, topic: &str) {
    let dir = root.join(format!("{topic}-0"));
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink("/dev/full", dir.join("00000000000000000000.log")).unwrap();
}

fn assert_offline(r: Result<impl std::fmt::Debug, StorageError>, dir: &Path) {
    match r {
        Err(StorageError::LogDirOffline { dir: d }) => assert_eq!(d, dir),
        other => panic!("expected LogDirOffline for {}, got {other:?}", dir.display()),
    }
}

#[test]
fn a_failing_append_marks_the_dir_offline_once_and_later_writes_are_refused() {
    let root = tempfile::tempdir().unwrap();
    full_disk_partition(root.path(), "foo");
    let channel = Arc::new(LogDirFailureChannel::new());
    let params = LogLoadParams { failure_channel: channel.clone(), ..LogLoadParams::new(true) };
    let log = open_log_with(root.path(), test_config(), params);
    assert!(!log.is_log_dir_offline());

    let err = log.append_as_leader(&batch(3, NOW), 0, NOW).unwrap_err();
    assert!(err.is_io(), "the first failure is the I/O error itself: {err}");
    assert!(err.to_string().contains("No space left on device"), "{err}");
    assert_eq!(err.kafka_error_code(), 56);
    assert!(log.is_log_dir_offline());
    assert_eq!(log.log_end_offset(), 0, "nothing was appended");

    // Every later write is refused before touching the files.
    assert_offline(log.append_as_leader(&batch(1, NOW), 0, NOW), root.path());
    assert_offline(log.append_as_follower(&BatchBuilder::new(NOW).base_offset(0).records(1).build()), root.path());
    assert_offline(log.flush(), root.path());
    assert_offline(log.truncate_to(0), root.path());
    assert_offline(log.truncate_fully_and_start_at(5), root.path());
    assert_offline(log.delete_old_segments(NOW), root.path());
    assert_offline(log.assign_epoch_start_offset(1, 0), root.path());
    assert_eq!(StorageError::LogDirOffline { dir: root.path().to_path_buf() }.kafka_error_code(), 56);

    // The dir was queued exactly once, with its cause.
    let queued = channel.take_next_offline_log_dir(Duration::from_millis(10)).expect("dir queued");
    assert_eq!(queued.dir, root.path());
    assert!(queued.message.contains("appending records to foo-0"), "{}", queued.message);
    assert!(queued.cause.contains("No space left on device"), "{}", queued.cause);
    assert_eq!(channel.take_next_offline_log_dir(Duration::from_millis(10)), None);
}

#[test]
fn a_torn_tail_left_by_a_failed_write_is_truncated_at_the_next_start() {
    let root = tempfile::tempdir().unwrap();
    let config = LogConfig { index_interval_bytes: 100, ..test_config() };
    let channel = Arc::new(LogDirFailureChannel::new());
    let (leo, size) = {
        let params = LogLoadParams { failure_channel: channel.clone(), ..LogLoadParams::new(true) };
        let log = open_log_with(root.path(), config.clone(), params);
        for i in 0..4 {
            log.append_as_leader(&batch(2, NOW + i), 0, NOW).unwrap();
        }
        // The disk fills in the middle of the next batch: part of it reaches the file, the
        // append fails and the dir goes offline; nothing more is written.
        let log_file = log.segments()[0].log_path();
        let torn = batch(5, NOW);
        let mut f = std::fs::OpenOptions::new().append(true).open(&log_file).unwrap();
        std::io::Write::write_all(&mut f, &torn[..torn.len() / 3]).unwrap();
        channel.maybe_add_offline_log_dir(root.path(), "Error while appending records to foo-0", &"No space left on device");
        assert_offline(log.append_as_leader(&batch(1, NOW), 0, NOW), root.path());
        assert_offline(log.flush(), root.path());
        (log.log_end_offset(), log.size_in_bytes())
    }; // the broker halts: no clean shutdown
    let log_file = root.path().join("foo-0").join("00000000000000000000.log");
    assert!(std::fs::metadata(&log_file).unwrap().len() > size, "the torn tail is on disk");

    let log = open_log(root.path(), config, false);
    assert_eq!(log.log_end_offset(), leo);
    assert_eq!(std::fs::metadata(&log_file).unwrap().len(), size, "torn tail truncated");
    assert_eq!(batches_of(&read_all(&log)), vec![(0, 1, 0), (2, 3, 0), (4, 5, 0), (6, 7, 0)]);
    assert_eq!(log.append_as_leader(&batch(1, NOW), 0, NOW).unwrap().first_offset, leo);
}

#[test]
fn the_manager_stops_using_a_failed_dir_and_keeps_the_others() {
    let bad = tempfile::tempdir().unwrap();
    let good = tempfile::tempdir().unwrap();
    full_disk_partition(bad.path(), "full");
    std::fs::write(bad.path().join(".kafka_cleanshutdown"), b"").unwrap();
    let dirs = vec![bad.path().to_path_buf(), good.path().to_path_buf()];
    let channel = Arc::new(LogDirFailureChannel::new());
    let mgr = LogManager::startup_with(dirs.clone(), provider(test_config()), channel.clone(), &[]).unwrap();
    let full_tp = TopicPartition::new("full", 0);
    let full = mgr.get_log(&full_tp).expect("loaded");
    let ok_log = mgr.get_or_create_log(&TopicPartition::new("ok", 0), None).unwrap();
    assert_eq!(ok_log.log_dir(), good.path(), "fewest logs");
    ok_log.append_as_leader(&batch(2, NOW), 0, NOW).unwrap();

    assert!(full.append_as_leader(&batch(1, NOW), 0, NOW).is_err());
    let offline = channel.take_next_offline_log_dir(Duration::from_millis(10)).expect("queued");
    assert_eq!(offline.dir, bad.path());
    assert!(!mgr.is_log_dir_online(bad.path()));
    assert_eq!(mgr.offline_log_dirs(), vec![bad.path().to_path_buf()]);

    let before: Vec<_> = std::fs::read_dir(bad.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(mgr.handle_log_dir_failure(bad.path()).unwrap(), vec![full_tp.clone()]);
    assert!(mgr.get_log(&full_tp).is_none());
    assert_eq!(mgr.live_log_dirs(), vec![good.path().to_path_buf()]);

    // Checkpoints, new logs and the clean-shutdown marker go to the live dir only.
    mgr.checkpoint_all().unwrap();
    let new_log = mgr.get_or_create_log(&TopicPartition::new("new", 0), None).unwrap();
    assert_eq!(new_log.log_dir(), good.path());
    // A partition that is not new may have its data in the offline dir: not created elsewhere.
    let old = TopicPartition::new("old", 0);
    assert!(matches!(mgr.check_log_creation(&old, false), Err(StorageError::CannotCreateLog { .. })));
    assert!(mgr.check_log_creation(&old, true).is_ok());
    mgr.shutdown();
    let after: Vec<_> = std::fs::read_dir(bad.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(before, after, "nothing was written to the offline dir");
    assert!(good.path().join(".kafka_cleanshutdown").exists());
    assert!(std::fs::read_to_string(good.path().join("recovery-point-offset-checkpoint")).unwrap().contains("ok 0 2"));
}

#[test]
fn the_last_live_dir_failing_is_reported() {
    let d = tempfile::tempdir().unwrap();
    full_disk_partition(d.path(), "full");
    let mgr = LogManager::startup(vec![d.path().to_path_buf()], provider(test_config())).unwrap();
    let log = mgr.get_log(&TopicPartition::new("full", 0)).unwrap();
    assert!(log.append_as_leader(&batch(1, NOW), 0, NOW).is_err());
    let err = mgr.handle_log_dir_failure(d.path()).unwrap_err();
    assert!(matches!(err, StorageError::AllLogDirsFailed { .. }));
    assert_eq!(err.to_string(), format!("Shutdown broker because all log dirs in {} have failed", d.path().display()));
}

#[test]
fn an_unusable_dir_is_offline_from_the_start() {
    let good = tempfile::tempdir().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let not_a_dir = parent.path().join("file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let unreadable_meta = parent.path().join("meta-unreadable");
    let channel = Arc::new(LogDirFailureChannel::new());
    let initial = vec![(unreadable_meta.clone(), "Permission denied (os error 13)".to_string())];
    let dirs = vec![not_a_dir.clone(), unreadable_meta.clone(), good.path().to_path_buf()];
    let mgr = LogManager::startup_with(dirs.clone(), provider(test_config()), channel.clone(), &initial).unwrap();
    assert_eq!(mgr.live_log_dirs(), vec![good.path().to_path_buf()]);
    let offline: Vec<_> = channel.offline_log_dirs().into_iter().map(|o| o.dir).collect();
    assert_eq!(offline, {
        let mut v = vec![not_a_dir.clone(), unreadable_meta.clone()];
        v.sort();
        v
    });
    drop(mgr);

    let err = LogManager::startup(vec![not_a_dir.clone()], provider(test_config())).map(|_| ()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Shutdown broker because none of the specified log dirs from {} can be created or validated", not_a_dir.display())
    );
}
