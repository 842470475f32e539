//! `--add-config` parsing (commas and `=` inside `[...]` belong to the value) and the checks Kafka
//! applies to client, user, IP and broker overrides written through ZooKeeper.

use std::collections::BTreeMap;

use super::ConfigsError;

/// Whether a separator just before `rest` is outside square brackets: the next `]`, if any, must
/// come after a `[` (the lookahead `(?=[^\]]*(?:\[|$))` Kafka splits with).
fn outside_brackets(rest: &str) -> bool {
    match rest.find(']') {
        None => true,
        Some(close) => rest[..close].contains('['),
    }
}

/// Split on `sep` where it is outside brackets. `keep_trailing_empty` = false mimics Java's
/// `split(regex)`, true mimics `split(regex, -1)`.
fn split_outside_brackets(s: &str, sep: char, keep_trailing_empty: bool) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == sep && outside_brackets(&s[i + c.len_utf8()..]) {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    if !keep_trailing_empty {
        while parts.len() > 1 && parts.last() == Some(&"") {
            parts.pop();
        }
    }
    parts
}

/// Parse `k1=v1,k2=[a,b],k3=` into ordered pairs: keys trimmed, brackets removed from values,
/// values trimmed, an empty value allowed. A piece that is not exactly `key=value` fails with
/// Kafka's message.
pub fn parse_add_config(s: &str) -> Result<Vec<(String, String)>, ConfigsError> {
    let mut out = Vec::new();
    for piece in split_outside_brackets(s, ',', false) {
        let kv = split_outside_brackets(piece, '=', true);
        if kv.len() != 2 {
            return Err(ConfigsError::Illegal(
                "requirement failed: Invalid entity config: all configs to be added must be in the format \"key=val\"."
                    .into(),
            ));
        }
        let value: String = kv[1].chars().filter(|c| *c != '[' && *c != ']').collect();
        out.push((kv[0].trim().to_string(), value.trim().to_string()));
    }
    Ok(out)
}

/// Value types of Kafka's quota and broker throttle configs.
#[derive(Clone, Copy)]
enum Kind {
    Long { min: Option<i64> },
    Int { min: Option<i32> },
    Double,
    Str,
}

const CLIENT_QUOTAS: [(&str, Kind); 4] = [
    ("producer_byte_rate", Kind::Long { min: None }),
    ("consumer_byte_rate", Kind::Long { min: None }),
    ("request_percentage", Kind::Double),
    ("controller_mutation_rate", Kind::Double),
];
const USER_EXTRA: [(&str, Kind); 2] = [("SCRAM-SHA-256", Kind::Str), ("SCRAM-SHA-512", Kind::Str)];
const IP_QUOTAS: [(&str, Kind); 1] = [("connection_creation_rate", Kind::Int { min: Some(0) })];

/// Broker configs ZooKeeper may change while the broker runs (replication throttles).
pub const BROKER_THROTTLES: [&str; 3] = [
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
];

fn check_value(key: &str, value: &str, kind: Kind) -> Result<(), ConfigsError> {
    let bad = |why: String| {
        Err(ConfigsError::Unexpected {
            class: "org.apache.kafka.common.config.ConfigException",
            message: format!("Invalid value {value} for configuration {key}: {why}"),
        })
    };
    let v = value.trim();
    match kind {
        Kind::Long { min } => match v.parse::<i64>() {
            Err(_) => bad("Not a number of type LONG".into()),
            Ok(n) if min.is_some_and(|m| n < m) => bad(format!("Value must be at least {}", min.unwrap_or(0))),
            Ok(_) => Ok(()),
        },
        Kind::Int { min } => match v.parse::<i32>() {
            Err(_) => bad("Not a number of type INT".into()),
            Ok(n) if min.is_some_and(|m| n < m) => bad(format!("Value must be at least {}", min.unwrap_or(0))),
            Ok(_) => Ok(()),
        },
        Kind::Double => match v.parse::<f64>() {
            Err(_) => bad("Not a number of type DOUBLE".into()),
            Ok(_) => Ok(()),
        },
        Kind::Str => Ok(()),
    }
}

fn validate_against(
    configs: &BTreeMap<String, String>,
    known: &[(&str, Kind)],
    custom_allowed: bool,
) -> Result<(), ConfigsError> {
    if !custom_allowed {
        let unknown: Vec<&str> =
            configs.keys().filter(|k| !known.iter().any(|(n, _)| n == k)).map(|k| k.as_str()).collect();
        if !unknown.is_empty() {
            return Err(ConfigsError::Illegal(format!(
                "requirement failed: Unknown Dynamic Configuration: Set({}).",
                unknown.join(", ")
            )));
        }
    }
    for (k, v) in configs {
        if let Some((_, kind)) = known.iter().find(|(n, _)| n == k) {
            check_value(k, v, *kind)?;
        }
    }
    Ok(())
}

