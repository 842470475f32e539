//! The console consumer's default output format (Kafka's DefaultMessageFormatter): optional
//! timestamp, partition, offset, headers and key columns before the value, joined by
//! `key.separator`, each record ended by `line.separator`, nulls shown as `null.literal`.

use std::io::Write;

use super::props::{bool_prop, Props};
use super::records::{ConsumedRecord, TsType};

/// Formatter settings, from `--property` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFormatter {
    /// `print.timestamp` (default false).
    pub print_timestamp: bool,
    /// `print.key` (default false).
    pub print_key: bool,
    /// `print.value` (default true).
    pub print_value: bool,
    /// `print.partition` (default false).
    pub print_partition: bool,
    /// `print.offset` (default false).
    pub print_offset: bool,
    /// `print.headers` (default false).
    pub print_headers: bool,
    /// `key.separator` (default TAB), written between columns.
    pub key_separator: Vec<u8>,
    /// `line.separator` (default newline), written after each record.
    pub line_separator: Vec<u8>,
    /// `headers.separator` (default `,`), written between headers.
    pub headers_separator: Vec<u8>,
    /// `null.literal` (default `null`), written for null keys/values/header values.
    pub null_literal: Vec<u8>,
}

impl Default for MessageFormatter {
    fn default() -> Self {
        MessageFormatter {
            print_timestamp: false,
            print_key: false,
            print_value: true,
            print_partition: false,
            print_offset: false,
            print_headers: false,
            key_separator: b"\t".to_vec(),
            line_separator: b"\n".to_vec(),
            headers_separator: b",".to_vec(),
            null_literal: b"null".to_vec(),
        }
    }
}

impl MessageFormatter {
    /// Build from `--property` values; unknown keys are ignored, as in Kafka.
    pub fn from_props(props: &Props) -> Self {
        let d = MessageFormatter::default();
        let bytes = |key: &str, default: Vec<u8>| {
            props
                .get(key)
                .map(|v| v.as_bytes().to_vec())
                .unwrap_or(default)
        };
        MessageFormatter {
            print_timestamp: bool_prop(props, "print.timestamp", d.print_timestamp),
            print_key: bool_prop(props, "print.key", d.print_key),
            print_value: bool_prop(props, "print.value", d.print_value),
            print_partition: bool_prop(props, "print.partition", d.print_partition),
            print_offset: bool_prop(props, "print.offset", d.print_offset),
            print_headers: bool_prop(props, "print.headers", d.print_headers),
            key_separator: bytes("key.separator", d.key_separator),
            line_separator: bytes("line.separator", d.line_separator),
            headers_separator: bytes("headers.separator", d.headers_separator),
            null_literal: bytes("null.literal", d.null_literal),
        }
    }

    /// Write one record.
    pub fn write<W: Write>(&self, r: &ConsumedRecord, out: &mut W) -> std::io::Result<()> {
        if self.print_timestamp {
            match r.timestamp_type {
                TsType::NoTimestamp => out.write_all(b"NO_TIMESTAMP")?,
                t => write!(out, "{}:{}", t.name(), r.timestamp)?,
            }
            self.separator(
                out,
                self.print_partition || self.print_offset || self.print_headers || self.print_key || self.print_value,
            )?;
        }
        if self.print_partition {
            write!(out, "Partition:{}", r.partition)?;
            self.separator(out, self.print_offset || self.print_headers || self.print_key || self.print_value)?;
        }
        if self.print_offset {
            write!(out, "Offset:{}", r.offset)?;
            self.separator(out, self.print_headers || self.print_key || self.print_value)?;
        }
        if self.print_headers {
            if r.headers.is_empty() {
                out.write_all(b"NO_HEADERS")?;
            } else {
                for (i, (k, v)) in r.headers.iter().enumerate() {
                    if i > 0 {
                        out.write_all(&self.headers_separator)?;
                    }
                    out.write_all(k.as_bytes())?;
                    out.write_all(b":")?;
                    self.bytes_or_null(out, v.as_deref())?;
                }
            }
            self.separator(out, self.print_key || self.print_value)?;
        }
        if self.print_key {
            self.bytes_or_null(out, r.key.as_deref())?;
            self.separator(out, self.print_value)?;
        }
        if self.print_value {
            self.bytes_or_null(out, r.value.as_deref())?;
            out.write_all(&self.line_separator)?;
        }
        Ok(())
    }

    /// Column separator if more columns follow, else the line separator.
    fn separator<W: Write>(&self, out: &mut W, more: bool) -> std::io::Result<()> {
        if more {
            out.write_all(&self.key_separator)
        } else {
            out.write_all(&self.line_separator)
        }
    }

    fn bytes_or_null<W: Write>(&self, out: &mut W, v: Option<&[u8]>) -> std::io::Result<()> {
        out.write_all(v.unwrap_or(&self.null_literal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::props::parse_key_value_args;
    use bytes::Bytes;

    fn record() -> ConsumedRecord {
        ConsumedRecord {
            partition: 2,
            offset: 41,
            timestamp: 1_600_000_000_123,
            timestamp_type: TsType::CreateTime,
            key: Some(Bytes::from_static(b"k1")),
            value: Some(Bytes::from_static(b"hello")),
            headers: vec![
                ("h1".to_string(), Some(Bytes::from_static(b"v1"))),
                ("h2".to_string(), None),
            ],
        }
    }

    fn render(props: &[&str], r: &ConsumedRecord) -> String {
        let f = MessageFormatter::from_props(&parse_key_value_args(props.iter()));
        let mut out = Vec::new();
        f.write(r, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn default_prints_value_only() {
        assert_eq!(render(&[], &record()), "hello\n");
    }

    #[test]
    fn all_fields_in_kafka_order() {
        let s = render(
            &[
                "print.timestamp=true",
                "print.partition=true",
                "print.offset=true",
                "print.headers=true",
                "print.key=true",
            ],
            &record(),
        );
        assert_eq!(
            s,
            "CreateTime:1600000000123\tPartition:2\tOffset:41\th1:v1,h2:null\tk1\thello\n"
        );
    }

    #[test]
    fn separators_nulls_and_no_value() {
        let mut r = record();
        r.key = None;
        r.headers.clear();
        r.timestamp_type = TsType::LogAppendTime;
        assert_eq!(
            render(
                &["print.key=true", "key.separator=::", "line.separator=|", "print.headers=true"],
                &r
            ),
            "NO_HEADERS::null::hello|"
        );
        assert_eq!(render(&["print.key=true", "print.value=false"], &r), "null\n");
        assert_eq!(
            render(&["print.timestamp=true", "print.value=false"], &r),
            "LogAppendTime:1600000000123\n"
        );
        r.timestamp_type = TsType::NoTimestamp;
        r.value = None;
        assert_eq!(
            render(&["print.timestamp=true", "null.literal=NULL"], &r),
            "NO_TIMESTAMP\tNULL\n"
        );
        assert_eq!(render(&["print.value=false"], &r), "");
        assert_eq!(
            render(&["print.headers=true", "headers.separator=;"], &record()),
            "h1:v1;h2:null\thello\n"
        );
    }
}
