//! Tests for fetched-records decoding.

use super::*;
use bytes::BytesMut;
use wire::kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

fn rec(offset: i64, value: &str, pid: i64, txn: bool, control: bool) -> Record {
    Record {
        transactional: txn,
        control,
        partition_leader_epoch: 0,
        producer_id: pid,
        producer_epoch: if pid >= 0 { 0 } else { -1 },
        timestamp_type: TimestampType::Creation,
        offset,
        sequence: if pid >= 0 { offset as i32 } else { offset as i32 - 1 },
        timestamp: 1000 + offset,
        key: None,
        value: Some(Bytes::from(value.to_string())),
        headers: Default::default(),
    }
}

fn encode(recs: &[Record], c: Compression) -> BytesMut {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode_with_custom_compression(
        &mut buf,
        recs,
        &RecordEncodeOptions {
            version: 2,
            compression: c,
        },
        Some(wire::compression::compress),
    )
    .unwrap();
    buf
}

fn control_record(offset: i64, pid: i64, kind: i16) -> Record {
    let mut r = rec(offset, "", pid, true, true);
    let mut key = BytesMut::new();
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&kind.to_be_bytes());
    r.key = Some(key.freeze());
    r.value = Some(Bytes::from_static(&[0, 0, 0, 0, 0, 0]));
    r
}

fn values(d: &DecodedRecords) -> Vec<String> {
    d.records
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or(b"null")).into_owned())
        .collect()
}

#[test]
fn partial_trailing_batch_is_dropped() {
    let mut data = encode(&[rec(0, "a", -1, false, false), rec(1, "b", -1, false, false)], Compression::Gzip);
    let second = encode(&[rec(2, "c", -1, false, false)], Compression::None);
    data.extend_from_slice(&second[..second.len() - 3]);
    let d = decode_records(data.freeze(), 3, 0, false, &[]).unwrap();
    assert_eq!(values(&d), ["a", "b"]);
    assert_eq!(d.next_offset, Some(2));
    assert_eq!(d.records[1].partition, 3);
    assert_eq!(d.records[1].offset, 1);
    assert_eq!(d.records[1].timestamp, 1001);
    assert_eq!(d.records[1].timestamp_type, TsType::CreateTime);
}

#[test]
fn skips_records_before_fetch_offset() {
    let recs: Vec<Record> = (0..5).map(|i| rec(10 + i, &format!("v{i}"), -1, false, false)).collect();
    let data = encode(&recs, Compression::Lz4);
    let d = decode_records(data.freeze(), 0, 13, false, &[]).unwrap();
    assert_eq!(values(&d), ["v3", "v4"]);
    assert_eq!(d.next_offset, Some(15));
}

#[test]
fn control_batches_hidden_and_aborted_filtered() {
    let mut data = BytesMut::new();
    // pid 7: aborted txn at 0..1 + abort marker at 2; pid 8: committed at 3 + commit marker 4
    data.extend_from_slice(&encode(&[rec(0, "x0", 7, true, false), rec(1, "x1", 7, true, false)], Compression::None));
    data.extend_from_slice(&encode(&[control_record(2, 7, 0)], Compression::None));
    data.extend_from_slice(&encode(&[rec(3, "ok", 8, true, false)], Compression::None));
    data.extend_from_slice(&encode(&[control_record(4, 8, 1)], Compression::None));
    data.extend_from_slice(&encode(&[rec(5, "plain", -1, false, false)], Compression::None));
    let data = data.freeze();

    let all = decode_records(data.clone(), 0, 0, false, &[]).unwrap();
    assert_eq!(values(&all), ["x0", "x1", "ok", "plain"]);
    assert_eq!(all.next_offset, Some(6));

    let aborted = [AbortedTxn {
        producer_id: 7,
        first_offset: 0,
    }];
    let committed = decode_records(data, 0, 0, true, &aborted).unwrap();
    assert_eq!(values(&committed), ["ok", "plain"]);
}

#[test]
fn log_append_time_uses_batch_max_timestamp() {
    let mut data = encode(&[rec(0, "a", -1, false, false), rec(1, "b", -1, false, false)], Compression::None);
    // set the LogAppendTime bit and max timestamp, then fix the CRC
    let attrs = i16::from_be_bytes([data[21], data[22]]) | 0x08;
    data[21..23].copy_from_slice(&attrs.to_be_bytes());
    data[35..43].copy_from_slice(&5555i64.to_be_bytes());
    let crc = crc32c::crc32c(&data[21..]);
    data[17..21].copy_from_slice(&crc.to_be_bytes());
    let d = decode_records(data.freeze(), 0, 0, false, &[]).unwrap();
    assert!(d
        .records
        .iter()
        .all(|r| r.timestamp == 5555 && r.timestamp_type == TsType::LogAppendTime));
}

#[test]
fn corrupt_batch_is_error() {
    let mut data = encode(&[rec(0, "a", -1, false, false)], Compression::None);
    let n = data.len();
    data[n - 2] ^= 0xff;
    assert!(decode_records(data.freeze(), 0, 0, false, &[]).is_err());
    assert!(decode_records(Bytes::new(), 0, 0, false, &[]).unwrap().records.is_empty());
}
