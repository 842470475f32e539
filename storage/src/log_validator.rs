//! Validation of incoming batches (Kafka's `LogValidator` + `analyzeAndValidateRecords`),
//! producing a per-batch plan the [`crate::Log`] applies while writing. Nothing is copied:
//! the plan only says how each 61-byte header must be rewritten.
//!
//! Compressed batches are checked at header level only (length, magic, CRC, offset range,
//! header timestamps): their records are not decompressed, so the per-record checks that
//! uncompressed batches get (framing, offset deltas, null keys on compacted topics, every
//! record timestamp) are not done for them.

use crate::config::{LogConfig, TimestampType};
use crate::error::StorageError;
use crate::record_batch::{self, RecordBatchHeader, HEADER_SIZE};

/// How to write one validated batch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchPlan {
    /// Position of the batch in the input buffer.
    pub pos: usize,
    /// Size in bytes.
    pub size: usize,
    /// Header as received.
    pub header: RecordBatchHeader,
    /// Max timestamp of the batch after validation (may be `now` with LogAppendTime).
    pub max_timestamp: i64,
    /// Offset delta of the record holding `max_timestamp`.
    pub offset_delta_of_max_timestamp: i32,
    /// Header `maxTimestamp` must be rewritten (and the CRC recomputed).
    pub rewrite_max_timestamp: Option<i64>,
    /// Set the LogAppendTime attribute bit.
    pub set_log_append_time: bool,
}

/// Result of validating a whole produce buffer.
#[derive(Debug, Default)]
pub(crate) struct ValidatedRecords {
    pub batches: Vec<BatchPlan>,
    pub total_size: usize,
    pub num_messages: i64,
}

fn check_timestamp(ts: i64, now_ms: i64, max_diff: i64, base: i64) -> Result<(), StorageError> {
    if ts >= 0 && (ts as i128 - now_ms as i128).abs() > max_diff as i128 {
        return Err(StorageError::InvalidTimestamp(format!(
            "timestamp {ts} of a record in the batch at offset {base} is out of range: must be within \
             {max_diff} ms of the broker time {now_ms}"
        )));
    }
    Ok(())
}

/// Splits the buffer into complete batches, checking structure and CRC (both paths).
pub(crate) fn split_batches(records: &[u8]) -> Result<Vec<(usize, RecordBatchHeader, usize)>, StorageError> {
    let mut out = Vec::with_capacity(1);
    let mut pos = 0;
    while pos < records.len() {
        let (h, size) = record_batch::validate_batch_structure(&records[pos..])?;
        out.push((pos, h, size));
        pos += size;
    }
    Ok(out)
}

/// Validates a client produce buffer for a leader append.
pub(crate) fn validate_for_leader(records: &[u8], config: &LogConfig, now_ms: i64) -> Result<ValidatedRecords, StorageError> {
    let mut v = ValidatedRecords::default();
    for (pos, h, size) in split_batches(records)? {
        if size > config.max_message_bytes.max(0) as usize {
            return Err(StorageError::MessageTooLarge { size, max: config.max_message_bytes });
        }
        if h.is_control() {
            return Err(StorageError::InvalidRecord("clients are not allowed to write control records".into()));
        }
        if h.records_count as i64 != h.last_offset_delta as i64 + 1 {
            return Err(StorageError::InvalidRecord(format!(
                "inconsistent batch offset range: records count {} but lastOffsetDelta {}",
                h.records_count, h.last_offset_delta
            )));
        }
        let batch = &records[pos..pos + size];
        let (mut max_ts, mut max_delta, min_ts) = (h.max_timestamp, h.last_offset_delta, h.base_timestamp);
        let mut rewrite = None;
        if h.compression_codec() == 0 {
            let s = record_batch::walk_uncompressed_records(batch, &h)?;
            if config.cleanup_policy.is_compact() && s.has_null_key {
                return Err(StorageError::InvalidRecord("compacted topic cannot accept message without key".into()));
            }
            if h.records_count > 0 {
                if s.max_timestamp != h.max_timestamp && config.message_timestamp_type == TimestampType::CreateTime {
                    rewrite = Some(s.max_timestamp);
                }
                max_ts = s.max_timestamp;
                max_delta = s.offset_delta_of_max_timestamp;
                if config.message_timestamp_type == TimestampType::CreateTime {
                    check_timestamp(s.min_timestamp, now_ms, config.message_timestamp_difference_max_ms, h.base_offset)?;
                }
            }
        } else if config.message_timestamp_type == TimestampType::CreateTime {
            check_timestamp(min_ts, now_ms, config.message_timestamp_difference_max_ms, h.base_offset)?;
        }
        let lat = config.message_timestamp_type == TimestampType::LogAppendTime;
        if lat {
            max_ts = now_ms;
            max_delta = h.last_offset_delta;
            rewrite = None;
        } else {
            check_timestamp(max_ts, now_ms, config.message_timestamp_difference_max_ms, h.base_offset)?;
        }
        v.num_messages += h.records_count as i64;
        v.total_size += size;
        v.batches.push(BatchPlan {
            pos,
            size,
            header: h,
            max_timestamp: max_ts,
            offset_delta_of_max_timestamp: max_delta,
            rewrite_max_timestamp: rewrite,
            set_log_append_time: lat,
        });
    }
    if v.total_size > config.segment_bytes.max(0) as usize {
        return Err(StorageError::RecordListTooLarge { size: v.total_size, max: config.segment_bytes });
    }
    Ok(v)
}

