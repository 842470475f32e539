//! Records as values, not bytes: building an uncompressed v2 batch from key/value records, and
//! reading the records of an uncompressed batch back (Kafka's `MemoryRecords.withRecords` and
//! `RecordBatch.iterator`). Used by internal writers and readers such as the group coordinator,
//! which append and load `__consumer_offsets` without a client.

use crate::error::StorageError;
use crate::record_batch::{
    corrupt, read_record_prefix, read_varint, update_crc, write_varint, write_varlong, BatchIter, RecordBatchHeader,
    RecordPrefix, HEADER_SIZE, LOG_OVERHEAD,
};

/// One record to write: key and value may each be null (a null value is a tombstone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimpleRecord {
    /// Record key.
    pub key: Option<Vec<u8>>,
    /// Record value; `None` is a tombstone.
    pub value: Option<Vec<u8>>,
}

/// One record read back from a batch, with its absolute offset and timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedRecord {
    /// Absolute offset (`baseOffset + offsetDelta`).
    pub offset: i64,
    /// Record timestamp (`baseTimestamp + timestampDelta`).
    pub timestamp: i64,
    /// Record key.
    pub key: Option<Vec<u8>>,
    /// Record value.
    pub value: Option<Vec<u8>>,
}

/// Builds one uncompressed v2 batch (no producer id, CreateTime = `timestamp` for every record)
/// with base offset 0; the log assigns the real offsets on append.
pub fn build_batch(records: &[SimpleRecord], timestamp: i64) -> Vec<u8> {
    let mut out = vec![0u8; HEADER_SIZE];
    let mut rec = Vec::new();
    for (i, r) in records.iter().enumerate() {
        rec.clear();
        rec.push(0u8);
        write_varlong(&mut rec, 0);
        write_varint(&mut rec, i as i32);
        for field in [&r.key, &r.value] {
            match field {
                Some(b) => {
                    write_varint(&mut rec, b.len() as i32);
                    rec.extend_from_slice(b);
                }
                None => write_varint(&mut rec, -1),
            }
        }
        write_varint(&mut rec, 0);
        write_varint(&mut out, rec.len() as i32);
        out.extend_from_slice(&rec);
    }
    let len = (out.len() - LOG_OVERHEAD) as i32;
    out[8..12].copy_from_slice(&len.to_be_bytes());
    out[12..16].copy_from_slice(&(-1i32).to_be_bytes());
    out[16] = 2;
    out[23..27].copy_from_slice(&((records.len() as i32) - 1).max(0).to_be_bytes());
    out[27..35].copy_from_slice(&timestamp.to_be_bytes());
    out[35..43].copy_from_slice(&timestamp.to_be_bytes());
    out[43..51].copy_from_slice(&(-1i64).to_be_bytes());
    out[51..53].copy_from_slice(&(-1i16).to_be_bytes());
    out[53..57].copy_from_slice(&(-1i32).to_be_bytes());
    out[57..61].copy_from_slice(&(records.len() as i32).to_be_bytes());
    update_crc(&mut out);
    out
}

fn read_nullable(rec: &[u8], pos: &mut usize, base: i64, what: &str) -> Result<Option<Vec<u8>>, StorageError> {
    let len = read_varint(rec, pos).ok_or_else(|| corrupt(base, what))?;
    if len < 0 {
        return Ok(None);
    }
    let end = *pos + len as usize;
    let bytes = rec.get(*pos..end).ok_or_else(|| corrupt(base, what))?.to_vec();
    *pos = end;
    Ok(Some(bytes))
}

/// The records of one **uncompressed** batch (`batch` = the whole batch including its header).
/// Headers are skipped. Compressed batches are refused with `CorruptRecord`: storage has no codecs.
pub fn decode_records(batch: &[u8], header: &RecordBatchHeader) -> Result<Vec<DecodedRecord>, StorageError> {
    let base = header.base_offset;
    if header.compression_codec() != 0 {
        return Err(corrupt(base, "compressed batches cannot be decoded here"));
    }
    let mut out = Vec::with_capacity(header.records_count.max(0) as usize);
    let mut pos = HEADER_SIZE;
    for _ in 0..header.records_count.max(0) {
        let RecordPrefix { end, timestamp_delta: ts_delta, offset_delta: off_delta } =
            read_record_prefix(batch, &mut pos, base)?;
        let rec = &batch[..end];
        let key = read_nullable(rec, &mut pos, base, "bad key")?;
        let value = read_nullable(rec, &mut pos, base, "bad value")?;
        out.push(DecodedRecord {
            offset: base + off_delta as i64,
            timestamp: header.base_timestamp.wrapping_add(ts_delta),
            key,
            value,
        });
        pos = end;
    }
    Ok(out)
}

/// Every record of every complete batch in `buf` (e.g. the bytes of a log read), in order.
/// Control batches are skipped; a compressed batch is an error.
pub fn decode_all(buf: &[u8]) -> Result<Vec<DecodedRecord>, StorageError> {
    let mut out = Vec::new();
    for (at, header) in BatchIter::new(buf) {
        if header.is_control() {
            continue;
        }
        out.extend(decode_records(&buf[at..at + header.size_in_bytes()], &header)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record_batch::{crc_is_valid, parse_header, validate_batch_structure};

    #[test]
    fn round_trip_keys_values_and_tombstones() {
        let records = vec![
            SimpleRecord { key: Some(b"k1".to_vec()), value: Some(b"v1".to_vec()) },
            SimpleRecord { key: Some(b"k2".to_vec()), value: None },
            SimpleRecord { key: None, value: Some(Vec::new()) },
        ];
        let mut batch = build_batch(&records, 1234);
        assert!(crc_is_valid(&batch));
        let (header, _) = validate_batch_structure(&batch).expect("valid batch");
        assert_eq!(header.records_count, 3);
        batch[0..8].copy_from_slice(&40i64.to_be_bytes());
        let decoded = decode_all(&batch).expect("decodes");
        assert_eq!(decoded.len(), 3);
        assert_eq!(decoded[0].offset, 40);
        assert_eq!(decoded[2].offset, 42);
        assert_eq!(decoded[1].value, None);
        assert_eq!(decoded[1].key.as_deref(), Some(&b"k2"[..]));
        assert_eq!(decoded[2].key, None);
        assert_eq!(decoded[2].value, Some(Vec::new()));
        assert!(decoded.iter().all(|r| r.timestamp == 1234));
    }

    #[test]
    fn truncated_record_is_an_error_not_a_panic() {
        let batch = build_batch(&[SimpleRecord { key: Some(b"key".to_vec()), value: Some(b"value".to_vec()) }], 1);
        let header = parse_header(&batch).expect("header");
        let short = &batch[..batch.len() - 3];
        assert!(decode_records(short, &header).is_err());
    }
}
