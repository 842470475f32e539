//! Log compaction: the cleaner, its manager, checkpoints and swap recovery.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::cleaner::batch_filter::read_records;
use crate::cleaner::cleaner::{last_modified_ms, system_time_ms};
use crate::cleaner::manager::{cleanable_offsets, max_compaction_delay};
use crate::cleaner::{Cleaner, CleanerConfig, LogCleanerManager};
use crate::log::wall_clock_ms;
use crate::record_batch::{parse_header, update_crc, write_varint, write_varlong, HEADER_SIZE, LOG_OVERHEAD};
use crate::{CleanupPolicy, LogManager};

type Rec = (i64, Option<String>, Option<String>);

/// One batch holding `recs` (key, value; `None` = null) with timestamps `ts + i`.
fn kv_batch(ts: i64, recs: &[(Option<&str>, Option<&str>)]) -> Vec<u8> {
    let mut out = vec![0u8; HEADER_SIZE];
    for (i, (k, v)) in recs.iter().enumerate() {
        let mut r = vec![0u8];
        write_varlong(&mut r, i as i64);
        write_varint(&mut r, i as i32);
        for f in [k, v] {
            match f {
                Some(s) => {
                    write_varint(&mut r, s.len() as i32);
                    r.extend_from_slice(s.as_bytes());
                }
                None => write_varint(&mut r, -1),
            }
        }
        write_varint(&mut r, 0);
        write_varint(&mut out, r.len() as i32);
        out.extend_from_slice(&r);
    }
    let n = recs.len() as i32;
    let len = (out.len() - LOG_OVERHEAD) as i32;
    out[8..12].copy_from_slice(&len.to_be_bytes());
    out[12..16].copy_from_slice(&(-1i32).to_be_bytes());
    out[16] = 2;
    out[23..27].copy_from_slice(&(n - 1).to_be_bytes());
    out[27..35].copy_from_slice(&ts.to_be_bytes());
    out[35..43].copy_from_slice(&(ts + n as i64 - 1).to_be_bytes());
    out[43..51].copy_from_slice(&(-1i64).to_be_bytes());
    out[51..53].copy_from_slice(&(-1i16).to_be_bytes());
    out[53..57].copy_from_slice(&(-1i32).to_be_bytes());
    out[57..61].copy_from_slice(&n.to_be_bytes());
    update_crc(&mut out);
    out
}

fn put(log: &Log, k: &str, v: Option<&str>) -> i64 {
    log.append_as_leader(&kv_batch(NOW, &[(Some(k), v)]), 0, NOW).unwrap().first_offset
}

/// The bytes of every segment (`read_all` stops at the first segment's end).
fn read_everything(log: &Log) -> Vec<u8> {
    let (mut out, mut next, leo) = (Vec::new(), log.log_start_offset(), log.log_end_offset());
    while next < leo {
        let bytes = log.read(next, u32::MAX, leo, true).unwrap().records.read_to_vec().unwrap();
        let Some(last) = BatchIter::new(&bytes).last() else { break };
        next = last.1.next_offset();
        out.extend_from_slice(&bytes);
    }
    out
}

/// Every record of the log: (offset, key, value).
fn records(log: &Log) -> Vec<Rec> {
    let bytes = read_everything(log);
    let s = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).to_string());
    let mut out = Vec::new();
    for (pos, h) in BatchIter::new(&bytes) {
        let batch = &bytes[pos..pos + h.size_in_bytes()];
        assert!(record_batch::crc_is_valid(batch));
        for r in read_records(batch, &h).unwrap() {
            let value = if r.has_value { read_value(r.tail) } else { None };
            out.push((r.offset, s(r.key), value));
        }
    }
    out
}

/// The value of a record tail (key, value, headers).
fn read_value(tail: &[u8]) -> Option<String> {
    let mut p = 0;
    let kl = record_batch::read_varint(tail, &mut p).unwrap();
    p += kl.max(0) as usize;
    let vl = record_batch::read_varint(tail, &mut p).unwrap();
    (vl >= 0).then(|| String::from_utf8_lossy(&tail[p..p + vl as usize]).to_string())
}

fn compact_config() -> LogConfig {
    LogConfig { cleanup_policy: CleanupPolicy::Compact, segment_bytes: 1024, min_cleanable_dirty_ratio: 0.01, ..test_config() }
}

