//! Compression hooks for `kafka_protocol::records` that match what Kafka's Java client puts
//! on the wire. `kafka-protocol` writes and reads *raw* snappy, but the Java client frames
//! snappy data in the xerial stream format (`\x82SNAPPY\0` header plus length-prefixed
//! blocks), and librdkafka produces raw snappy. These hooks write xerial framing (like
//! Java) and read both; gzip, lz4 and zstd are delegated to `kafka-protocol`.
//!
//! Use them as `RecordBatchDecoder::decode_with_custom_compression(buf, Some(decompress))`
//! and `RecordBatchEncoder::encode_with_custom_compression(buf, recs, opts, Some(compress))`.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::compression::{Compressor, Decompressor};
use kafka_protocol::records::Compression;

/// First 8 bytes of a xerial snappy stream.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// Magic plus version and compatible-version ints.
const XERIAL_HEADER_LEN: usize = 16;
/// Uncompressed block size used by the Java client's snappy stream.
const XERIAL_BLOCK: usize = 32 * 1024;

/// Compress `raw` into xerial-framed snappy, as Kafka's Java producer does.
pub fn snappy_xerial_compress(raw: &[u8]) -> Result<Vec<u8>, snap::Error> {
    let mut out = Vec::with_capacity(XERIAL_HEADER_LEN + raw.len() / 2 + 16);
    out.extend_from_slice(&XERIAL_MAGIC);
    out.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    let mut enc = snap::raw::Encoder::new();
    for chunk in raw.chunks(XERIAL_BLOCK) {
        let block = enc.compress_vec(chunk)?;
        out.extend_from_slice(&(block.len() as i32).to_be_bytes());
        out.extend_from_slice(&block);
    }
    Ok(out)
}

/// Decompress snappy data that is either xerial-framed (Java clients) or raw (librdkafka).
pub fn snappy_decompress_any(data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut dec = snap::raw::Decoder::new();
    if data.len() < XERIAL_HEADER_LEN || data[..8] != XERIAL_MAGIC {
        return Ok(dec.decompress_vec(data)?);
    }
    let mut rest = &data[XERIAL_HEADER_LEN..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 4 {
            anyhow::bail!("truncated xerial snappy block length");
        }
        let len = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        rest = &rest[4..];
        if len < 0 || len as usize > rest.len() {
            anyhow::bail!("invalid xerial snappy block length {len}");
        }
        let (block, tail) = rest.split_at(len as usize);
        out.extend_from_slice(&dec.decompress_vec(block)?);
        rest = tail;
    }
    Ok(out)
}

/// Decompression hook for `RecordBatchDecoder::decode_with_custom_compression`.
pub fn decompress(buf: &mut Bytes, compression: Compression) -> anyhow::Result<Bytes> {
    fn take(b: &mut Bytes) -> anyhow::Result<Bytes> {
        Ok(b.copy_to_bytes(b.remaining()))
    }
    match compression {
        Compression::None => take(buf),
        Compression::Snappy => {
            let data = buf.copy_to_bytes(buf.remaining());
            Ok(Bytes::from(snappy_decompress_any(&data)?))
        }
        Compression::Gzip => kafka_protocol::compression::Gzip::decompress(buf, take),
        Compression::Lz4 => kafka_protocol::compression::Lz4::decompress(buf, take),
        Compression::Zstd => kafka_protocol::compression::Zstd::decompress(buf, take),
    }
}

/// Compression hook for `RecordBatchEncoder::encode_with_custom_compression`: compresses the
/// encoded records in `raw` and appends the result to `out`.
pub fn compress(raw: &mut BytesMut, out: &mut BytesMut, compression: Compression) -> anyhow::Result<()> {
    fn put(src: &[u8]) -> impl FnOnce(&mut BytesMut) -> anyhow::Result<()> + '_ {
        move |b: &mut BytesMut| {
            b.put_slice(src);
            Ok(())
        }
    }
    match compression {
        Compression::None => {
            out.put_slice(raw);
            Ok(())
        }
        Compression::Snappy => {
            out.put_slice(&snappy_xerial_compress(raw)?);
            Ok(())
        }
        Compression::Gzip => kafka_protocol::compression::Gzip::compress(out, put(raw)),
        Compression::Lz4 => kafka_protocol::compression::Lz4::compress(out, put(raw)),
        Compression::Zstd => kafka_protocol::compression::Zstd::compress(out, put(raw)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::{
        Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };

    fn records(n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| Record {
                transactional: false,
                control: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: i as i32 - 1,
                timestamp: 1_600_000_000_000 + i as i64,
                key: None,
                value: Some(Bytes::from(format!("value-{i}-{}", "x".repeat(i % 50)))),
                headers: Default::default(),
            })
            .collect()
    }

    #[test]
    fn xerial_roundtrip_and_raw_fallback() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 97) as u8).collect();
        let framed = snappy_xerial_compress(&data).unwrap();
        assert_eq!(&framed[..8], &XERIAL_MAGIC);
        assert_eq!(snappy_decompress_any(&framed).unwrap(), data);
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(snappy_decompress_any(&raw).unwrap(), data);
    }

    #[test]
    fn all_codecs_roundtrip_one_batch() {
        for c in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let recs = records(500);
            let mut buf = BytesMut::new();
            let opts = RecordEncodeOptions {
                version: 2,
                compression: c,
            };
            RecordBatchEncoder::encode_with_custom_compression(&mut buf, &recs, &opts, Some(compress))
                .unwrap();
            let mut bytes = buf.freeze();
            assert_eq!(&bytes[53..57], &(-1i32).to_be_bytes(), "base sequence");
            assert_eq!(&bytes[43..51], &(-1i64).to_be_bytes(), "producer id");
            assert_eq!(i16::from_be_bytes([bytes[21], bytes[22]]) & 7, c as i16);
            // one batch: base sequence -1 stays -1 across the batch
            let set =
                RecordBatchDecoder::decode_with_custom_compression(&mut bytes, Some(decompress))
                    .unwrap();
            assert!(bytes.is_empty(), "{c:?} produced more than one batch");
            assert_eq!(set.records.len(), 500);
            assert_eq!(set.records[499].offset, 499);
            assert_eq!(set.records[3].value, recs[3].value);
        }
    }
}
