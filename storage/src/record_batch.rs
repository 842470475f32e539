//! Pure functions over the bytes of RecordBatch v2 (magic 2): header parsing, CRC-32C,
//! iteration over a buffer of batches, in-place stamping of offsets/epochs/timestamps and
//! validation of the record framing of uncompressed batches.
//!
//! Layout (big-endian, 61-byte header):
//! `baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 | crc u32 |
//!  attributes i16 | lastOffsetDelta i32 | baseTimestamp i64 | maxTimestamp i64 |
//!  producerId i64 | producerEpoch i16 | baseSequence i32 | recordsCount i32 | records...`
//! The CRC covers everything from `attributes` to the end of the batch.

use crate::error::StorageError;

/// Bytes before `batchLength`'s payload: baseOffset + batchLength.
pub const LOG_OVERHEAD: usize = 12;
/// Size of the fixed v2 header.
pub const HEADER_SIZE: usize = 61;
/// Offset of `baseOffset`.
pub const BASE_OFFSET_OFFSET: usize = 0;
/// Offset of `batchLength`.
pub const LENGTH_OFFSET: usize = 8;
/// Offset of `partitionLeaderEpoch`.
pub const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
/// Offset of `magic`.
pub const MAGIC_OFFSET: usize = 16;
/// Offset of `crc`.
pub const CRC_OFFSET: usize = 17;
/// Offset of `attributes` (start of the CRC-covered region).
pub const ATTRIBUTES_OFFSET: usize = 21;
/// Offset of `lastOffsetDelta`.
pub const LAST_OFFSET_DELTA_OFFSET: usize = 23;
/// Offset of `baseTimestamp`.
pub const BASE_TIMESTAMP_OFFSET: usize = 27;
/// Offset of `maxTimestamp`.
pub const MAX_TIMESTAMP_OFFSET: usize = 35;
/// Offset of `producerId`.
pub const PRODUCER_ID_OFFSET: usize = 43;
/// Offset of `producerEpoch`.
pub const PRODUCER_EPOCH_OFFSET: usize = 51;
/// Offset of `baseSequence`.
pub const BASE_SEQUENCE_OFFSET: usize = 53;
/// Offset of `recordsCount`.
pub const RECORDS_COUNT_OFFSET: usize = 57;

/// Attribute bits 0-2: compression codec.
pub const COMPRESSION_CODEC_MASK: i16 = 0x07;
/// Attribute bit 3: timestamp type (1 = LogAppendTime).
pub const TIMESTAMP_TYPE_MASK: i16 = 0x08;
/// Attribute bit 4: transactional batch.
pub const TRANSACTIONAL_FLAG_MASK: i16 = 0x10;
/// Attribute bit 5: control batch (transaction markers).
pub const CONTROL_FLAG_MASK: i16 = 0x20;

/// Every field of a v2 batch header, decoded. Used by the log to validate, index and
/// answer timestamp/epoch queries without touching the records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordBatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes following the length field (total size − 12).
    pub batch_length: i32,
    /// Leader epoch stamped by the leader (-1 unknown).
    pub partition_leader_epoch: i32,
    /// Format version; must be 2.
    pub magic: i8,
    /// CRC-32C of bytes from `attributes` to the end.
    pub crc: u32,
    /// Codec, timestamp type, transactional and control flags.
    pub attributes: i16,
    /// lastOffset − baseOffset.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest record timestamp (or append time with LogAppendTime).
    pub max_timestamp: i64,
    /// Idempotent producer id (-1 none).
    pub producer_id: i64,
    /// Producer epoch (-1 none).
    pub producer_epoch: i16,
    /// First sequence number (-1 none).
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub records_count: i32,
}

impl RecordBatchHeader {
    /// Total size of the batch in bytes (length field + 12).
    pub fn size_in_bytes(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }
    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }
    /// Offset following this batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }
    /// Compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn compression_codec(&self) -> i16 {
        self.attributes & COMPRESSION_CODEC_MASK
    }
    /// True for control (transaction marker) batches.
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_FLAG_MASK != 0
    }
    /// True for transactional batches.
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_FLAG_MASK != 0
    }
    /// True when the timestamp type bit says LogAppendTime.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_MASK != 0
    }
}

#[inline]
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}
#[inline]
fn be_i32(b: &[u8], at: usize) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(a)
}
#[inline]
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