fn open_arc(root: &Path, name: &str, config: LogConfig) -> Arc<Log> {
    let tp = TopicPartition::new(name, 0);
    Arc::new(Log::open(root.join(tp.dir_name()), tp, config, LogLoadParams::new(true)).unwrap())
}

/// Picks the log with the manager and cleans it; returns the checkpointed end offset.
fn clean_once(log: &Arc<Log>) -> i64 {
    let logs = vec![log.clone()];
    let mgr = LogCleanerManager::new();
    let c = mgr.grab_filthiest_compacted_log(&logs, wall_clock_ms()).expect("log to clean");
    let (end, stats) = Cleaner::new(1 << 20, 0.9, 4096).clean(&c, &|| false).unwrap();
    assert!(stats.bytes_read > 0 && stats.messages_written <= stats.messages_read);
    mgr.done_cleaning(log, Some(end), &logs).unwrap();
    end
}

#[test]
fn keeps_last_value_per_key_at_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_arc(dir.path(), "foo", compact_config());
    let mut last: BTreeMap<String, (i64, String)> = BTreeMap::new();
    for i in 0..300 {
        let (k, v) = (format!("k{}", i % 10), format!("v{i}"));
        let o = put(&log, &k, Some(&v));
        assert_eq!(o, i);
        last.insert(k, (o, v));
    }
    // A multi-record batch whose middle record is superseded by the last one.
    let o = log.append_as_leader(&kv_batch(NOW, &[(Some("m1"), Some("a")), (Some("m2"), Some("b")), (Some("m1"), Some("c"))]), 0, NOW).unwrap();
    last.insert("m1".into(), (o.first_offset + 2, "c".into()));
    last.insert("m2".into(), (o.first_offset + 1, "b".into()));
    for i in 0..20 {
        put(&log, &format!("tail{i}"), Some("t"));
    }
    log.update_high_watermark(log.log_end_offset());
    let before = log.size_in_bytes();
    let (leo, segs) = (log.log_end_offset(), log.num_segments());
    let active = *log.segment_base_offsets().last().unwrap();
    let end = clean_once(&log);
    assert_eq!(end, active);
    assert!(log.size_in_bytes() < before / 4, "{} vs {before}", log.size_in_bytes());
    // Groups are sized by the segments' sizes before cleaning (Kafka), so full segments are
    // not merged by the first pass; the now small clean segments merge on the next one.
    assert_eq!(log.num_segments(), segs);
    assert_eq!((log.log_end_offset(), log.log_start_offset()), (leo, 0));
    let recs = records(&log);
    let cleaned: Vec<&Rec> = recs.iter().filter(|r| r.0 < end).collect();
    let mut seen = std::collections::HashSet::new();
    for (o, k, v) in &cleaned {
        let k = k.clone().unwrap();
        assert!(seen.insert(k.clone()), "duplicate key {k} in the cleaned section");
        if let Some((lo, lv)) = last.get(&k) {
            assert_eq!((o, v.as_deref()), (lo, Some(lv.as_str())), "key {k}");
        }
    }
    for (k, (o, v)) in &last {
        assert!(recs.contains(&(*o, Some(k.clone()), Some(v.clone()))), "{k} lost");
    }
    // Offsets are strictly increasing and every kept offset is readable through the indexes.
    assert!(recs.windows(2).all(|w| w[0].0 < w[1].0));
    for (o, ..) in &recs {
        let r = log.read(*o, 1, leo, true).unwrap().records.read_to_vec().unwrap();
        let h = parse_header(&r).unwrap();
        assert!(h.base_offset <= *o && h.last_offset() >= *o);
    }
    put(&log, "m2", Some("b2"));
    for i in 0..20 {
        put(&log, &format!("more{i}"), Some("t"));
    }
    log.update_high_watermark(log.log_end_offset());
    clean_once(&log);
    assert!(log.num_segments() < segs / 2, "{} segments", log.num_segments());
    let recs2 = records(&log);
    assert_eq!(recs2.len(), recs.len() + 20);
    assert!(recs2.iter().all(|r| r.1.as_deref() != Some("m2") || r.2.as_deref() == Some("b2")));
    // The swapped files reload cleanly with the same content.
    log.close().unwrap();
    let recs_before = recs2;
    drop(log);
    let reopened = open_arc(dir.path(), "foo", compact_config());
    assert_eq!(records(&reopened), recs_before);
    let names: Vec<String> = std::fs::read_dir(reopened.dir()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert!(names.iter().all(|n| !n.ends_with(".cleaned") && !n.ends_with(".swap")), "{names:?}");
}

