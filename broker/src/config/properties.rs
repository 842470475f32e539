//! A reader for `java.util.Properties` text, the format of `server.properties`.
//!
//! Rules followed (those of `Properties.load`):
//! * a line whose first non-blank character is `#` or `!` is a comment;
//! * a line ending in an odd number of backslashes continues on the next line, whose leading blanks
//!   are dropped;
//! * the key ends at the first unescaped `=`, `:` or blank; blanks around the separator are skipped
//!   and the rest of the line is the value (trailing blanks are kept, as Java keeps them — callers
//!   trim where Kafka trims);
//! * escapes `\t \n \r \f \uXXXX` are decoded and any other escaped character stands for itself.

use std::collections::BTreeMap;

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\x0c'
}

/// Parse properties text into key/value pairs; a later duplicate key replaces an earlier one.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for logical in logical_lines(text) {
        let (key, value) = split_key_value(&logical);
        out.insert(unescape(&key), unescape(&value));
    }
    out
}

/// Whether `line` ends in an odd number of backslashes (a continuation).
fn continues(line: &str) -> bool {
    line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// Join continued natural lines and drop blank and comment lines. Escapes are still encoded.
fn logical_lines(text: &str) -> Vec<String> {
    // Natural lines end at \n, \r or \r\n.
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines = normalized.split('\n');
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start_matches(is_blank);
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        let mut logical = trimmed.to_string();
        while continues(&logical) {
            logical.pop();
            match lines.next() {
                Some(next) => logical.push_str(next.trim_start_matches(is_blank)),
                None => break,
            }
        }
        out.push(logical);
    }
    out
}

/// Split a logical line at the first unescaped separator (`=`, `:` or blank).
fn split_key_value(line: &str) -> (String, String) {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut key_end = chars.len();
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            i += 2;
            continue;
        }
        if c == '=' || c == ':' || is_blank(c) {
            key_end = i;
            break;
        }
        i += 1;
    }
    let key: String = chars[..key_end.min(chars.len())].iter().collect();
    let mut j = key_end;
    while j < chars.len() && is_blank(chars[j]) {
        j += 1;
    }
    if j < chars.len() && (chars[j] == '=' || chars[j] == ':') {
        j += 1;
        while j < chars.len() && is_blank(chars[j]) {
            j += 1;
        }
    }
    let value: String = if j < chars.len() { chars[j..].iter().collect() } else { String::new() };
    (key, value)
}

/// Decode Java properties escapes.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        // Java throws "Malformed \uxxxx encoding"; keep the text instead of failing.
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(m: &BTreeMap<String, String>, k: &str) -> Option<String> {
        m.get(k).cloned()
    }

    #[test]
    fn basic_forms() {
        let m = parse_properties(
            "# comment\n! also comment\n\n  broker.id=0\nlog.dirs : /tmp/a,/tmp/b\nnum.partitions 3\nempty=\nkeyonly\n",
        );
        assert_eq!(get(&m, "broker.id").as_deref(), Some("0"));
        assert_eq!(get(&m, "log.dirs").as_deref(), Some("/tmp/a,/tmp/b"));
        assert_eq!(get(&m, "num.partitions").as_deref(), Some("3"));
        assert_eq!(get(&m, "empty").as_deref(), Some(""));
        assert_eq!(get(&m, "keyonly").as_deref(), Some(""));
        assert_eq!(m.len(), 5);
    }

    #[test]
    fn continuation_and_escapes() {
        let m = parse_properties("listeners=PLAINTEXT://:9092,\\\n    SSL://:9093\nk\\=x=a\\tb\\u0041\\\\\r\nwin=1\r\n");
        assert_eq!(get(&m, "listeners").as_deref(), Some("PLAINTEXT://:9092,SSL://:9093"));
        assert_eq!(get(&m, "k=x").as_deref(), Some("a\tbA\\"));
        assert_eq!(get(&m, "win").as_deref(), Some("1"));
    }

    #[test]
    fn even_backslashes_do_not_continue_and_comments_do_not_continue() {
        let m = parse_properties("a=x\\\\\nb=y\n# c \\\nd=z\n");
        assert_eq!(get(&m, "a").as_deref(), Some("x\\"));
        assert_eq!(get(&m, "b").as_deref(), Some("y"));
        assert_eq!(get(&m, "d").as_deref(), Some("z"));
    }

    #[test]
    fn later_duplicate_wins_and_separator_spacing() {
        let m = parse_properties("a = 1\na=2\nb:=3\n");
        assert_eq!(get(&m, "a").as_deref(), Some("2"));
        // Only the first separator is consumed; the second '=' belongs to the value.
        assert_eq!(get(&m, "b").as_deref(), Some("=3"));
    }
}
