//! Kafka 2.8-compatible log storage (ZooKeeper-mode broker): partition logs made of segments
//! (`.log` + `.index` + `.timeindex`), leader epoch cache, checkpoint files, recovery after an
//! unclean shutdown, retention and zero-copy reads. On-disk bytes match Kafka 2.8, so Kafka's
//! own `kafka-dump-log.sh` reads these files.
//!
//! Entry points: [`LogManager`] (all logs of the broker's log dirs) and [`Log`] (one partition).
//! Only RecordBatch v2 (magic 2) is accepted; compressed batches are never decompressed, except
//! by the log cleaner through a codec the broker supplies ([`cleaner::RecordsCodec`]).
//!
//! # API notes
//! * `LeaderEpochFileCache::assign`, `truncate_from_end`, `truncate_from_start` and `clear` return
//!   `Result<(), StorageError>` because each change is persisted to `leader-epoch-checkpoint`.
//! * Additions beyond the agreed API: `Log::open` + [`LogLoadParams`] (standalone logs),
//!   `Log::close`, `Log::segments`/`segment_base_offsets`/`last_flush_ms`,
//!   `LogManager::start_background_tasks_with_initial_delay`, `checkpoint_recovery_points`,
//!   `checkpoint_high_watermarks`, `log_dirs`, `StorageError::kafka_error_code`,
//!   [`batch_builder::BatchBuilder`] (builds valid v2 batches for tests).
//! * `Log::append_as_leader` takes `&[u8]`: offsets/epochs/timestamps are applied to copies of
//!   the 61-byte headers and written together with the untouched batch bodies by one `pwritev`,
//!   so the caller's buffer is not modified and nothing is copied.
//! * `Log::truncate_to` drops the whole batch containing the target offset (batches cannot be
//!   split); LEO becomes the next offset actually present, i.e. the target for batch boundaries.
//! * `preallocate=true` is accepted but `.log` files are not pre-allocated.
//! * A follower append whose first offset is below LEO fails with `InvalidRecord`.
//! * After `LogManager::async_delete` the removed `Log`'s `dir()` names the old (renamed) path;
//!   the broker must stop using that `Log` (reads of already obtained slices keep working).
//! * Uncompressed batches are validated record by record; compressed batches only at header
//!   level (length, magic, CRC, count vs lastOffsetDelta, header timestamps).
//! * Compaction ([`cleaner`]): `LogManager::start_cleaner` runs `log.cleaner.threads` std threads
//!   ("kafka-log-cleaner-thread-N"); `Log::replace_segments` swaps cleaned segments in.
//! * Log-dir failure (Kafka's `LogDirFailureChannel`): an I/O error in any operation on a log dir
//!   marks it offline once through [`LogDirFailureChannel`]; logs there refuse every later write
//!   ([`StorageError::LogDirOffline`]) and the broker calls `LogManager::handle_log_dir_failure`.
//!   Dirs that cannot be used at startup are offline from the start.
//! * Retention, flushing and checkpoints run on one std thread ("log-manager-scheduler");
//!   delayed file deletion on another ("storage-deleter"). No tokio dependency.

#![warn(missing_docs)]

pub mod append_info;
pub mod batch_builder;
pub mod checkpoint;
pub mod cleaner;
pub mod config;
pub mod error;
pub mod file_slice;
mod index_file;
pub mod leader_epoch;
pub mod log;
pub mod log_dir_failure_channel;
mod log_io_guard;
pub mod log_load;
pub mod log_manager;
mod log_manager_dirs;
pub mod log_manager_tasks;
mod log_retention;
pub mod log_segment;
pub mod memory_records;
mod log_validator;
pub mod offset_index;
pub mod record_batch;
pub mod scheduler;
pub mod time_index;
pub mod topic_partition;

#[cfg(test)]
mod tests;

pub use append_info::{LogAppendInfo, TimestampAndOffset};
pub use checkpoint::{LeaderEpochCheckpointFile, OffsetCheckpointFile};
pub use config::{CleanupPolicy, LogConfig, TimestampType};
pub use error::StorageError;
pub use file_slice::{FetchDataInfo, FileSlice};
pub use leader_epoch::LeaderEpochFileCache;
pub use log::Log;
pub use log_dir_failure_channel::{LogDirFailureChannel, OfflineLogDir};
pub use log_load::LogLoadParams;
pub use log_manager::LogManager;
pub use log_segment::LogSegment;
pub use offset_index::OffsetIndex;
pub use time_index::TimeIndex;
pub use topic_partition::TopicPartition;
