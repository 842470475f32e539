//! The compression codecs the storage crate's log cleaner uses to filter compressed batches
//! (storage has no codec dependencies; `wire::compression` has Kafka-compatible ones).

use bytes::{Bytes, BytesMut};
use wire::kafka_protocol::records::Compression;

/// `storage::cleaner::RecordsCodec` backed by `wire::compression` (gzip, xerial/raw snappy,
/// lz4 frame, zstd — what Kafka's clients write).
pub struct WireCodec;

fn compression(codec: i16) -> Result<Compression, String> {
    Ok(match codec {
        0 => Compression::None,
        1 => Compression::Gzip,
        2 => Compression::Snappy,
        3 => Compression::Lz4,
        4 => Compression::Zstd,
        c => return Err(format!("unknown compression codec {c}")),
    })
}

impl storage::cleaner::RecordsCodec for WireCodec {
    fn decompress(&self, codec: i16, data: &[u8]) -> Result<Vec<u8>, String> {
        let mut buf = Bytes::copy_from_slice(data);
        wire::compression::decompress(&mut buf, compression(codec)?).map(|b| b.to_vec()).map_err(|e| e.to_string())
    }

    fn compress(&self, codec: i16, raw: &[u8]) -> Result<Vec<u8>, String> {
        let mut src = BytesMut::from(raw);
        let mut out = BytesMut::new();
        wire::compression::compress(&mut src, &mut out, compression(codec)?).map_err(|e| e.to_string())?;
        Ok(out.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storage::cleaner::RecordsCodec;

    #[test]
    fn every_codec_round_trips() {
        let raw: Vec<u8> = (0..10_000u32).flat_map(|i| (i % 97).to_be_bytes()).collect();
        for codec in 1..=4 {
            let packed = WireCodec.compress(codec, &raw).unwrap();
            assert!(packed.len() < raw.len(), "codec {codec}");
            assert_eq!(WireCodec.decompress(codec, &packed).unwrap(), raw, "codec {codec}");
        }
        assert!(WireCodec.decompress(9, &raw).is_err());
    }
}