/// Client-id (and `<user, client>` / default user) quota overrides.
pub fn validate_client_configs(configs: &BTreeMap<String, String>) -> Result<(), ConfigsError> {
    validate_against(configs, &CLIENT_QUOTAS, false)
}

/// User quota overrides and SCRAM credentials.
pub fn validate_user_configs(configs: &BTreeMap<String, String>) -> Result<(), ConfigsError> {
    let known: Vec<(&str, Kind)> = CLIENT_QUOTAS.iter().chain(USER_EXTRA.iter()).copied().collect();
    validate_against(configs, &known, false)
}

/// IP connection-rate overrides.
pub fn validate_ip_configs(configs: &BTreeMap<String, String>) -> Result<(), ConfigsError> {
    validate_against(configs, &IP_QUOTAS, false)
}

/// Broker overrides: any key is accepted, the throttle rates must be non-negative longs.
pub fn validate_broker_configs(configs: &BTreeMap<String, String>) -> Result<(), ConfigsError> {
    let known: Vec<(&str, Kind)> = BROKER_THROTTLES.iter().map(|k| (*k, Kind::Long { min: Some(0) })).collect();
    validate_against(configs, &known, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn add_config_syntax() {
        assert_eq!(parse_add_config("a=1").unwrap(), pairs(&[("a", "1")]));
        assert_eq!(
            parse_add_config("k1=v1,k2=[v1,v2,v2],k3=v3").unwrap(),
            pairs(&[("k1", "v1"), ("k2", "v1,v2,v2"), ("k3", "v3")])
        );
        assert_eq!(parse_add_config(" a = 1 , b= ").unwrap(), pairs(&[("a", "1"), ("b", "")]));
        assert_eq!(
            parse_add_config("SCRAM-SHA-256=[iterations=8192,password=alice-secret]").unwrap(),
            pairs(&[("SCRAM-SHA-256", "iterations=8192,password=alice-secret")])
        );
        assert_eq!(
            parse_add_config("leader.replication.throttled.replicas=[0:1,1:2],retention.ms=5").unwrap(),
            pairs(&[("leader.replication.throttled.replicas", "0:1,1:2"), ("retention.ms", "5")])
        );
        assert_eq!(parse_add_config("a=1,").unwrap(), pairs(&[("a", "1")]));
        let msg = "requirement failed: Invalid entity config: all configs to be added must be in the format \"key=val\".";
        assert_eq!(parse_add_config("a").unwrap_err(), ConfigsError::Illegal(msg.into()));
        assert_eq!(parse_add_config("a=1=2").unwrap_err(), ConfigsError::Illegal(msg.into()));
        assert_eq!(parse_add_config("a=1,,b=2").unwrap_err(), ConfigsError::Illegal(msg.into()));
    }

    #[test]
    fn quota_checks() {
        let m = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        assert!(validate_client_configs(&m(&[("producer_byte_rate", "1024"), ("request_percentage", "50.5")])).is_ok());
        assert_eq!(
            validate_client_configs(&m(&[("bogus", "1")])).unwrap_err(),
            ConfigsError::Illegal("requirement failed: Unknown Dynamic Configuration: Set(bogus).".into())
        );
        assert!(matches!(
            validate_client_configs(&m(&[("consumer_byte_rate", "fast")])).unwrap_err(),
            ConfigsError::Unexpected { message, .. } if message == "Invalid value fast for configuration consumer_byte_rate: Not a number of type LONG"
        ));
        assert!(validate_client_configs(&m(&[("SCRAM-SHA-256", "x")])).is_err());
        assert!(validate_user_configs(&m(&[("SCRAM-SHA-256", "x"), ("producer_byte_rate", "1")])).is_ok());
        assert!(validate_ip_configs(&m(&[("connection_creation_rate", "-1")])).is_err());
        assert!(validate_ip_configs(&m(&[("connection_creation_rate", "10")])).is_ok());
        assert!(validate_broker_configs(&m(&[("log.cleaner.threads", "2"), ("leader.replication.throttled.rate", "100")])).is_ok());
        assert!(validate_broker_configs(&m(&[("follower.replication.throttled.rate", "-5")])).is_err());
    }
}
