use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::LogManager;

fn provider(config: LogConfig) -> Arc<dyn Fn(&str) -> LogConfig + Send + Sync> {
    Arc::new(move |_topic: &str| config.clone())
}

#[test]
fn create_checkpoint_shutdown_and_reload() {
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let dirs = vec![d1.path().to_path_buf(), d2.path().to_path_buf()];
    let mgr = LogManager::startup(dirs.clone(), provider(test_config())).unwrap();
    let tps: Vec<_> = (0..4).map(|p| TopicPartition::new("foo", p)).collect();
    for tp in &tps {
        let log = mgr.get_or_create_log(tp, Some("AAAAAAAAAAAAAAAAAAAAAA")).unwrap();
        log.append_as_leader(&batch(tp.partition as usize + 1, NOW), 0, NOW).unwrap();
        log.update_high_watermark(log.log_end_offset());
    }
    // Spread over both dirs.
    let in_d1 = mgr.all_logs().iter().filter(|l| l.dir().parent() == Some(d1.path())).count();
    assert_eq!(in_d1, 2);
    let log0 = mgr.get_log(&tps[0]).unwrap();
    assert_eq!(
        std::fs::read_to_string(log0.dir().join("partition.metadata")).unwrap(),
        "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA\n"
    );
    // A second manager cannot lock the same dirs.
    assert!(LogManager::startup(dirs.clone(), provider(test_config())).is_err());
    mgr.checkpoint_all().unwrap();
    let hw_d1 = std::fs::read_to_string(d1.path().join("replication-offset-checkpoint")).unwrap();
    let hw_d2 = std::fs::read_to_string(d2.path().join("replication-offset-checkpoint")).unwrap();
    let mut all: Vec<&str> = hw_d1.lines().skip(2).chain(hw_d2.lines().skip(2)).collect();
    all.sort();
    assert_eq!(all, vec!["foo 0 1", "foo 1 2", "foo 2 3", "foo 3 4"]);
    assert!(hw_d1.starts_with("0\n2\n"));
    assert_eq!(std::fs::read_to_string(d1.path().join("log-start-offset-checkpoint")).unwrap(), "0\n0\n");
    mgr.shutdown();
    assert!(d1.path().join(".kafka_cleanshutdown").exists());
    let rp = std::fs::read_to_string(d1.path().join("recovery-point-offset-checkpoint")).unwrap();
    assert!(rp.starts_with("0\n2\n"));
    drop(mgr);

    let mgr = LogManager::startup(dirs, provider(test_config())).unwrap();
    assert!(!d1.path().join(".kafka_cleanshutdown").exists());
    assert_eq!(mgr.all_logs().len(), 4);
    for tp in &tps {
        let log = mgr.get_log(tp).unwrap();
        assert_eq!(log.log_end_offset(), tp.partition as i64 + 1);
        assert_eq!(log.high_watermark(), tp.partition as i64 + 1);
        assert_eq!(log.recovery_point(), tp.partition as i64 + 1);
    }
    mgr.shutdown();
}

#[test]
fn unclean_restart_recovers() {
    let d = tempfile::tempdir().unwrap();
    let dirs = vec![d.path().to_path_buf()];
    let tp = TopicPartition::new("bar", 0);
    {
        let mgr = LogManager::startup(dirs.clone(), provider(test_config())).unwrap();
        let log = mgr.get_or_create_log(&tp, None).unwrap();
        for _ in 0..3 {
            log.append_as_leader(&batch(2, NOW), 0, NOW).unwrap();
        }
        // no shutdown: simulated crash (locks are released when the files close)
    }
    let seg = d.path().join("bar-0/00000000000000000000.log");
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    std::io::Write::write_all(&mut f, &[1, 2, 3, 4, 5]).unwrap();
    let mgr = LogManager::startup(dirs, provider(test_config())).unwrap();
    let log = mgr.get_log(&tp).unwrap();
    assert_eq!(log.log_end_offset(), 6);
    assert_eq!(batches_of(&read_all(&log)).len(), 3);
    mgr.shutdown();
}

