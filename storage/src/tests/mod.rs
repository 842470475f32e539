//! Integration-style tests of [`crate::Log`] and [`crate::LogManager`] on temp dirs.

mod cleaner_tests;
mod log_dir_failure_tests;
mod log_tests;
mod manager_tests;
mod recovery_tests;
mod retention_tests;

use std::path::Path;

use crate::batch_builder::BatchBuilder;
use crate::record_batch::{self, BatchIter};
use crate::{Log, LogConfig, LogLoadParams, TopicPartition};

pub(crate) const NOW: i64 = 1_700_000_000_000;

pub(crate) fn test_config() -> LogConfig {
    LogConfig { file_delete_delay_ms: 0, segment_index_bytes: 1024, ..LogConfig::default() }
}

pub(crate) fn open_log(root: &Path, config: LogConfig, clean: bool) -> Log {
    open_log_with(root, config, LogLoadParams::new(clean))
}

pub(crate) fn open_log_with(root: &Path, config: LogConfig, params: LogLoadParams) -> Log {
    Log::open(root.join("foo-0"), TopicPartition::new("foo", 0), config, params).unwrap()
}

/// One batch of `n` records stamped from `ts`.
pub(crate) fn batch(n: usize, ts: i64) -> Vec<u8> {
    BatchBuilder::new(ts).records(n).build()
}

/// `(base offset, last offset, leader epoch)` of every batch in `bytes`, checking CRCs.
pub(crate) fn batches_of(bytes: &[u8]) -> Vec<(i64, i64, i32)> {
    BatchIter::new(bytes)
        .map(|(pos, h)| {
            assert!(record_batch::crc_is_valid(&bytes[pos..pos + h.size_in_bytes()]), "crc at {pos}");
            (h.base_offset, h.last_offset(), h.partition_leader_epoch)
        })
        .collect()
}

pub(crate) fn read_all(log: &Log) -> Vec<u8> {
    log.read(log.log_start_offset(), u32::MAX, log.log_end_offset(), true).unwrap().records.read_to_vec().unwrap()
}

#[test]
fn shared_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<crate::LogManager>();
    assert_send_sync::<Log>();
    assert_send_sync::<crate::FileSlice>();
    assert_send_sync::<crate::StorageError>();
}
