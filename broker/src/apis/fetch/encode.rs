//! Hand-written Fetch response encoder (versions 4-12) that leaves record bytes in the segment files.
//!
//! `kafka-protocol` would need the records in memory; here each partition's records become a
//! [`ResponsePart::File`] that the connection sends with sendfile. Everything else is encoded exactly
//! as the generated code does (checked in tests by decoding with `kafka-protocol`).

use bytes::{BufMut, Bytes, BytesMut};
use storage::FileSlice;

use crate::network::response::ResponsePart;

/// One partition of the response.
#[derive(Debug, Clone)]
pub struct FetchedPartition {
    /// Partition index.
    pub index: i32,
    /// Error code (0 = none).
    pub error_code: i16,
    /// High watermark.
    pub high_watermark: i64,
    /// Last stable offset (v4+).
    pub last_stable_offset: i64,
    /// Log start offset (v5+).
    pub log_start_offset: i64,
    /// Diverging epoch for a follower (v12+ tagged field 0): (epoch, end offset).
    pub diverging_epoch: Option<(i32, i64)>,
    /// Whether the client asked for read_committed (aborted-transaction list present, empty).
    pub read_committed: bool,
    /// Records to send; `None` = empty records (never null on the wire).
    pub records: Option<FileSlice>,
}

/// One topic of the response.
#[derive(Debug, Clone)]
pub struct FetchedTopic {
    /// Topic name.
    pub name: String,
    /// Its partitions, in request order.
    pub partitions: Vec<FetchedPartition>,
}

struct Writer {
    parts: Vec<ResponsePart>,
    buf: BytesMut,
    flexible: bool,
}