#[test]
fn keyless_records_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_arc(dir.path(), "foo", LogConfig { cleanup_policy: CleanupPolicy::Delete, ..compact_config() });
    for i in 0..60 {
        let v = format!("v{i}");
        let key = (i % 3 != 0).then(|| format!("k{i}"));
        log.append_as_leader(&kv_batch(NOW, &[(key.as_deref(), Some(&v))]), 0, NOW).unwrap();
    }
    log.update_high_watermark(log.log_end_offset());
    log.update_config(compact_config());
    let end = clean_once(&log);
    let recs = records(&log);
    assert!(recs.iter().filter(|r| r.0 < end).all(|r| r.1.is_some()));
    assert_eq!(recs.iter().filter(|r| r.0 < end).count() as i64, (0..end).filter(|i| i % 3 != 0).count() as i64);
}

/// Writes tombstones, cleans, ages the segments holding them and cleans again with new dirty
/// data. Returns the tombstones left after the first and after the second cleaning.
fn tombstone_scenario(delete_retention_ms: i64) -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let log = open_arc(dir.path(), "foo", LogConfig { delete_retention_ms, ..compact_config() });
    for i in 0..10 {
        put(&log, &format!("k{i}"), Some("x"));
    }
    for i in 0..5 {
        put(&log, &format!("k{i}"), None);
    }
    for i in 0..100 {
        put(&log, &format!("u{i}"), Some("unique"));
    }
    log.update_high_watermark(log.log_end_offset());
    let end = clean_once(&log);
    let tombstones = |log: &Log| records(log).iter().filter(|r| r.2.is_none()).count();
    let first = tombstones(&log);
    // Age every clean segment but the last one (Kafka 2.8: horizon = last clean mtime - retention).
    let clean: Vec<_> = log.segments().into_iter().filter(|s| s.base_offset() < end).collect();
    assert!(clean.len() >= 2, "test needs several clean segments");
    let now = wall_clock_ms();
    for (i, s) in clean.iter().enumerate() {
        let t = if i + 1 == clean.len() { now } else { now - 60_000 };
        s.file().set_modified(system_time_ms(t)).unwrap();
    }
    assert_eq!(last_modified_ms(&clean[0]), now - 60_000);
    for i in 0..30 {
        put(&log, &format!("later{i}"), Some("y"));
    }
    log.update_high_watermark(log.log_end_offset());
    clean_once(&log);
    let recs = records(&log);
    for i in 5..10 {
        assert!(recs.iter().any(|r| r.1.as_deref() == Some(&format!("k{i}")) && r.2.as_deref() == Some("x")));
    }
    assert!(recs.iter().all(|r| !(r.1.as_deref().is_some_and(|k| k < "k5" && k.starts_with('k')) && r.2.is_some())));
    (first, tombstones(&log))
}

#[test]
fn tombstones_kept_within_delete_retention_and_removed_after() {
    assert_eq!(tombstone_scenario(1000), (5, 0));
    assert_eq!(tombstone_scenario(3_600_000), (5, 5));
}

#[test]
fn checkpoint_written_in_kafka_format_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_arc(dir.path(), "foo", compact_config());
    for i in 0..100 {
        put(&log, &format!("k{}", i % 7), Some("value"));
    }
    log.update_high_watermark(log.log_end_offset());
    let end = clean_once(&log);
    let text = std::fs::read_to_string(dir.path().join(crate::cleaner::CLEANER_OFFSET_CHECKPOINT)).unwrap();
    assert_eq!(text, format!("0\n1\nfoo 0 {end}\n"));
    let mgr = LogCleanerManager::new();
    let logs = vec![log.clone()];
    assert_eq!(mgr.all_cleaner_checkpoints(&logs).get(&TopicPartition::new("foo", 0)), Some(&end));
    // Nothing new is dirty: the log is not picked again; the dirty section starts at the checkpoint.
    assert!(mgr.grab_filthiest_compacted_log(&logs, wall_clock_ms()).is_none());
    assert_eq!(cleanable_offsets(&log, Some(end), wall_clock_ms()).0, end);
    // An out-of-range checkpoint falls back to the log start.
    assert_eq!(cleanable_offsets(&log, Some(log.log_end_offset() + 5), wall_clock_ms()).0, 0);
    // Removing the log drops its entry.
    mgr.remove_log(&TopicPartition::new("foo", 0), dir.path(), &logs).unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join("cleaner-offset-checkpoint")).unwrap(), "0\n0\n");
}