/// Builds the header to write for `plan`: new base offset and leader epoch, and if needed the
/// LogAppendTime bit / max timestamp with a CRC recomputed over header + unchanged body.
pub(crate) fn rewrite_header(records: &[u8], plan: &BatchPlan, base_offset: i64, leader_epoch: i32, now_ms: i64) -> [u8; HEADER_SIZE] {
    let mut hdr = [0u8; HEADER_SIZE];
    hdr.copy_from_slice(&records[plan.pos..plan.pos + HEADER_SIZE]);
    record_batch::set_base_offset(&mut hdr, base_offset);
    record_batch::set_partition_leader_epoch(&mut hdr, leader_epoch);
    let new_ts = if plan.set_log_append_time { Some(now_ms) } else { plan.rewrite_max_timestamp };
    if let Some(ts) = new_ts {
        if plan.set_log_append_time {
            let attrs = i16::from_be_bytes([hdr[21], hdr[22]]) | record_batch::TIMESTAMP_TYPE_MASK;
            hdr[21..23].copy_from_slice(&attrs.to_be_bytes());
        }
        hdr[record_batch::MAX_TIMESTAMP_OFFSET..record_batch::MAX_TIMESTAMP_OFFSET + 8].copy_from_slice(&ts.to_be_bytes());
        let body = &records[plan.pos + HEADER_SIZE..plan.pos + plan.size];
        let crc = crc32c::crc32c_append(crc32c::crc32c(&hdr[record_batch::ATTRIBUTES_OFFSET..]), body);
        hdr[record_batch::CRC_OFFSET..record_batch::CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    }
    hdr
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch_builder::BatchBuilder;
    use crate::config::CleanupPolicy;

    #[test]
    fn leader_validation_errors() {
        let c = LogConfig::default();
        let now = 1_000_000;
        assert!(validate_for_leader(&BatchBuilder::new(now).records(3).build(), &c, now).is_ok());
        let ctl = BatchBuilder::new(now).control().build();
        assert!(matches!(validate_for_leader(&ctl, &c, now), Err(StorageError::InvalidRecord(_))));
        let big = BatchBuilder::new(now).value_size(2_000_000).build();
        assert!(matches!(validate_for_leader(&big, &c, now), Err(StorageError::MessageTooLarge { .. })));
        let c2 = LogConfig { segment_bytes: 100, ..LogConfig::default() };
        let b = BatchBuilder::new(now).records(5).build();
        assert!(matches!(validate_for_leader(&b, &c2, now), Err(StorageError::RecordListTooLarge { .. })));
        let c3 = LogConfig { message_timestamp_difference_max_ms: 10, ..LogConfig::default() };
        let old = BatchBuilder::new(now - 100).build();
        assert!(matches!(validate_for_leader(&old, &c3, now), Err(StorageError::InvalidTimestamp(_))));
        let c4 = LogConfig { cleanup_policy: CleanupPolicy::Compact, ..LogConfig::default() };
        let nk = BatchBuilder::new(now).null_keys().build();
        assert!(matches!(validate_for_leader(&nk, &c4, now), Err(StorageError::InvalidRecord(_))));
        let mut garbage = BatchBuilder::new(now).build();
        garbage.extend_from_slice(&[0, 0, 0]);
        assert!(matches!(validate_for_leader(&garbage, &c, now), Err(StorageError::CorruptRecord(_))));
        // Compressed batches are validated at header level only.
        let comp = BatchBuilder::new(now).records(2).compressed(1).build();
        assert!(validate_for_leader(&comp, &c, now).is_ok());
    }

    #[test]
    fn rewritten_header_keeps_crc_valid() {
        let b = BatchBuilder::new(5).records(2).build();
        let c = LogConfig { message_timestamp_type: TimestampType::LogAppendTime, ..LogConfig::default() };
        let v = validate_for_leader(&b, &c, 777).unwrap();
        let hdr = rewrite_header(&b, &v.batches[0], 42, 3, 777);
        let mut full = hdr.to_vec();
        full.extend_from_slice(&b[HEADER_SIZE..]);
        let h = record_batch::parse_header(&full).unwrap();
        assert!(record_batch::crc_is_valid(&full));
        assert_eq!((h.base_offset, h.partition_leader_epoch, h.max_timestamp), (42, 3, 777));
        assert!(h.is_log_append_time());
    }
}
