//! Pure functions over one uncompressed v2 batch for the cleaner: reading its records' keys and
//! offsets, and rebuilding the batch with only the retained records (Kafka's
//! `MemoryRecords.filterTo`). A rebuilt batch keeps baseOffset, partitionLeaderEpoch,
//! attributes and the producer fields of the original; every kept record keeps its offset
//! delta, so its offset is unchanged.

use crate::error::StorageError;
use crate::record_batch::{
    self, read_varint, read_varlong, update_crc, write_varint, write_varlong, RecordBatchHeader, HEADER_SIZE, LOG_OVERHEAD,
};

/// One record of an uncompressed batch, borrowed from the batch bytes.
#[derive(Clone, Copy, Debug)]
pub struct RecordView<'a> {
    /// Absolute offset (baseOffset + offsetDelta).
    pub offset: i64,
    /// Offset delta within the batch.
    pub offset_delta: i32,
    /// Record timestamp (baseTimestamp + delta; the batch max timestamp for LogAppendTime).
    pub timestamp: i64,
    /// The key, `None` for a null key.
    pub key: Option<&'a [u8]>,
    /// False for a tombstone (null value).
    pub has_value: bool,
    /// The record's bytes after its offset delta (key, value, headers), copied as is.
    pub tail: &'a [u8],
    /// The record's attributes byte (unused by Kafka, kept).
    pub attributes: u8,
}

fn corrupt(base: i64, what: &str) -> StorageError {
    StorageError::CorruptRecord(format!("record batch at offset {base} during cleaning: {what}"))
}

/// Decodes every record of an uncompressed batch (`batch` is the whole batch).
pub fn read_records<'a>(batch: &'a [u8], h: &RecordBatchHeader) -> Result<Vec<RecordView<'a>>, StorageError> {
    let base = h.base_offset;
    let mut out = Vec::with_capacity(h.records_count.max(0) as usize);
    let mut pos = HEADER_SIZE;
    for _ in 0..h.records_count.max(0) {
        let len = read_varint(batch, &mut pos).ok_or_else(|| corrupt(base, "bad record length"))?;
        let end = usize::try_from(len).ok().and_then(|l| pos.checked_add(l)).filter(|&e| e <= batch.len());
        let end = end.ok_or_else(|| corrupt(base, "record length exceeds the batch"))?;
        let rec = &batch[..end];
        let attributes = *rec.get(pos).ok_or_else(|| corrupt(base, "missing attributes"))?;
        pos += 1;
        let ts_delta = read_varlong(rec, &mut pos).ok_or_else(|| corrupt(base, "bad timestamp delta"))?;
        let offset_delta = read_varint(rec, &mut pos).ok_or_else(|| corrupt(base, "bad offset delta"))?;
        let tail_start = pos;
        let key_len = read_varint(rec, &mut pos).ok_or_else(|| corrupt(base, "bad key length"))?;
        let key = if key_len < 0 {
            None
        } else {
            let k = rec.get(pos..pos + key_len as usize).ok_or_else(|| corrupt(base, "key exceeds the record"))?;
            pos += key_len as usize;
            Some(k)
        };
        let value_len = read_varint(rec, &mut pos).ok_or_else(|| corrupt(base, "bad value length"))?;
        let timestamp = if h.is_log_append_time() { h.max_timestamp } else { h.base_timestamp.wrapping_add(ts_delta) };
        out.push(RecordView {
            offset: base + offset_delta as i64,
            offset_delta,
            timestamp,
            key,
            has_value: value_len >= 0,
            tail: &rec[tail_start..end],
            attributes,
        });
        pos = end;
    }
    Ok(out)
}