#[test]
fn async_delete_renames_then_removes() {
    let d = tempfile::tempdir().unwrap();
    let config = LogConfig { file_delete_delay_ms: 100, ..test_config() };
    let mgr = LogManager::startup(vec![d.path().to_path_buf()], provider(config)).unwrap();
    let tp = TopicPartition::new("my-topic", 3);
    mgr.get_or_create_log(&tp, None).unwrap().append_as_leader(&batch(1, NOW), 0, NOW).unwrap();
    mgr.async_delete(&tp).unwrap();
    assert!(mgr.get_log(&tp).is_none());
    assert!(!d.path().join("my-topic-3").exists());
    let renamed: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with("-delete"))
        .collect();
    assert_eq!(renamed.len(), 1);
    let name = &renamed[0];
    assert!(name.starts_with("my-topic-3."));
    assert_eq!(name.len(), "my-topic-3.".len() + 32 + "-delete".len());
    let path = d.path().join(name);
    let mut gone = false;
    for _ in 0..300 {
        if !path.exists() {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(gone);
    mgr.shutdown();
}

#[test]
fn config_changes_and_background_tasks() {
    let d = tempfile::tempdir().unwrap();
    let overrides: Arc<std::sync::Mutex<BTreeMap<String, String>>> = Arc::default();
    let o2 = overrides.clone();
    let cf: Arc<dyn Fn(&str) -> LogConfig + Send + Sync> =
        Arc::new(move |_t: &str| test_config().with_overrides(&o2.lock().unwrap()).unwrap());
    let mgr = Arc::new(LogManager::startup(vec![d.path().to_path_buf()], cf).unwrap());
    let tp = TopicPartition::new("t", 0);
    let log = mgr.get_or_create_log(&tp, None).unwrap();
    let b = batch(2, NOW);
    overrides.lock().unwrap().insert("segment.bytes".into(), (b.len() * 2).to_string());
    overrides.lock().unwrap().insert("retention.bytes".into(), "0".into());
    mgr.topic_config_changed("t");
    assert_eq!(log.config().segment_bytes, (b.len() * 2) as i32);
    for _ in 0..6 {
        log.append_as_leader(&b, 0, NOW).unwrap();
    }
    log.update_high_watermark(log.log_end_offset());
    assert_eq!(log.num_segments(), 3);
    mgr.start_background_tasks_with_initial_delay(10, 10, 10);
    let mut ok = false;
    for _ in 0..300 {
        if log.num_segments() == 1 && log.log_start_offset() == 12 {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(ok, "retention ran in the background: {:?}", log.segment_base_offsets());
    assert_eq!(mgr.cleanup_logs(NOW), 0);
    mgr.shutdown();
    assert!(d.path().join(".kafka_cleanshutdown").exists());
}

#[test]
fn log_start_offset_checkpoint_lists_only_advanced_logs() {
    let d = tempfile::tempdir().unwrap();
    let mgr = LogManager::startup(vec![d.path().to_path_buf()], provider(test_config())).unwrap();
    for p in 0..2 {
        let log = mgr.get_or_create_log(&TopicPartition::new("foo", p), None).unwrap();
        for _ in 0..4 {
            log.append_as_leader(&batch(2, NOW), 0, NOW).unwrap();
        }
        log.update_high_watermark(8);
    }
    mgr.get_log(&TopicPartition::new("foo", 1)).unwrap().maybe_increment_log_start_offset(5).unwrap();
    mgr.checkpoint_all().unwrap();
    assert_eq!(std::fs::read_to_string(d.path().join("log-start-offset-checkpoint")).unwrap(), "0\n1\nfoo 1 5\n");
    assert_eq!(std::fs::read_to_string(d.path().join("replication-offset-checkpoint")).unwrap(), "0\n2\nfoo 0 8\nfoo 1 8\n");
    mgr.shutdown();
    assert_eq!(std::fs::read_to_string(d.path().join("recovery-point-offset-checkpoint")).unwrap(), "0\n2\nfoo 0 8\nfoo 1 8\n");
    drop(mgr);
    let mgr = LogManager::startup(vec![d.path().to_path_buf()], provider(test_config())).unwrap();
    assert_eq!(mgr.get_log(&TopicPartition::new("foo", 1)).unwrap().log_start_offset(), 5);
    assert_eq!(mgr.get_log(&TopicPartition::new("foo", 0)).unwrap().log_start_offset(), 0);
    mgr.shutdown();
}

#[test]
fn batch_creation_spreads_over_dirs_in_parallel_and_keeps_order() {
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let mgr = LogManager::startup(vec![d1.path().to_path_buf(), d2.path().to_path_buf()], provider(test_config())).unwrap();
    // One log already there (in d1): the batch evens the dirs out around it.
    mgr.get_or_create_log(&TopicPartition::new("old", 0), None).unwrap();
    let id = "AAAAAAAAAAAAAAAAAAAAAA".to_string();
    let mut wanted: Vec<(TopicPartition, Option<String>)> = (0..99).map(|p| (TopicPartition::new("big", p), Some(id.clone()))).collect();
    // Listed twice and already existing: both get a log, no second creation.
    wanted.push((TopicPartition::new("big", 7), Some(id.clone())));
    wanted.push((TopicPartition::new("old", 0), None));
    let results = mgr.get_or_create_logs(&wanted);
    assert_eq!(results.len(), wanted.len());
    for (r, (tp, _)) in results.iter().zip(&wanted) {
        let log = r.as_ref().unwrap();
        assert_eq!(log.topic_partition(), tp);
        assert!(Arc::ptr_eq(log, &mgr.get_log(tp).unwrap()));
    }
    assert_eq!(mgr.all_logs().len(), 100);
    let in_d1 = mgr.all_logs().iter().filter(|l| l.dir().parent() == Some(d1.path())).count();
    assert_eq!(in_d1, 50);
    for p in 0..99 {
        let dir = mgr.get_log(&TopicPartition::new("big", p)).unwrap().dir().to_path_buf();
        assert_eq!(std::fs::read_to_string(dir.join("partition.metadata")).unwrap(), format!("version: 0\ntopic_id: {id}\n"));
        assert!(!dir.join("partition.metadata.tmp").exists());
    }
    assert!(!mgr.get_log(&TopicPartition::new("old", 0)).unwrap().dir().join("partition.metadata").exists());
    mgr.shutdown();
}
