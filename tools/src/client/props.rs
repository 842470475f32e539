//! `key=value` handling shared by the console tools: `--property`, `--producer-property`,
//! `--consumer-property` arguments and Java-style `.properties` files given with
//! `--producer.config` / `--consumer.config`.

use std::collections::BTreeMap;
use std::path::Path;

/// An ordered string map standing in for `java.util.Properties`.
pub type Props = BTreeMap<String, String>;

/// Parse `k=v` arguments the way Kafka's tools do: split on the first `=`; a missing or
/// empty value is accepted and stored as an empty string.
pub fn parse_key_value_args<I, S>(args: I) -> Props
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut props = Props::new();
    for arg in args {
        let arg = arg.as_ref();
        if arg.is_empty() {
            continue;
        }
        match arg.split_once('=') {
            Some((k, v)) => props.insert(k.to_string(), v.to_string()),
            None => props.insert(arg.to_string(), String::new()),
        };
    }
    props
}

/// Error loading a properties file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct PropsFileError {
    /// The file that failed to load.
    pub path: String,
    /// Why.
    pub source: std::io::Error,
}

/// Load a Java `.properties` file.
pub fn load_props_file(path: &Path) -> Result<Props, PropsFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| PropsFileError {
        path: path.display().to_string(),
        source,
    })?;
    Ok(parse_properties(&text))
}

/// Parse Java `.properties` text: `#`/`!` comments, `=`/`:`/whitespace separators,
/// backslash line continuations and the common escapes.
pub fn parse_properties(text: &str) -> Props {
    let mut props = Props::new();
    let mut logical = String::new();
    let mut continuing = false;
    for raw in text.lines() {
        let line = if continuing {
            raw.trim_start()
        } else {
            let t = raw.trim_start();
            if t.is_empty() || t.starts_with('#') || t.starts_with('!') {
                continue;
            }
            t
        };
        let trailing = line.chars().rev().take_while(|&c| c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continuing = true;
            continue;
        }
        logical.push_str(line);
        continuing = false;
        let (k, v) = split_property_line(&logical);
        props.insert(k, v);
        logical.clear();
    }
    if !logical.is_empty() {
        let (k, v) = split_property_line(&logical);
        props.insert(k, v);
    }
    props
}

fn split_property_line(line: &str) -> (String, String) {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut key_end = chars.len();
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '=' | ':' | ' ' | '\t' | '\x0c' => {
                key_end = i;
                break;
            }
            _ => i += 1,
        }
    }
    let key: String = chars[..key_end.min(chars.len())].iter().collect();
    let mut j = key_end;
    while j < chars.len() && matches!(chars[j], ' ' | '\t' | '\x0c') {
        j += 1;
    }
    if j < chars.len() && matches!(chars[j], '=' | ':') {
        j += 1;
    }
    while j < chars.len() && matches!(chars[j], ' ' | '\t' | '\x0c') {
        j += 1;
    }
    let value: String = chars[j.min(chars.len())..].iter().collect();
    (unescape(&key), unescape(&value))
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = it.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => out.push_str(&hex),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Read a boolean property as Kafka's formatter/reader do: `true` (trimmed, any case) is
/// true, anything else false; absent gives `default`.
pub fn bool_prop(props: &Props, key: &str, default: bool) -> bool {
    props
        .get(key)
        .map(|v| v.trim().eq_ignore_ascii_case("true"))
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_args() {
        let p = parse_key_value_args(["a=b", "c=d=e", "flag", "empty=", ""]);
        assert_eq!(p["a"], "b");
        assert_eq!(p["c"], "d=e");
        assert_eq!(p["flag"], "");
        assert_eq!(p["empty"], "");
        assert_eq!(p.len(), 4);
    }

    #[test]
    fn properties_file_syntax() {
        let p = parse_properties(
            "# comment\n! other\n  a = 1\nb:2\nc 3\nd=x\\\n   y\ne=tab\\there\nf\\=g=h\nempty=\n",
        );
        assert_eq!(p["a"], "1");
        assert_eq!(p["b"], "2");
        assert_eq!(p["c"], "3");
        assert_eq!(p["d"], "xy");
        assert_eq!(p["e"], "tab\there");
        assert_eq!(p["f=g"], "h");
        assert_eq!(p["empty"], "");
    }

    #[test]
    fn bools() {
        let p = parse_key_value_args(["x= TRUE ", "y=yes"]);
        assert!(bool_prop(&p, "x", false));
        assert!(!bool_prop(&p, "y", true));
        assert!(bool_prop(&p, "z", true));
    }
}