/// Builds a batch holding `kept` (records of the batch whose header is `h`, in order, at least
/// one) with Kafka's rules: same baseOffset, epoch, attributes and producer fields;
/// lastOffsetDelta of the last kept record; baseTimestamp of the first kept record and
/// maxTimestamp of the kept ones (CreateTime) or the original append time (LogAppendTime).
pub fn rebuild_batch(original: &[u8], h: &RecordBatchHeader, kept: &[RecordView<'_>]) -> Vec<u8> {
    let base_ts = kept.first().map_or(h.base_timestamp, |r| r.timestamp);
    let max_ts = if h.is_log_append_time() { h.max_timestamp } else { kept.iter().map(|r| r.timestamp).max().unwrap_or(-1) };
    let mut out = Vec::with_capacity(HEADER_SIZE + kept.iter().map(|r| r.tail.len() + 16).sum::<usize>());
    out.extend_from_slice(&original[..HEADER_SIZE]);
    let mut body = Vec::with_capacity(64);
    for r in kept {
        body.clear();
        body.push(r.attributes);
        write_varlong(&mut body, r.timestamp - base_ts);
        write_varint(&mut body, r.offset_delta);
        body.extend_from_slice(r.tail);
        write_varint(&mut out, body.len() as i32);
        out.extend_from_slice(&body);
    }
    let last_delta = kept.last().map_or(h.last_offset_delta, |r| r.offset_delta);
    let len = (out.len() - LOG_OVERHEAD) as i32;
    out[record_batch::LENGTH_OFFSET..record_batch::LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
    out[record_batch::LAST_OFFSET_DELTA_OFFSET..record_batch::LAST_OFFSET_DELTA_OFFSET + 4].copy_from_slice(&last_delta.to_be_bytes());
    out[record_batch::BASE_TIMESTAMP_OFFSET..record_batch::BASE_TIMESTAMP_OFFSET + 8].copy_from_slice(&base_ts.to_be_bytes());
    out[record_batch::MAX_TIMESTAMP_OFFSET..record_batch::MAX_TIMESTAMP_OFFSET + 8].copy_from_slice(&max_ts.to_be_bytes());
    out[record_batch::RECORDS_COUNT_OFFSET..record_batch::RECORDS_COUNT_OFFSET + 4].copy_from_slice(&(kept.len() as i32).to_be_bytes());
    update_crc(&mut out);
    out
}

/// The header-only batch that stands for a batch whose records were all removed when it is
/// the last batch of its producer (Kafka's `writeEmptyHeader`): same baseOffset, lastOffsetDelta,
/// epoch, producer fields and flags, no records, no compression, both timestamps = the original
/// maxTimestamp. It keeps the producer's last sequence in the log.
pub fn empty_batch(original: &[u8], h: &RecordBatchHeader) -> Vec<u8> {
    let mut out = original[..HEADER_SIZE].to_vec();
    let len = (HEADER_SIZE - LOG_OVERHEAD) as i32;
    out[record_batch::LENGTH_OFFSET..record_batch::LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
    let attrs = h.attributes & !record_batch::COMPRESSION_CODEC_MASK;
    out[record_batch::ATTRIBUTES_OFFSET..record_batch::ATTRIBUTES_OFFSET + 2].copy_from_slice(&attrs.to_be_bytes());
    out[record_batch::BASE_TIMESTAMP_OFFSET..record_batch::BASE_TIMESTAMP_OFFSET + 8].copy_from_slice(&h.max_timestamp.to_be_bytes());
    out[record_batch::RECORDS_COUNT_OFFSET..record_batch::RECORDS_COUNT_OFFSET + 4].copy_from_slice(&0i32.to_be_bytes());
    update_crc(&mut out);
    out
}

/// Compression codecs for the cleaner. The storage crate has none of its own; the broker passes
/// one so compressed batches can be filtered instead of kept whole.
pub trait RecordsCodec: Send + Sync {
    /// Decompresses the records section of a batch whose codec id is `codec` (1 gzip, 2 snappy,
    /// 3 lz4, 4 zstd).
    fn decompress(&self, codec: i16, data: &[u8]) -> Result<Vec<u8>, String>;
    /// Compresses encoded records with codec `codec`, in the framing Kafka's Java client uses.
    fn compress(&self, codec: i16, raw: &[u8]) -> Result<Vec<u8>, String>;
}

/// The batch with its records section decompressed (header unchanged, so the length and CRC
/// fields are stale): what [`read_records`] and [`rebuild_batch`] work on.
pub fn decompress_batch(batch: &[u8], h: &RecordBatchHeader, codec: &dyn RecordsCodec) -> Result<Vec<u8>, StorageError> {
    let raw = codec
        .decompress(h.compression_codec(), &batch[HEADER_SIZE..])
        .map_err(|e| corrupt(h.base_offset, &format!("cannot decompress codec {}: {e}", h.compression_codec())))?;
    let mut out = Vec::with_capacity(HEADER_SIZE + raw.len());
    out.extend_from_slice(&batch[..HEADER_SIZE]);
    out.extend_from_slice(&raw);
    Ok(out)
}

/// Compresses the records section of a rebuilt (still uncompressed) batch with the codec of its
/// attributes and fixes the length and CRC.
pub fn recompress_batch(plain: &[u8], h: &RecordBatchHeader, codec: &dyn RecordsCodec) -> Result<Vec<u8>, StorageError> {
    let body = codec
        .compress(h.compression_codec(), &plain[HEADER_SIZE..])
        .map_err(|e| corrupt(h.base_offset, &format!("cannot compress codec {}: {e}", h.compression_codec())))?;
    let mut out = Vec::with_capacity(HEADER_SIZE + body.len());
    out.extend_from_slice(&plain[..HEADER_SIZE]);
    out.extend_from_slice(&body);
    let len = (out.len() - LOG_OVERHEAD) as i32;
    out[record_batch::LENGTH_OFFSET..record_batch::LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
    update_crc(&mut out);
    Ok(out)
}

/// What the cleaner does with one batch.
#[derive(Debug, PartialEq, Eq)]
pub enum FilteredBatch {
    /// Every record stays (or the batch cannot be looked into): copy the original bytes.
    KeepWhole,
    /// Some records stay: write these bytes instead.
    Rebuilt(Vec<u8>),
    /// No record stays: drop the batch.
    Drop,
}

/// Applies `retain` to every record of an uncompressed data batch. Compressed, control and
/// transactional batches are kept whole by the caller before getting here.
pub fn filter_batch(batch: &[u8], h: &RecordBatchHeader, mut retain: impl FnMut(&RecordView<'_>) -> bool) -> Result<(FilteredBatch, usize), StorageError> {
    let records = read_records(batch, h)?;
    let kept: Vec<RecordView<'_>> = records.iter().copied().filter(|r| retain(r)).collect();
    let n = kept.len();
    Ok(if n == records.len() {
        (FilteredBatch::KeepWhole, n)
    } else if kept.is_empty() {
        (FilteredBatch::Drop, 0)
    } else {
        (FilteredBatch::Rebuilt(rebuild_batch(batch, h, &kept)), n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch_builder::BatchBuilder;
    use crate::record_batch::{parse_header, validate_batch_structure};

    #[test]
    fn rebuild_keeps_offsets_and_producer_fields() {
        let b = BatchBuilder::new(1000).records(5).base_offset(40).leader_epoch(3).producer(77, 2, 10).build();
        let h = parse_header(&b).unwrap();
        let (out, n) = filter_batch(&b, &h, |r| r.offset == 41 || r.offset == 43).unwrap();
        assert_eq!(n, 2);
        let FilteredBatch::Rebuilt(nb) = out else { panic!("expected a rebuilt batch") };
        let (nh, size) = validate_batch_structure(&nb).unwrap();
        assert_eq!(size, nb.len());
        assert_eq!((nh.base_offset, nh.partition_leader_epoch, nh.producer_id, nh.producer_epoch, nh.base_sequence), (40, 3, 77, 2, 10));
        assert_eq!((nh.records_count, nh.last_offset_delta), (2, 3));
        assert_eq!((nh.base_timestamp, nh.max_timestamp), (1001, 1003));
        let recs = read_records(&nb, &nh).unwrap();
        assert_eq!(recs.iter().map(|r| (r.offset, r.timestamp, r.key)).collect::<Vec<_>>(), vec![
            (41, 1001, Some(&b"key-1"[..])),
            (43, 1003, Some(&b"key-3"[..]))
        ]);
    }

    #[test]
    fn empty_batch_keeps_producer_state_fields() {
        let b = BatchBuilder::new(500).records(4).base_offset(8).leader_epoch(2).producer(9, 1, 30).build();
        let h = parse_header(&b).unwrap();
        let e = empty_batch(&b, &h);
        let (eh, size) = validate_batch_structure(&e).unwrap();
        assert_eq!(size, HEADER_SIZE);
        assert_eq!((eh.base_offset, eh.last_offset(), eh.records_count), (8, 11, 0));
        assert_eq!((eh.producer_id, eh.producer_epoch, eh.base_sequence, eh.partition_leader_epoch), (9, 1, 30, 2));
        assert_eq!((eh.base_timestamp, eh.max_timestamp), (503, 503));
    }

    /// A reversible toy codec (bytes reversed) standing in for the broker's real ones.
    struct Reverse;
    impl RecordsCodec for Reverse {
        fn decompress(&self, _codec: i16, data: &[u8]) -> Result<Vec<u8>, String> {
            Ok(data.iter().rev().copied().collect())
        }
        fn compress(&self, _codec: i16, raw: &[u8]) -> Result<Vec<u8>, String> {
            Ok(raw.iter().rev().copied().collect())
        }
    }

    #[test]
    fn compressed_batch_round_trip() {
        let plain = BatchBuilder::new(100).records(4).base_offset(20).build();
        let h = parse_header(&plain).unwrap();
        // "Compress" it: codec bits 4 and reversed records.
        let mut attrs = plain.clone();
        attrs[record_batch::ATTRIBUTES_OFFSET + 1] |= 4;
        let hc = parse_header(&attrs).unwrap();
        let packed = recompress_batch(&attrs, &hc, &Reverse).unwrap();
        assert!(validate_batch_structure(&packed).is_ok());
        let unpacked = decompress_batch(&packed, &hc, &Reverse).unwrap();
        assert_eq!(&unpacked[HEADER_SIZE..], &plain[HEADER_SIZE..]);
        let (out, n) = filter_batch(&unpacked, &hc, |r| r.offset != 21).unwrap();
        let FilteredBatch::Rebuilt(nb) = out else { panic!("expected a rebuilt batch") };
        let repacked = recompress_batch(&nb, &hc, &Reverse).unwrap();
        let (rh, _) = validate_batch_structure(&repacked).unwrap();
        assert_eq!((n, rh.compression_codec(), rh.records_count, rh.base_offset), (3, 4, 3, 20));
        let keys: Vec<_> = read_records(&decompress_batch(&repacked, &rh, &Reverse).unwrap(), &rh).unwrap().iter().map(|r| r.offset).collect();
        assert_eq!(keys, vec![20, 22, 23]);
        assert_eq!(h.records_count, 4);
    }

    #[test]
    fn all_or_nothing() {
        let b = BatchBuilder::new(0).records(3).build();
        let h = parse_header(&b).unwrap();
        assert_eq!(filter_batch(&b, &h, |_| true).unwrap(), (FilteredBatch::KeepWhole, 3));
        assert_eq!(filter_batch(&b, &h, |_| false).unwrap(), (FilteredBatch::Drop, 0));
        let nk = BatchBuilder::new(0).records(2).null_keys().build();
        let hk = parse_header(&nk).unwrap();
        let recs = read_records(&nk, &hk).unwrap();
        assert!(recs.iter().all(|r| r.key.is_none() && r.has_value));
    }
}