impl Writer {
    fn uvarint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.buf.put_u8((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.put_u8(v as u8);
    }

    fn array_len(&mut self, n: usize) {
        if self.flexible {
            self.uvarint(n as u32 + 1);
        } else {
            self.buf.put_i32(n as i32);
        }
    }

    fn null_array(&mut self) {
        if self.flexible {
            self.uvarint(0);
        } else {
            self.buf.put_i32(-1);
        }
    }

    fn string(&mut self, s: &str) {
        if self.flexible {
            self.uvarint(s.len() as u32 + 1);
        } else {
            self.buf.put_i16(s.len() as i16);
        }
        self.buf.put_slice(s.as_bytes());
    }

    fn no_tags(&mut self) {
        if self.flexible {
            self.uvarint(0);
        }
    }

    /// Records are never written as null: Kafka sends empty records for a partition in error or
    /// with a diverging epoch, and librdkafka rejects a null record set ("invalid MessageSetSize -1").
    fn records(&mut self, records: &Option<FileSlice>) {
        match records {
            None => {
                if self.flexible {
                    self.uvarint(1);
                } else {
                    self.buf.put_i32(0);
                }
            }
            Some(slice) => {
                if self.flexible {
                    self.uvarint(slice.len + 1);
                } else {
                    self.buf.put_i32(slice.len as i32);
                }
                if slice.len > 0 {
                    let head = self.buf.split().freeze();
                    self.parts.push(ResponsePart::Bytes(head));
                    self.parts.push(ResponsePart::File(slice.clone()));
                }
            }
        }
    }

    fn finish(mut self) -> Vec<ResponsePart> {
        if !self.buf.is_empty() {
            self.parts.push(ResponsePart::Bytes(self.buf.split().freeze()));
        }
        self.parts
    }
}

/// Encode a whole Fetch response frame (size prefix and response header included) as parts.
pub fn encode_fetch_response(
    correlation_id: i32,
    version: i16,
    error_code: i16,
    topics: &[FetchedTopic],
) -> Vec<ResponsePart> {
    let mut w = Writer { parts: Vec::new(), buf: BytesMut::with_capacity(256), flexible: version >= 12 };
    w.buf.put_i32(0); // throttle_time_ms (v1+)
    if version >= 7 {
        w.buf.put_i16(error_code);
        w.buf.put_i32(0); // session_id: sessionless, every fetch is a full fetch
    }
    w.array_len(topics.len());
    for t in topics {
        w.string(&t.name);
        w.array_len(t.partitions.len());
        for p in &t.partitions {
            w.buf.put_i32(p.index);
            w.buf.put_i16(p.error_code);
            w.buf.put_i64(p.high_watermark);
            w.buf.put_i64(p.last_stable_offset);
            if version >= 5 {
                w.buf.put_i64(p.log_start_offset);
            }
            if p.read_committed {
                w.array_len(0);
            } else {
                w.null_array();
            }
            if version >= 11 {
                w.buf.put_i32(-1); // preferred_read_replica
            }
            w.records(&p.records);
            if w.flexible {
                match p.diverging_epoch {
                    Some((epoch, end_offset)) => {
                        w.uvarint(1); // one tagged field
                        w.uvarint(0); // tag 0: diverging_epoch
                        w.uvarint(4 + 8 + 1); // size: epoch, end offset, its empty tag section
                        w.buf.put_i32(epoch);
                        w.buf.put_i64(end_offset);
                        w.uvarint(0);
                    }
                    None => w.uvarint(0),
                }
            }
        }
        w.no_tags();
    }
    w.no_tags();
    let body = w.finish();
    let body_len: usize = body.iter().map(|p| p.len()).sum();
    let prefix = wire::encode_response_prefix(correlation_id, 1, version, body_len).freeze();
    let mut parts = Vec::with_capacity(body.len() + 1);
    parts.push(ResponsePart::Bytes(prefix));
    parts.extend(body);
    parts
}

/// Concatenate parts into memory (tests, and any transport that can't sendfile).
pub fn parts_to_bytes(parts: &[ResponsePart]) -> std::io::Result<Bytes> {
    let mut out = BytesMut::new();
    for p in parts {
        match p {
            ResponsePart::Bytes(b) => out.put_slice(b),
            ResponsePart::File(f) => out.put_slice(&f.read_to_vec()?),
        }
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use bytes::Buf;
    use wire::kafka_protocol::messages::FetchResponse;
    use wire::kafka_protocol::protocol::Decodable;

    use super::*;

    fn slice(data: &[u8]) -> FileSlice {
        let mut f = tempfile::tempfile().expect("tempfile");
        f.write_all(b"xx").expect("write");
        f.write_all(data).expect("write");
        FileSlice { file: Arc::new(f), position: 2, len: data.len() as u32 }
    }

    #[test]
    fn decodes_with_kafka_protocol_for_every_version() {
        for version in 4..=12i16 {
            let topics = vec![FetchedTopic {
                name: "NEWS".into(),
                partitions: vec![
                    FetchedPartition {
                        index: 0,
                        error_code: 0,
                        high_watermark: 10,
                        last_stable_offset: 10,
                        log_start_offset: 2,
                        diverging_epoch: if version >= 12 { Some((3, 7)) } else { None },
                        read_committed: false,
                        records: Some(slice(b"0123456789")),
                    },
                    FetchedPartition {
                        index: 1,
                        error_code: 6,
                        high_watermark: -1,
                        last_stable_offset: -1,
                        log_start_offset: -1,
                        diverging_epoch: None,
                        read_committed: true,
                        records: None,
                    },
                ],
            }];
            let parts = encode_fetch_response(42, version, 0, &topics);
            let mut bytes = parts_to_bytes(&parts).expect("bytes");
            let size = bytes.get_i32() as usize;
            assert_eq!(size, bytes.len(), "v{version} size prefix");
            assert_eq!(bytes.get_i32(), 42);
            if version >= 12 {
                assert_eq!(bytes.get_u8(), 0, "response header v1 tags");
            }
            let resp = FetchResponse::decode(&mut bytes, version).expect("decodes");
            assert_eq!(bytes.remaining(), 0, "v{version} trailing bytes");
            let p0 = &resp.responses[0].partitions[0];
            assert_eq!(resp.responses[0].topic.0.as_str(), "NEWS");
            assert_eq!(p0.high_watermark, 10);
            assert_eq!(p0.records.as_deref(), Some(&b"0123456789"[..]));
            if version >= 5 {
                assert_eq!(p0.log_start_offset, 2);
            }
            if version >= 12 {
                assert_eq!(p0.diverging_epoch.epoch, 3);
                assert_eq!(p0.diverging_epoch.end_offset, 7);
            }
            let p1 = &resp.responses[0].partitions[1];
            assert_eq!(p1.error_code, 6);
            // A partition in error carries empty records, never null (librdkafka rejects null).
            assert_eq!(p1.records.as_deref(), Some(&b""[..]), "v{version} records of a partition in error");
            assert_eq!(p1.aborted_transactions.as_ref().map(|a| a.len()), Some(0));
        }
    }
}
