//! Turning one stdin line into a record key and value, following the console producer's
//! `parse.key` / `key.separator` / `ignore.error` settings.

use bytes::Bytes;

use super::producer_args::ReaderConfig;

/// A line that should have had a key but did not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("org.apache.kafka.common.KafkaException: No key found on line {line_number}: {line}")]
pub struct NoKeyError {
    /// 1-based line number.
    pub line_number: u64,
    /// The offending line.
    pub line: String,
}

/// Split `line` into (key, value). Without `parse.key` the key is null. With it, the key is
/// everything before the first separator and the value everything after it; a line without
/// separator is an error unless `ignore.error`, in which case it becomes a keyless record.
pub fn parse_line(
    line: &str,
    cfg: &ReaderConfig,
    line_number: u64,
) -> Result<(Option<Bytes>, Bytes), NoKeyError> {
    if !cfg.parse_key {
        return Ok((None, Bytes::copy_from_slice(line.as_bytes())));
    }
    match line.find(cfg.key_separator.as_str()) {
        Some(n) => {
            let key = Bytes::copy_from_slice(&line.as_bytes()[..n]);
            let value = Bytes::copy_from_slice(&line.as_bytes()[n + cfg.key_separator.len()..]);
            Ok((Some(key), value))
        }
        None if cfg.ignore_error => Ok((None, Bytes::copy_from_slice(line.as_bytes()))),
        None => Err(NoKeyError {
            line_number,
            line: line.to_string(),
        }),
    }
}

/// Strip the line terminator like Java's `readLine` (`\n`, `\r\n` or `\r`).
pub fn strip_line_end(mut line: String) -> String {
    if line.ends_with('\n') {
        line.pop();
    }
    if line.ends_with('\r') {
        line.pop();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(parse_key: bool, sep: &str, ignore: bool) -> ReaderConfig {
        ReaderConfig {
            parse_key,
            key_separator: sep.to_string(),
            ignore_error: ignore,
        }
    }

    #[test]
    fn keyless_by_default() {
        let (k, v) = parse_line("a\tb", &cfg(false, "\t", false), 1).unwrap();
        assert_eq!(k, None);
        assert_eq!(&v[..], b"a\tb");
    }

    #[test]
    fn key_split_on_first_separator() {
        let (k, v) = parse_line("k1:v:1", &cfg(true, ":", false), 1).unwrap();
        assert_eq!(k.as_deref(), Some(&b"k1"[..]));
        assert_eq!(&v[..], b"v:1");
        let (k, v) = parse_line("key::", &cfg(true, "::", false), 1).unwrap();
        assert_eq!(k.as_deref(), Some(&b"key"[..]));
        assert_eq!(&v[..], b"");
        let (k, _) = parse_line(":v", &cfg(true, ":", false), 1).unwrap();
        assert_eq!(k.as_deref(), Some(&b""[..]));
    }

    #[test]
    fn missing_key() {
        let e = parse_line("novalue", &cfg(true, ":", false), 3).unwrap_err();
        assert_eq!(
            e.to_string(),
            "org.apache.kafka.common.KafkaException: No key found on line 3: novalue"
        );
        let (k, v) = parse_line("novalue", &cfg(true, ":", true), 3).unwrap();
        assert_eq!(k, None);
        assert_eq!(&v[..], b"novalue");
    }

    #[test]
    fn line_ends() {
        assert_eq!(strip_line_end("a\r\n".into()), "a");
        assert_eq!(strip_line_end("a\n".into()), "a");
        assert_eq!(strip_line_end("a".into()), "a");
    }
}