#[test]
fn interrupted_swap_is_completed_and_cleaned_files_deleted_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch(2, NOW);
    let config = LogConfig { segment_bytes: (b.len() * 2) as i32, ..compact_config() };
    let log = open_log(dir.path(), config.clone(), true);
    for _ in 0..7 {
        log.append_as_leader(&b, 0, NOW).unwrap();
    }
    assert_eq!(log.segment_base_offsets(), vec![0, 4, 8, 12]);
    let expected = batches_of(&read_everything(&log));
    log.close().unwrap();
    drop(log);
    let p = |name: &str| dir.path().join("foo-0").join(name);
    // A cleaned segment for [0, 8) made of segments 0 and 4, caught between `.swap` and the
    // renaming of the old segments; plus a cleaning that never reached the swap.
    let mut swapped = std::fs::read(p("00000000000000000000.log")).unwrap();
    swapped.extend(std::fs::read(p("00000000000000000004.log")).unwrap());
    std::fs::write(p("00000000000000000000.log.swap"), &swapped).unwrap();
    std::fs::write(p("00000000000000000000.index.swap"), [0u8; 8]).unwrap();
    std::fs::write(p("00000000000000000008.log.cleaned"), b"partial").unwrap();
    std::fs::write(p("00000000000000000008.index.cleaned"), [0u8; 8]).unwrap();
    let log = open_log(dir.path(), config, true);
    assert_eq!(log.segment_base_offsets(), vec![0, 8, 12]);
    assert_eq!(batches_of(&read_everything(&log)), expected);
    let mut names: Vec<String> = std::fs::read_dir(p("")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    names.sort();
    assert!(names.iter().all(|n| !n.contains(".swap") && !n.contains(".cleaned") && !n.starts_with("00000000000000000004")), "{names:?}");
}

#[test]
fn dirtiest_compacted_log_is_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let fill = |log: &Log, n: usize| {
        for i in 0..n {
            put(log, &format!("k{}", i % 5), Some("some value"));
        }
        log.update_high_watermark(log.log_end_offset());
    };
    let a = open_arc(dir.path(), "a", compact_config());
    let b = open_arc(dir.path(), "b", compact_config());
    let d = open_arc(dir.path(), "d", LogConfig { cleanup_policy: CleanupPolicy::Delete, ..compact_config() });
    let high = open_arc(dir.path(), "high", LogConfig { min_cleanable_dirty_ratio: 1.0, ..compact_config() });
    for l in [&a, &b, &d, &high] {
        fill(l, 100);
    }
    clean_once(&a);
    fill(&a, 30); // a: mostly clean, some dirty
    let logs = vec![a.clone(), b.clone(), d.clone(), high.clone()];
    let mgr = LogCleanerManager::new();
    let first = mgr.grab_filthiest_compacted_log(&logs, wall_clock_ms()).unwrap();
    assert_eq!(first.log.topic_partition().topic, "b", "never cleaned: ratio 1.0");
    assert!((first.cleanable_ratio() - 1.0).abs() < 1e-9);
    let second = mgr.grab_filthiest_compacted_log(&logs, wall_clock_ms()).unwrap();
    assert_eq!(second.log.topic_partition().topic, "a", "b is in progress; high's ratio is never > 1.0");
    assert!(second.cleanable_ratio() > 0.01 && second.cleanable_ratio() < 0.9);
    assert!(mgr.grab_filthiest_compacted_log(&logs, wall_clock_ms()).is_none(), "delete-policy logs are not compacted");
}

