//! Topic config overrides as the tools handle them: parsing `--config k=v`, checking names and
//! values with the broker's own rules (`storage::LogConfig`), and merging alterations into the
//! overrides stored in `/config/topics/<T>`.

use std::collections::BTreeMap;
use std::io::Write;

use storage::{LogConfig, StorageError};

/// Why a set of topic overrides was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigProblem {
    /// A `--config` value is not `key=value` (Kafka's `require` failure).
    Malformed(String),
    /// A key that is not a topic config (Kafka's `InvalidConfigurationException`).
    UnknownName(String),
    /// A known key with a bad value (Kafka's `ConfigException`).
    InvalidValue(String),
}

impl ConfigProblem {
    /// The message Kafka shows.
    pub fn message(&self) -> &str {
        match self {
            ConfigProblem::Malformed(m) | ConfigProblem::UnknownName(m) | ConfigProblem::InvalidValue(m) => m,
        }
    }
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// Split `s` around `=` the way Java's `s.split("\\s*=\\s*")` does: whitespace next to each `=`
/// goes with the separator, trailing empty pieces are dropped.
pub fn split_key_value(s: &str) -> Vec<String> {
    let raw: Vec<&str> = s.split('=').collect();
    let last = raw.len() - 1;
    let mut pieces: Vec<String> = raw
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let p = if i > 0 { p.trim_start() } else { p };
            let p = if i < last { p.trim_end() } else { p };
            p.to_string()
        })
        .collect();
    while pieces.len() > 1 && pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    pieces
}

/// Check override names: every key must be a topic config.
pub fn validate_names<'a>(keys: impl IntoIterator<Item = &'a String>) -> Result<(), ConfigProblem> {
    for k in keys {
        if !LogConfig::TOPIC_CONFIG_NAMES.contains(&k.as_str()) {
            return Err(ConfigProblem::UnknownName(format!("Unknown topic config name: {k}")));
        }
    }
    Ok(())
}

/// Check a full set of overrides: names first, then values (Kafka's `LogConfig.validate`).
pub fn validate_overrides(overrides: &BTreeMap<String, String>) -> Result<(), ConfigProblem> {
    validate_names(overrides.keys())?;
    LogConfig::validate_overrides(overrides).map_err(|e| match e {
        StorageError::InvalidConfig { reason, .. } if reason.starts_with("Unknown topic config name") => {
            ConfigProblem::UnknownName(reason)
        }
        StorageError::InvalidConfig { reason, .. } => ConfigProblem::InvalidValue(reason),
        other => ConfigProblem::InvalidValue(other.to_string()),
    })
}

/// The warning Kafka prints whenever `message.format.version` is set from a tool.
pub fn warn_message_format_version(overrides: &BTreeMap<String, String>, out: &mut dyn Write) {
    if let Some(v) = overrides.get("message.format.version") {
        let _ = writeln!(
            out,
            "WARNING: The configuration message.format.version={v} is specified. This configuration will be ignored if the version is newer than the inter.broker.protocol.version specified in the broker."
        );
    }
}

/// Parse and validate `--config` values of `kafka-topics` (later keys win), printing the
/// `message.format.version` warning when that key is set.
pub fn parse_configs_to_add(values: &[String], out: &mut dyn Write) -> Result<BTreeMap<String, String>, ConfigProblem> {
    let mut props = BTreeMap::new();
    let split: Vec<Vec<String>> = values.iter().map(|v| split_key_value(v)).collect();
    if split.iter().any(|p| p.len() != 2) {
        return Err(ConfigProblem::Malformed(
            "requirement failed: Invalid topic config: all configs to be added must be in the format \"key=val\".".into(),
        ));
    }
    for pair in split {
        props.insert(pair[0].trim().to_string(), pair[1].trim().to_string());
    }
    validate_overrides(&props)?;
    warn_message_format_version(&props, out);
    Ok(props)
}

/// Parse `--delete-config` values: trimmed, and each must name a topic config.
pub fn parse_configs_to_delete(values: &[String]) -> Result<Vec<String>, ConfigProblem> {
    let keys: Vec<String> = values.iter().map(|k| k.trim().to_string()).collect();
    validate_names(keys.iter())?;
    Ok(keys)
}

/// Current overrides plus additions, minus deletions (deleting an absent key is a no-op here).
pub fn merge(
    current: &BTreeMap<String, String>,
    add: &BTreeMap<String, String>,
    delete: &[String],
) -> BTreeMap<String, String> {
    let mut merged = current.clone();
    merged.extend(add.iter().map(|(k, v)| (k.clone(), v.clone())));
    for k in delete {
        merged.remove(k);
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn java_like_split() {
        assert_eq!(split_key_value("a=b"), vec!["a", "b"]);
        assert_eq!(split_key_value(" a = b "), vec![" a", "b "]);
        assert_eq!(split_key_value("a="), vec!["a"]);
        assert_eq!(split_key_value("a=b= "), vec!["a", "b"]);
        assert_eq!(split_key_value("a==b"), vec!["a", "", "b"]);
        assert_eq!(split_key_value("=b"), vec!["", "b"]);
    }

    #[test]
    fn parse_add() {
        let mut out = Vec::new();
        let m = parse_configs_to_add(&strings(&["retention.ms = 1000", "cleanup.policy=compact", "retention.ms=5"]), &mut out)
            .unwrap();
        assert_eq!(m, map(&[("retention.ms", "5"), ("cleanup.policy", "compact")]));
        assert!(out.is_empty());

        let malformed = parse_configs_to_add(&strings(&["retention.ms"]), &mut out).unwrap_err();
        assert!(matches!(malformed, ConfigProblem::Malformed(_)));
        assert_eq!(
            malformed.message(),
            "requirement failed: Invalid topic config: all configs to be added must be in the format \"key=val\"."
        );
        assert_eq!(
            parse_configs_to_add(&strings(&["nope=1"]), &mut out).unwrap_err(),
            ConfigProblem::UnknownName("Unknown topic config name: nope".into())
        );
        let bad = parse_configs_to_add(&strings(&["retention.ms=abc"]), &mut out).unwrap_err();
        assert!(matches!(bad, ConfigProblem::InvalidValue(_)));
        assert!(bad.message().contains("retention.ms"), "{bad}");

        parse_configs_to_add(&strings(&["message.format.version=2.8"]), &mut out).unwrap();
        assert!(String::from_utf8(out).unwrap().starts_with("WARNING: The configuration message.format.version=2.8 is specified."));
    }

    #[test]
    fn delete_names_are_checked() {
        assert_eq!(parse_configs_to_delete(&strings(&[" retention.ms "])).unwrap(), vec!["retention.ms"]);
        assert_eq!(
            parse_configs_to_delete(&strings(&["bogus"])).unwrap_err(),
            ConfigProblem::UnknownName("Unknown topic config name: bogus".into())
        );
    }

    #[test]
    fn merging() {
        let current = map(&[("retention.ms", "1000"), ("cleanup.policy", "compact")]);
        let add = map(&[("retention.ms", "2000"), ("segment.bytes", "1048576")]);
        let merged = merge(&current, &add, &strings(&["cleanup.policy", "not.there"]));
        assert_eq!(merged, map(&[("retention.ms", "2000"), ("segment.bytes", "1048576")]));
        assert!(validate_overrides(&merged).is_ok());
        assert!(validate_overrides(&map(&[("min.insync.replicas", "0")])).is_err());
    }
}
