//! Building one Produce request for a leader from per-partition record lists, and reading
//! the per-partition outcome back. Each partition gets exactly one RecordBatch v2, as
//! Produce v3+ requires.

use bytes::{Bytes, BytesMut};
use wire::kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use wire::kafka_protocol::messages::{ApiKey, ProduceRequest, TopicName};
use wire::kafka_protocol::protocol::StrBytes;
use wire::kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use wire::{KafkaConnection, ResponseError};

use super::error::ClientToolError;

/// Lowest Produce version we send (first with RecordBatch v2).
pub const PRODUCE_MIN: i16 = 3;
/// Highest Produce version we send (Kafka 2.8's maximum).
pub const PRODUCE_MAX: i16 = 9;

/// A record waiting to be sent.
#[derive(Debug, Clone)]
pub struct PendingRecord {
    /// Record key (None = null key).
    pub key: Option<Bytes>,
    /// Record value (None = null value).
    pub value: Option<Bytes>,
    /// CreateTime in epoch milliseconds.
    pub timestamp: i64,
}

/// All records for one partition in one request.
#[derive(Debug, Clone)]
pub struct PartitionRecords {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Records in send order.
    pub records: Vec<PendingRecord>,
}

/// Encode `records` as one RecordBatch v2 (non-idempotent: producer id, epoch and base
/// sequence all -1).
pub fn encode_batch(
    records: &[PendingRecord],
    compression: Compression,
) -> Result<Bytes, ClientToolError> {
    let recs: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // offset - sequence must be constant for the encoder to keep one batch; this
            // makes the batch's base sequence -1 (no sequence), as non-idempotent Kafka
            // producers write.
            sequence: i as i32 - 1,
            timestamp: r.timestamp,
            key: r.key.clone(),
            value: r.value.clone(),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let opts = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode_with_custom_compression(
        &mut buf,
        &recs,
        &opts,
        Some(wire::compression::compress),
    )
    .map_err(|e| ClientToolError::Other(format!("failed to encode record batch: {e}")))?;
    Ok(buf.freeze())
}

/// Send one Produce request carrying `parts` to `conn` and return the outcome for each
/// entry of `parts`, in order (`Ok(base_offset)` or the error). With `acks == 0` no
/// response is read and every entry succeeds with offset -1.
pub async fn produce(
    conn: &mut KafkaConnection,
    parts: &[PartitionRecords],
    acks: i16,
    timeout_ms: i32,
    compression: Compression,
) -> Result<Vec<Result<i64, ResponseError>>, ClientToolError> {
    let version = conn.require_version(ApiKey::Produce as i16, PRODUCE_MIN, PRODUCE_MAX)?;
    let mut topic_data: Vec<TopicProduceData> = Vec::new();
    for p in parts {
        let batch = encode_batch(&p.records, compression)?;
        let data = PartitionProduceData::default()
            .with_index(p.partition)
            .with_records(Some(batch));
        match topic_data.iter_mut().find(|t| t.name.0.as_str() == p.topic) {
            Some(t) => t.partition_data.push(data),
            None => topic_data.push(
                TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_string(p.topic.clone())))
                    .with_partition_data(vec![data]),
            ),
        }
    }
    let req = ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(timeout_ms)
        .with_topic_data(topic_data);
    if acks == 0 {
        conn.send_no_response(&req, version).await?;
        return Ok(parts.iter().map(|_| Ok(-1)).collect());
    }
    let resp = conn.send(&req, version).await?;
    let outcome = parts
        .iter()
        .map(|p| {
            let found = resp
                .responses
                .iter()
                .filter(|t| t.name.0.as_str() == p.topic)
                .flat_map(|t| t.partition_responses.iter())
                .find(|r| r.index == p.partition);
            match found {
                Some(r) => match ResponseError::try_from_code(r.error_code) {
                    None => Ok(r.base_offset),
                    Some(e) => Err(e),
                },
                None => Err(ResponseError::UnknownServerError),
            }
        })
        .collect();
    Ok(outcome)
}

/// Rough serialized size of a record inside a batch, for batch-size accounting and the
/// `max.request.size` check (varint overheads bounded generously).
pub fn estimate_record_size(key: Option<&Bytes>, value: Option<&Bytes>) -> usize {
    21 + key.map(|k| k.len()).unwrap_or(0) + value.map(|v| v.len()).unwrap_or(0)
}

/// Size of a RecordBatch v2 header.
pub const BATCH_OVERHEAD: usize = 61;

#[cfg(test)]
mod tests {
    use super::*;
    use wire::kafka_protocol::records::RecordBatchDecoder;

    #[test]
    fn one_batch_per_partition_with_no_sequence() {
        let recs: Vec<PendingRecord> = (0..10)
            .map(|i| PendingRecord {
                key: (i % 2 == 0).then(|| Bytes::from(format!("k{i}"))),
                value: Some(Bytes::from(format!("v{i}"))),
                timestamp: 1000 + i,
            })
            .collect();
        for c in [Compression::None, Compression::Gzip, Compression::Snappy] {
            let mut b = encode_batch(&recs, c).unwrap();
            assert_eq!(&b[53..57], &(-1i32).to_be_bytes());
            let set = RecordBatchDecoder::decode_with_custom_compression(
                &mut b,
                Some(wire::compression::decompress),
            )
            .unwrap();
            assert!(b.is_empty());
            assert_eq!(set.records.len(), 10);
            assert_eq!(set.records[9].timestamp, 1009);
            assert_eq!(set.records[1].key, None);
            assert_eq!(set.records[2].key.as_deref(), Some(&b"k2"[..]));
        }
    }
}
