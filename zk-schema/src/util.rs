//! Small Java-compatibility helpers Kafka's ZooKeeper data depends on.

use base64::Engine;

/// Java's `String.hashCode`: `h = 31*h + c` over UTF-16 code units with 32-bit wrap-around.
///
/// Kafka uses it to place groups and transactional ids on partitions, so it must match exactly.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// Kafka's `Utils.abs`: `Math.abs`, except that `i32::MIN` maps to 0.
pub fn kafka_abs(n: i32) -> i32 {
    if n == i32::MIN {
        0
    } else {
        n.abs()
    }
}

/// Render 16 UUID bytes as Kafka does: URL-safe base64 without padding (22 characters).
pub fn uuid_to_base64(bytes: &[u8; 16]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Parse Kafka's 22-character base64 UUID rendering back into 16 bytes.
pub fn uuid_from_base64(s: &str) -> Option<[u8; 16]> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).ok()?;
    bytes.try_into().ok()
}

/// A fresh random id (cluster id, topic id) in Kafka's rendering.
///
/// Kafka never hands out the all-zero id or one whose rendering starts with '-', so neither do we.
pub fn random_kafka_uuid() -> String {
    loop {
        let id = uuid::Uuid::new_v4();
        let s = uuid_to_base64(id.as_bytes());
        if !s.starts_with('-') {
            return s;
        }
    }
}

/// Current wall-clock time in milliseconds, as Kafka writes into `timestamp` fields.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_known_values() {
        // Values from Java's "".hashCode(), "a".hashCode(), "hello".hashCode().
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99162322);
        // Overflowing example: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(kafka_abs(java_string_hash("polygenelubricants")), 0);
    }

    #[test]
    fn uuid_round_trip() {
        let id = random_kafka_uuid();
        assert_eq!(id.len(), 22);
        let bytes = uuid_from_base64(&id).expect("valid");
        assert_eq!(uuid_to_base64(&bytes), id);
    }
}