#[test]
fn compaction_lags_bound_the_dirty_section() {
    let dir = tempfile::tempdir().unwrap();
    let hour = 3_600_000;
    let log = open_arc(dir.path(), "foo", LogConfig { min_compaction_lag_ms: hour, max_compaction_lag_ms: hour, ..compact_config() });
    for i in 0..100 {
        put(&log, &format!("k{}", i % 5), Some("value"));
    }
    log.update_high_watermark(log.log_end_offset());
    let active = *log.segment_base_offsets().last().unwrap();
    assert_eq!(cleanable_offsets(&log, None, NOW + 10), (0, 0), "records newer than the min lag");
    assert_eq!(cleanable_offsets(&log, None, NOW + 2 * hour), (0, active));
    assert_eq!(max_compaction_delay(&log, 0, NOW + 10), 0);
    assert_eq!(max_compaction_delay(&log, 0, NOW + 2 * hour), hour);
    // Nothing above the high watermark's segment is cleaned.
    log.update_high_watermark(5);
    assert_eq!(cleanable_offsets(&log, None, NOW + 2 * hour), (0, 0));
}

#[test]
fn retention_spares_compacted_logs_unless_also_delete() {
    for (policy, expect_deleted) in [(CleanupPolicy::Compact, false), (CleanupPolicy::CompactDelete, true)] {
        let dir = tempfile::tempdir().unwrap();
        let log = open_arc(dir.path(), "foo", LogConfig { cleanup_policy: policy, retention_ms: 1000, ..compact_config() });
        for i in 0..50 {
            put(&log, &format!("k{i}"), Some("value"));
        }
        log.update_high_watermark(log.log_end_offset());
        let deleted = log.delete_old_segments(NOW + 10_000).unwrap();
        assert_eq!(deleted > 0, expect_deleted, "{policy}");
    }
}

#[test]
fn log_manager_runs_the_cleaner_threads() {
    let dir = tempfile::tempdir().unwrap();
    let config = compact_config();
    let mgr = Arc::new(LogManager::startup(vec![dir.path().to_path_buf()], Arc::new(move |_: &str| config.clone())).unwrap());
    mgr.start_cleaner(CleanerConfig { backoff_ms: 20, dedupe_buffer_size: 1 << 20, ..CleanerConfig::default() }, None).unwrap();
    let tp = TopicPartition::new("foo", 0);
    let log = mgr.get_or_create_log(&tp, None).unwrap();
    for i in 0..200 {
        put(&log, &format!("k{}", i % 4), Some("value"));
    }
    log.update_high_watermark(log.log_end_offset());
    let ckpt = dir.path().join("cleaner-offset-checkpoint");
    let active = *log.segment_base_offsets().last().unwrap();
    let want = format!("0\n1\nfoo 0 {active}\n");
    let mut ok = false;
    for _ in 0..500 {
        if std::fs::read_to_string(&ckpt).ok().as_deref() == Some(want.as_str()) {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(ok, "checkpoint: {:?}", std::fs::read_to_string(&ckpt));
    let stats = mgr.cleaner().unwrap().last_stats().unwrap();
    assert!(stats.messages_written < stats.messages_read);
    assert!(records(&log).iter().filter(|r| r.0 < active).count() <= 4);
    mgr.async_delete(&tp).unwrap();
    assert_eq!(std::fs::read_to_string(&ckpt).unwrap(), "0\n0\n");
    mgr.shutdown();
    assert!(mgr.cleaner().is_none());
}

#[test]
fn small_offset_map_cleans_in_several_passes_keeping_unmapped_records() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_arc(dir.path(), "foo", compact_config());
    let mut last = BTreeMap::new();
    for i in 0..400 {
        let k = format!("k{}", i % 40);
        let v = (i % 7 != 3).then(|| format!("v{i}"));
        put(&log, &k, v.as_deref());
        last.insert(k, (i, v));
    }
    put(&log, "final", Some("x"));
    log.update_high_watermark(log.log_end_offset());
    let active = *log.segment_base_offsets().last().unwrap();
    let logs = vec![log.clone()];
    let mgr = LogCleanerManager::new();
    // Room for 10 keys: every pass maps part of the dirty section; nothing past it is dropped.
    let mut cleaner = Cleaner::new(24 * 12, 0.9, 4096);
    let mut ends = Vec::new();
    while let Some(c) = mgr.grab_filthiest_compacted_log(&logs, wall_clock_ms()) {
        let (end, _) = cleaner.clean(&c, &|| false).unwrap();
        mgr.done_cleaning(&log, Some(end), &logs).unwrap();
        ends.push(end);
        let recs = records(&log);
        for (k, (o, v)) in &last {
            let found = recs.iter().find(|r| r.1.as_deref() == Some(k.as_str()) && r.0 == *o);
            assert_eq!(found.map(|r| r.2.clone()), Some(v.clone()), "{k} after cleaning to {end}");
        }
        assert!(recs.iter().filter(|r| r.0 >= end).count() >= (active - end) as usize / 2, "records past the map kept");
        if end >= active {
            break;
        }
    }
    assert!(ends.len() > 2 && ends.windows(2).all(|w| w[0] < w[1]), "{ends:?}");
    assert_eq!(*ends.last().unwrap(), active);
    let recs = records(&log);
    assert_eq!(recs.iter().filter(|r| r.0 < active).count(), 40);
}

#[test]
fn last_batch_of_a_producer_survives_as_an_empty_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_arc(dir.path(), "foo", compact_config());
    let pb = |pid: i64, seq: i32| crate::batch_builder::BatchBuilder::new(NOW).records(3).producer(pid, 0, seq).build();
    log.append_as_leader(&pb(5, 0), 0, NOW).unwrap(); // 0..2, superseded by 3..5
    log.append_as_leader(&pb(5, 3), 0, NOW).unwrap(); // 3..5, superseded by 6..8 but pid 5's last
    log.append_as_leader(&pb(7, 0), 0, NOW).unwrap(); // 6..8, the live values
    for i in 0..40 {
        put(&log, &format!("other{i}"), Some("value"));
    }
    log.update_high_watermark(log.log_end_offset());
    clean_once(&log);
    let bytes = read_everything(&log);
    let batches: Vec<_> = BatchIter::new(&bytes).filter(|(_, h)| h.producer_id >= 0).map(|(_, h)| (h.producer_id, h.base_offset, h.last_offset(), h.records_count)).collect();
    assert_eq!(batches, vec![(5, 3, 5, 0), (7, 6, 8, 3)]);
    assert!(records(&log).iter().filter(|r| r.1.as_deref().is_some_and(|k| k.starts_with("key-"))).all(|r| r.0 >= 6));
}