/// Reads `baseOffset` and `batchLength` from the first 12 bytes (`None` if shorter).
pub fn peek_offset_and_length(buf: &[u8]) -> Option<(i64, i32)> {
    if buf.len() < LOG_OVERHEAD {
        return None;
    }
    Some((be_i64(buf, 0), be_i32(buf, LENGTH_OFFSET)))
}

/// Decodes the 61-byte header. Only checks that enough bytes are present; the magic,
/// length and CRC are checked by [`validate_batch_structure`].
pub fn parse_header(buf: &[u8]) -> Result<RecordBatchHeader, StorageError> {
    if buf.len() < HEADER_SIZE {
        return Err(StorageError::CorruptRecord(format!(
            "record batch header needs {HEADER_SIZE} bytes, only {} available",
            buf.len()
        )));
    }
    Ok(RecordBatchHeader {
        base_offset: be_i64(buf, BASE_OFFSET_OFFSET),
        batch_length: be_i32(buf, LENGTH_OFFSET),
        partition_leader_epoch: be_i32(buf, PARTITION_LEADER_EPOCH_OFFSET),
        magic: buf[MAGIC_OFFSET] as i8,
        crc: be_i32(buf, CRC_OFFSET) as u32,
        attributes: be_i16(buf, ATTRIBUTES_OFFSET),
        last_offset_delta: be_i32(buf, LAST_OFFSET_DELTA_OFFSET),
        base_timestamp: be_i64(buf, BASE_TIMESTAMP_OFFSET),
        max_timestamp: be_i64(buf, MAX_TIMESTAMP_OFFSET),
        producer_id: be_i64(buf, PRODUCER_ID_OFFSET),
        producer_epoch: be_i16(buf, PRODUCER_EPOCH_OFFSET),
        base_sequence: be_i32(buf, BASE_SEQUENCE_OFFSET),
        records_count: be_i32(buf, RECORDS_COUNT_OFFSET),
    })
}

/// CRC-32C over `batch[21..]` (attributes to end), the value the `crc` field must hold.
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[ATTRIBUTES_OFFSET.min(batch.len())..])
}

/// True when the stored CRC matches the batch contents.
pub fn crc_is_valid(batch: &[u8]) -> bool {
    batch.len() >= HEADER_SIZE && compute_crc(batch) == be_i32(batch, CRC_OFFSET) as u32
}

/// Recomputes the CRC and stores it (needed after changing attributes/timestamps).
pub fn update_crc(batch: &mut [u8]) {
    let crc = compute_crc(batch);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Rewrites `baseOffset` in place (not covered by the CRC).
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[BASE_OFFSET_OFFSET..BASE_OFFSET_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Rewrites `partitionLeaderEpoch` in place (not covered by the CRC).
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
    batch[PARTITION_LEADER_EPOCH_OFFSET..PARTITION_LEADER_EPOCH_OFFSET + 4].copy_from_slice(&epoch.to_be_bytes());
}

/// Sets the timestamp type to LogAppendTime and `maxTimestamp` to `now_ms`, then
/// recomputes the CRC (over the whole batch, so `batch` must be the complete batch).
pub fn set_log_append_time(batch: &mut [u8], now_ms: i64) {
    let attrs = be_i16(batch, ATTRIBUTES_OFFSET) | TIMESTAMP_TYPE_MASK;
    batch[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attrs.to_be_bytes());
    batch[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8].copy_from_slice(&now_ms.to_be_bytes());
    update_crc(batch);
}

/// Sets `maxTimestamp` (CreateTime) and recomputes the CRC.
pub fn set_max_timestamp(batch: &mut [u8], max_timestamp: i64) {
    batch[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8].copy_from_slice(&max_timestamp.to_be_bytes());
    update_crc(batch);
}

/// Checks what can be checked from the header and the byte count: minimum length,
/// length fits in `buf`, magic 2 and CRC. Returns the header and the batch size.
pub fn validate_batch_structure(buf: &[u8]) -> Result<(RecordBatchHeader, usize), StorageError> {
    let (_, len) = peek_offset_and_length(buf)
        .ok_or_else(|| StorageError::CorruptRecord(format!("{} trailing bytes are not a record batch", buf.len())))?;
    if buf.len() > MAGIC_OFFSET {
        let magic = buf[MAGIC_OFFSET] as i8;
        if magic != 2 {
            return Err(StorageError::UnsupportedForMessageFormat(magic));
        }
    }
    if len < (HEADER_SIZE - LOG_OVERHEAD) as i32 {
        return Err(StorageError::CorruptRecord(format!("record batch length {len} is smaller than the v2 header")));
    }
    let size = len as usize + LOG_OVERHEAD;
    if size > buf.len() {
        return Err(StorageError::CorruptRecord(format!(
            "record batch of {size} bytes is truncated to {} bytes",
            buf.len()
        )));
    }
    let header = parse_header(buf)?;
    let batch = &buf[..size];
    if !crc_is_valid(batch) {
        return Err(StorageError::CorruptRecord(format!(
            "record batch at offset {} is corrupt (stored crc = {}, computed crc = {})",
            header.base_offset,
            header.crc,
            compute_crc(batch)
        )));
    }
    if header.last_offset_delta < 0 {
        return Err(StorageError::InvalidRecord(format!("negative lastOffsetDelta {}", header.last_offset_delta)));
    }
    Ok((header, size))
}

/// Iterates over the complete batches of a buffer, yielding `(position, header)`; stops at
/// the first incomplete or unparsable batch (use [`validate_batch_structure`] for errors).
pub struct BatchIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> BatchIter<'a> {
    /// Starts iterating at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> BatchIter<'a> {
        BatchIter { buf, pos: 0 }
    }
}

