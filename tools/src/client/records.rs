//! Turning a partition's fetched record bytes into consumer records: split into batches,
//! drop a partial trailing batch (the broker sends whole segment slices), skip records
//! before the fetch offset, hide control batches and, for read_committed, aborted
//! transactional batches.

use std::collections::HashSet;

use bytes::{Buf, Bytes};
use wire::kafka_protocol::records::{RecordBatchDecoder, TimestampType};

/// How a record's timestamp is to be read (Kafka's `TimestampType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsType {
    /// Magic 0 records carry no timestamp.
    NoTimestamp,
    /// Set by the producer.
    CreateTime,
    /// Set by the broker on append.
    LogAppendTime,
}

impl TsType {
    /// The name Kafka prints (`CreateTime`, `LogAppendTime`).
    pub fn name(self) -> &'static str {
        match self {
            TsType::NoTimestamp => "NoTimestampType",
            TsType::CreateTime => "CreateTime",
            TsType::LogAppendTime => "LogAppendTime",
        }
    }
}

/// One record as handed to the formatter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// Partition the record came from.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Timestamp (meaning per `timestamp_type`).
    pub timestamp: i64,
    /// Timestamp type.
    pub timestamp_type: TsType,
    /// Key (None = null).
    pub key: Option<Bytes>,
    /// Value (None = null).
    pub value: Option<Bytes>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// Result of decoding one partition's records.
#[derive(Debug, Default)]
pub struct DecodedRecords {
    /// Records at or after the fetch offset.
    pub records: Vec<ConsumedRecord>,
    /// Where the next fetch should start, if any complete batch was seen.
    pub next_offset: Option<i64>,
}

/// An aborted transaction range from a read_committed Fetch response.
#[derive(Debug, Clone, Copy)]
pub struct AbortedTxn {
    /// Producer id of the aborted transaction.
    pub producer_id: i64,
    /// First offset of the aborted transaction.
    pub first_offset: i64,
}

/// Error decoding fetched records.
#[derive(Debug, thiserror::Error)]
#[error("corrupt record batch at offset {offset}: {message}")]
pub struct RecordsError {
    /// Base offset of the failing batch.
    pub offset: i64,
    /// What was wrong.
    pub message: String,
}

const CONTROL_ABORT: i16 = 0;

/// Decode the record bytes of one partition.
pub fn decode_records(
    data: Bytes,
    partition: i32,
    fetch_offset: i64,
    read_committed: bool,
    aborted: &[AbortedTxn],
) -> Result<DecodedRecords, RecordsError> {
    let mut out = DecodedRecords::default();
    let mut aborted: Vec<AbortedTxn> = aborted.to_vec();
    aborted.sort_by_key(|a| a.first_offset);
    let mut aborted = aborted.into_iter().peekable();
    let mut aborted_pids: HashSet<i64> = HashSet::new();
    let mut buf = data;
    while buf.len() >= 17 {
        let base_offset = i64::from_be_bytes(array(&buf[0..8]));
        let len = i32::from_be_bytes(array(&buf[8..12]));
        if len < 0 {
            return Err(RecordsError {
                offset: base_offset,
                message: format!("negative batch length {len}"),
            });
        }
        let total = 12 + len as usize;
        if buf.len() < total {
            break; // partial trailing batch
        }
        let batch = buf.split_to(total);
        let magic = batch[16];
        if magic == 2 {
            if total < 61 {
                return Err(RecordsError {
                    offset: base_offset,
                    message: "batch shorter than its header".to_string(),
                });
            }
            let attrs = i16::from_be_bytes(array(&batch[21..23]));
            let last_offset = base_offset + i32::from_be_bytes(array(&batch[23..27])) as i64;
            let max_ts = i64::from_be_bytes(array(&batch[35..43]));
            let producer_id = i64::from_be_bytes(array(&batch[43..51]));
            out.next_offset = Some(last_offset + 1);
            if last_offset < fetch_offset {
                continue;
            }
            let transactional = attrs & 0x10 != 0;
            let control = attrs & 0x20 != 0;
            let log_append = attrs & 0x08 != 0;
            if read_committed {
                while let Some(a) = aborted.next_if(|a| a.first_offset <= last_offset) {
                    aborted_pids.insert(a.producer_id);
                }
            }
            if control {
                if read_committed && control_type(&batch) == Some(CONTROL_ABORT) {
                    aborted_pids.remove(&producer_id);
                }
                continue;
            }
            if read_committed && transactional && aborted_pids.contains(&producer_id) {
                continue;
            }
            let set = decode_batch(batch, base_offset)?;
            for r in set {
                if r.offset < fetch_offset {
                    continue;
                }
                let (timestamp, timestamp_type) = if log_append {
                    (max_ts, TsType::LogAppendTime)
                } else {
                    (r.timestamp, TsType::CreateTime)
                };
                out.records.push(ConsumedRecord {
                    partition,
                    offset: r.offset,
                    timestamp,
                    timestamp_type,
                    key: r.key,
                    value: r.value,
                    headers: r
                        .headers
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                });
            }
        } else {
            let set = decode_batch(batch, base_offset)?;
            let mut last = base_offset;
            for r in set {
                last = last.max(r.offset);
                if r.offset < fetch_offset {
                    continue;
                }
                let timestamp_type = match (magic, r.timestamp_type) {
                    (0, _) => TsType::NoTimestamp,
                    (_, TimestampType::LogAppend) => TsType::LogAppendTime,
                    _ => TsType::CreateTime,
                };
                out.records.push(ConsumedRecord {
                    partition,
                    offset: r.offset,
                    timestamp: if magic == 0 { -1 } else { r.timestamp },
                    timestamp_type,
                    key: r.key,
                    value: r.value,
                    headers: Vec::new(),
                });
            }
            out.next_offset = Some(out.next_offset.unwrap_or(0).max(last + 1));
        }
    }
    Ok(out)
}

fn decode_batch(
    mut batch: Bytes,
    base_offset: i64,
) -> Result<Vec<wire::kafka_protocol::records::Record>, RecordsError> {
    RecordBatchDecoder::decode_with_custom_compression(
        &mut batch,
        Some(wire::compression::decompress),
    )
    .map(|set| set.records)
    .map_err(|e| RecordsError {
        offset: base_offset,
        message: e.to_string(),
    })
}

/// Control record type (0 abort, 1 commit) of a control batch, read from its key.
fn control_type(batch: &Bytes) -> Option<i16> {
    let records = decode_batch(batch.clone(), 0).ok()?;
    let key = records.first()?.key.clone()?;
    let mut k = key;
    if k.remaining() < 4 {
        return None;
    }
    let _version = k.get_i16();
    Some(k.get_i16())
}

fn array<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&s[..N]);
    a
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