/// Cleaner throughput on a log shaped like the integration test's (100,000 updates of 1,000
/// keys, 100-record batches, 200-byte records, 1 MiB segments), with Kafka's default 128 MiB
/// offset map. Ignored by default because its figure only means something in a release build:
/// `cargo test --release -p storage cleaner_throughput -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark: run in release mode with --ignored --nocapture"]
fn cleaner_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let seg_bytes: i32 = std::env::var("BENCH_SEGMENT_BYTES").ok().and_then(|v| v.parse().ok()).unwrap_or(1 << 20);
    let log = open_arc(dir.path(), "bench", LogConfig { segment_bytes: seg_bytes, segment_index_bytes: 10 << 20, ..compact_config() });
    let pad = "x".repeat(180);
    let mut state = 42u64;
    for b in 0..1000 {
        let recs: Vec<(String, String)> = (0..100)
            .map(|i| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (format!("key-{:04}", (state >> 33) % 1000), format!("v{}-{pad}", b * 100 + i))
            })
            .collect();
        let refs: Vec<(Option<&str>, Option<&str>)> = recs.iter().map(|(k, v)| (Some(k.as_str()), Some(v.as_str()))).collect();
        log.append_as_leader(&kv_batch(NOW, &refs), 0, NOW).unwrap();
    }
    log.update_high_watermark(log.log_end_offset());
    let logs = vec![log.clone()];
    let c = LogCleanerManager::new().grab_filthiest_compacted_log(&logs, wall_clock_ms()).unwrap();
    let mut cleaner = Cleaner::new(128 << 20, 0.9, 512 << 10);
    let (end, s) = cleaner.clean(&c, &|| false).unwrap();
    let mb = (s.bytes_read + s.map_bytes_read) as f64 / 1_048_576.0;
    println!(
        "cleaned {:.1} MB (map {:.1} MB + recopy {:.1} MB) in {:.3} s: {:.1} MB/s; {} -> {} records, {} -> {} bytes",
        mb,
        s.map_bytes_read as f64 / 1_048_576.0,
        s.bytes_read as f64 / 1_048_576.0,
        s.elapsed_secs,
        mb / s.elapsed_secs,
        s.messages_read,
        s.messages_written,
        s.bytes_read,
        s.bytes_written
    );
    assert!(records(&log).iter().filter(|r| r.0 < end).count() <= 1000);
}