impl Iterator for BatchIter<'_> {
    type Item = (usize, RecordBatchHeader);
    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.buf[self.pos..];
        let (_, len) = peek_offset_and_length(rest)?;
        if len < (HEADER_SIZE - LOG_OVERHEAD) as i32 || len as usize + LOG_OVERHEAD > rest.len() {
            return None;
        }
        let header = parse_header(rest).ok()?;
        let at = self.pos;
        self.pos += header.size_in_bytes();
        Some((at, header))
    }
}

/// Reads a zig-zag varint (i32) at `*pos`, advancing it.
pub fn read_varint(buf: &[u8], pos: &mut usize) -> Option<i32> {
    let v = read_varlong_raw(buf, pos, 5)?;
    Some(((v >> 1) as u32 as i32) ^ -((v & 1) as i32))
}

/// Reads a zig-zag varlong (i64) at `*pos`, advancing it.
pub fn read_varlong(buf: &[u8], pos: &mut usize) -> Option<i64> {
    let v = read_varlong_raw(buf, pos, 10)?;
    Some(((v >> 1) as i64) ^ -((v & 1) as i64))
}

fn read_varlong_raw(buf: &[u8], pos: &mut usize, max_bytes: usize) -> Option<u64> {
    let mut value: u64 = 0;
    for i in 0..max_bytes {
        let b = *buf.get(*pos)?;
        *pos += 1;
        value |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Appends a zig-zag varint.
pub fn write_varint(out: &mut Vec<u8>, v: i32) {
    write_varlong(out, v as i64)
}

/// Appends a zig-zag varlong.
pub fn write_varlong(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// What a walk over the records of an uncompressed batch learned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordsSummary {
    /// Largest record timestamp (`baseTimestamp + delta`), -1 if no records.
    pub max_timestamp: i64,
    /// Offset delta of the first record carrying `max_timestamp`.
    pub offset_delta_of_max_timestamp: i32,
    /// Smallest record timestamp, -1 if no records.
    pub min_timestamp: i64,
    /// True if some record has a null key (rejected for compacted topics).
    pub has_null_key: bool,
}

/// `CorruptRecord` naming the batch (by base offset) and what is wrong with it.
pub(crate) fn corrupt(base: i64, what: &str) -> StorageError {
    StorageError::CorruptRecord(format!("record batch at offset {base}: {what}"))
}

/// The framing every record of a v2 batch starts with. Read by [`read_record_prefix`], which
/// exists so the validating walk and the decoder frame records the same way.
pub(crate) struct RecordPrefix {
    /// Where the record ends in the batch (its length is checked to fit).
    pub end: usize,
    /// Added to the batch's base timestamp.
    pub timestamp_delta: i64,
    /// Added to the batch's base offset.
    pub offset_delta: i32,
}

/// Read the record at `*pos` of `batch` up to its key: length (must fit inside the batch),
/// attributes (skipped), timestamp and offset deltas. `*pos` is left at the key length; no read
/// goes past the record's end.
pub(crate) fn read_record_prefix(batch: &[u8], pos: &mut usize, base: i64) -> Result<RecordPrefix, StorageError> {
    let len = read_varint(batch, pos).ok_or_else(|| corrupt(base, "bad record length"))?;
    if len < 0 || *pos + len as usize > batch.len() {
        return Err(corrupt(base, "record length exceeds the batch"));
    }
    let end = *pos + len as usize;
    let rec = &batch[..end];
    *pos += 1; // attributes
    let timestamp_delta = read_varlong(rec, pos).ok_or_else(|| corrupt(base, "bad timestamp delta"))?;
    let offset_delta = read_varint(rec, pos).ok_or_else(|| corrupt(base, "bad offset delta"))?;
    Ok(RecordPrefix { end, timestamp_delta, offset_delta })
}

/// Walks the varint framing of every record of an **uncompressed** batch (no allocation):
/// each record's length must match its contents, offset deltas must be 0..count-1 and the
/// records must exactly fill the batch. Compressed batches cannot be walked without
/// decompressing and are not passed here.
pub fn walk_uncompressed_records(batch: &[u8], header: &RecordBatchHeader) -> Result<RecordsSummary, StorageError> {
    let base = header.base_offset;
    let mut pos = HEADER_SIZE;
    let mut summary = RecordsSummary { max_timestamp: -1, offset_delta_of_max_timestamp: 0, min_timestamp: -1, has_null_key: false };
    let count = header.records_count;
    if count < 0 {
        return Err(corrupt(base, "negative record count"));
    }
    for i in 0..count {
        let RecordPrefix { end, timestamp_delta: ts_delta, offset_delta: off_delta } =
            read_record_prefix(batch, &mut pos, base)?;
        let rec = &batch[..end];
        if off_delta != i {
            return Err(StorageError::InvalidRecord(format!(
                "record batch at offset {base}: record {i} has offset delta {off_delta}"
            )));
        }
        let key_len = read_varint(rec, &mut pos).ok_or_else(|| corrupt(base, "bad key length"))?;
        if key_len < -1 {
            return Err(corrupt(base, "invalid key length"));
        }
        if key_len < 0 {
            summary.has_null_key = true;
        } else {
            pos += key_len as usize;
        }
        let value_len = read_varint(rec, &mut pos).ok_or_else(|| corrupt(base, "bad value length"))?;
        if value_len < -1 {
            return Err(corrupt(base, "invalid value length"));
        }
        if value_len > 0 {
            pos += value_len as usize;
        }
        let headers = read_varint(rec, &mut pos).ok_or_else(|| corrupt(base, "bad header count"))?;
        if headers < 0 {
            return Err(corrupt(base, "negative header count"));
        }
        for _ in 0..headers {
            let hk = read_varint(rec, &mut pos).ok_or_else(|| corrupt(base, "bad header key length"))?;
            if hk < 0 {
                return Err(corrupt(base, "null header key"));
            }
            pos += hk as usize;
            let hv = read_varint(rec, &mut pos).ok_or_else(|| corrupt(base, "bad header value length"))?;
            if hv < -1 {
                return Err(corrupt(base, "invalid header value length"));
            }
            if hv > 0 {
                pos += hv as usize;
            }
        }
        if pos != end {
            return Err(corrupt(base, "record size does not match its contents"));
        }
        let ts = header.base_timestamp.wrapping_add(ts_delta);
        if i == 0 || ts > summary.max_timestamp {
            summary.max_timestamp = ts;
            summary.offset_delta_of_max_timestamp = i;
        }
        if i == 0 || ts < summary.min_timestamp {
            summary.min_timestamp = ts;
        }
    }
    if pos != batch.len() {
        return Err(corrupt(base, "records do not fill the batch"));
    }
    Ok(summary)
}

/// Finds, in an uncompressed batch, the first record whose timestamp is >= `ts`,
/// returning `(timestamp, offset)`. Used by ListOffsets-by-timestamp.
pub fn find_record_by_timestamp(batch: &[u8], header: &RecordBatchHeader, ts: i64) -> Option<(i64, i64)> {
    let mut pos = HEADER_SIZE;
    for _ in 0..header.records_count.max(0) {
        let len = read_varint(batch, &mut pos)?;
        let end = pos.checked_add(usize::try_from(len).ok()?)?;
        pos += 1;
        let ts_delta = read_varlong(batch, &mut pos)?;
        let off_delta = read_varint(batch, &mut pos)?;
        let rec_ts = header.base_timestamp.wrapping_add(ts_delta);
        if rec_ts >= ts {
            return Some((rec_ts, header.base_offset + off_delta as i64));
        }
        pos = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch_builder::BatchBuilder;

    #[test]
    fn varints_round_trip() {
        for v in [0i64, 1, -1, 63, -64, 64, 300, -300, i32::MAX as i64, i32::MIN as i64, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            write_varlong(&mut out, v);
            let mut p = 0;
            assert_eq!(read_varlong(&out, &mut p), Some(v));
            assert_eq!(p, out.len());
        }
        let mut out = Vec::new();
        write_varint(&mut out, -1);
        assert_eq!(out, vec![1]);
        let mut p = 0;
        assert_eq!(read_varint(&out, &mut p), Some(-1));
    }

    #[test]
    fn parse_and_crc_of_built_batch() {
        let b = BatchBuilder::new(1000).records(3).build();
        let (h, size) = validate_batch_structure(&b).unwrap();
        assert_eq!(size, b.len());
        assert_eq!(h.magic, 2);
        assert_eq!(h.records_count, 3);
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!(h.base_timestamp, 1000);
        assert_eq!(h.max_timestamp, 1002);
        assert_eq!(h.producer_id, -1);
        assert!(crc_is_valid(&b));
        let s = walk_uncompressed_records(&b, &h).unwrap();
        assert_eq!(s.max_timestamp, 1002);
        assert_eq!(s.offset_delta_of_max_timestamp, 2);
        assert!(!s.has_null_key);
    }

    #[test]
    fn crc_independent_of_offset_and_epoch() {
        let mut b = BatchBuilder::new(0).records(2).build();
        set_base_offset(&mut b, 12345);
        set_partition_leader_epoch(&mut b, 7);
        assert!(crc_is_valid(&b));
        let h = parse_header(&b).unwrap();
        assert_eq!((h.base_offset, h.partition_leader_epoch, h.last_offset()), (12345, 7, 12346));
        set_log_append_time(&mut b, 99);
        let h = parse_header(&b).unwrap();
        assert!(h.is_log_append_time());
        assert_eq!(h.max_timestamp, 99);
        assert!(crc_is_valid(&b));
    }

    #[test]
    fn detects_corruption() {
        let mut b = BatchBuilder::new(0).records(2).build();
        let last = b.len() - 1;
        b[last] ^= 0xff;
        assert!(matches!(validate_batch_structure(&b), Err(StorageError::CorruptRecord(_))));
        let b = BatchBuilder::new(0).records(2).build();
        assert!(matches!(validate_batch_structure(&b[..b.len() - 1]), Err(StorageError::CorruptRecord(_))));
        let mut b = BatchBuilder::new(0).records(2).build();
        b[MAGIC_OFFSET] = 1;
        assert!(matches!(validate_batch_structure(&b), Err(StorageError::UnsupportedForMessageFormat(1))));
    }

    #[test]
    fn walk_rejects_bad_framing() {
        // Claim 3 records but build only 2 (CRC fixed up so only the framing is wrong).
        let mut b = BatchBuilder::new(0).records(2).build();
        b[RECORDS_COUNT_OFFSET..RECORDS_COUNT_OFFSET + 4].copy_from_slice(&3i32.to_be_bytes());
        update_crc(&mut b);
        let h = parse_header(&b).unwrap();
        assert!(walk_uncompressed_records(&b, &h).is_err());
    }

    #[test]
    fn iterates_batches() {
        let mut buf = BatchBuilder::new(0).records(1).build();
        let second = BatchBuilder::new(0).records(4).base_offset(1).build();
        buf.extend_from_slice(&second);
        buf.extend_from_slice(&[1, 2, 3]);
        let v: Vec<_> = BatchIter::new(&buf).map(|(p, h)| (p, h.base_offset, h.records_count)).collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].1, 1);
        assert_eq!(v[1].2, 4);
    }

    #[test]
    fn finds_record_by_timestamp() {
        let b = BatchBuilder::new(100).records(5).base_offset(10).build();
        let h = parse_header(&b).unwrap();
        assert_eq!(find_record_by_timestamp(&b, &h, 102), Some((102, 12)));
        assert_eq!(find_record_by_timestamp(&b, &h, 50), Some((100, 10)));
        assert_eq!(find_record_by_timestamp(&b, &h, 105), None);
    }
}
