//! Kafka's default partitioner hash. Keyed records must land on the same partition as
//! with the Java client (and librdkafka's `murmur2` partitioner), so this is the 32-bit
//! MurmurHash2 with Kafka's seed, followed by clearing the sign bit.

/// Seed Kafka passes to MurmurHash2.
const SEED: u32 = 0x9747_b28c;
/// MurmurHash2 multiplication constant.
const M: u32 = 0x5bd1_e995;
/// MurmurHash2 shift constant.
const R: u32 = 24;

/// 32-bit MurmurHash2 of `data` as Kafka computes it (little-endian 4-byte words).
pub fn murmur2(data: &[u8]) -> i32 {
    let mut h: u32 = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        if tail.len() >= 3 {
            h ^= (tail[2] as u32) << 16;
        }
        if tail.len() >= 2 {
            h ^= (tail[1] as u32) << 8;
        }
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `toPositive`: clear the sign bit (not `abs`, which overflows on `i32::MIN`).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// Partition for a keyed record, exactly like Kafka's default partitioner:
/// `toPositive(murmur2(key)) % numPartitions` over all partitions.
pub fn partition_for_key(key: &[u8], num_partitions: i32) -> i32 {
    if num_partitions <= 0 {
        return 0;
    }
    to_positive(murmur2(key)) % num_partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn librdkafka_java_vectors() {
        // Values from librdkafka's murmur2 unit test, labelled as the Java client's results.
        let cases: [(&str, u32); 11] = [
            ("kafka", 0xd067cf64),
            ("giberish123456789", 0x8f552b0c),
            ("1234", 0x9fc97b14),
            ("234", 0xe7c009ca),
            ("34", 0x873930da),
            ("4", 0x5a4b5ca1),
            ("PreAmbleWillBeRemoved,ThePrePartThatIs", 0x78424f1c),
            ("reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62b377),
            ("eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4e09e),
            ("AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8b43f),
            ("", 0x106e08d9),
        ];
        for (key, want) in cases {
            assert_eq!(murmur2(key.as_bytes()), want as i32, "key {key:?}");
        }
    }

    #[test]
    fn kafka_utils_test_vectors() {
        // The values Kafka's own unit test expects from its Java murmur2.
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            (b"abc", 479470107),
        ];
        for (key, want) in cases {
            assert_eq!(murmur2(key), want);
        }
    }

    #[test]
    fn partitioning() {
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), i32::MAX);
        // 0xd067cf64 & 0x7fffffff = 0x5067cf64 = 1348980580
        assert_eq!(partition_for_key(b"kafka", 1_000_000_000), 348_980_580);
        assert_eq!(partition_for_key(b"kafka", 3), 1_348_980_580 % 3);
        assert_eq!(partition_for_key(b"x", 0), 0);
    }
}
