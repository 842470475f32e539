//! Listener endpoints: `NAME://host:port` strings of `listeners` / `advertised.listeners`.

use std::collections::BTreeMap;
use std::fmt;

use super::ConfigError;

/// One listener: its name (upper-case), security protocol, host (empty = all interfaces) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndPoint {
    /// Host to bind or advertise; empty means "all interfaces" (bind) / "canonical hostname" (advertise).
    pub host: String,
    /// Port; 0 binds an ephemeral port.
    pub port: i32,
    /// Listener name, e.g. `PLAINTEXT`, `INTERNAL`.
    pub listener_name: String,
    /// Security protocol from `listener.security.protocol.map`, e.g. `PLAINTEXT`.
    pub security_protocol: String,
}

impl EndPoint {
    /// `NAME://host:port` (IPv6 hosts in brackets), as Kafka prints and registers it.
    pub fn connection_string(&self) -> String {
        if self.host.contains(':') {
            format!("{}://[{}]:{}", self.listener_name, self.host, self.port)
        } else {
            format!("{}://{}:{}", self.listener_name, self.host, self.port)
        }
    }
}

impl fmt::Display for EndPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.connection_string())
    }
}

/// The protocol names Kafka knows (`SecurityProtocol`).
pub const SECURITY_PROTOCOLS: &[&str] = &["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

/// Parse `listener.security.protocol.map` (`NAME:PROTOCOL,...`).
pub fn parse_protocol_map(key: &str, value: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut map = BTreeMap::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, proto) = item.split_once(':').ok_or_else(|| {
            ConfigError::invalid(key, value, "Map entry should be of form <key>:<value>")
        })?;
        let proto = proto.trim().to_ascii_uppercase();
        if !SECURITY_PROTOCOLS.contains(&proto.as_str()) {
            return Err(ConfigError::invalid(key, value, &format!("No enum constant for security protocol {proto}")));
        }
        map.insert(name.trim().to_ascii_uppercase(), proto);
    }
    Ok(map)
}

/// Parse one `NAME://host:port`.
fn parse_endpoint(
    key: &str,
    whole: &str,
    s: &str,
    map: &BTreeMap<String, String>,
) -> Result<EndPoint, ConfigError> {
    let bad = || {
        ConfigError::invalid(key, whole, &format!("Unable to parse {s} to a broker endpoint"))
    };
    let (name, rest) = s.split_once("://").ok_or_else(bad)?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if !host.chars().all(|c| c.is_ascii_alphanumeric() || "-%._:".contains(c)) {
        return Err(bad());
    }
    let port: i32 = port.parse().map_err(|_| bad())?;
    if !(0..=65535).contains(&port) {
        return Err(bad());
    }
    let listener_name = name.trim().to_ascii_uppercase();
    let security_protocol = map.get(&listener_name).cloned().ok_or_else(|| {
        ConfigError::invalid(
            key,
            whole,
            &format!("No security protocol defined for listener {listener_name}"),
        )
    })?;
    Ok(EndPoint { host: host.to_string(), port, listener_name, security_protocol })
}

/// Parse a comma-separated listener list; listener names must be unique.
pub fn parse_listeners(
    key: &str,
    value: &str,
    map: &BTreeMap<String, String>,
) -> Result<Vec<EndPoint>, ConfigError> {
    let mut out: Vec<EndPoint> = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let ep = parse_endpoint(key, value, item, map)?;
        if out.iter().any(|e| e.listener_name == ep.listener_name) {
            return Err(ConfigError::invalid(
                key,
                value,
                "Each listener must have a different name",
            ));
        }
        out.push(ep);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_map() -> BTreeMap<String, String> {
        parse_protocol_map("m", "PLAINTEXT:PLAINTEXT,SSL:SSL,INTERNAL:PLAINTEXT").unwrap()
    }

    #[test]
    fn parses_hosts_ports_and_names() {
        let eps = parse_listeners("listeners", "PLAINTEXT://:9092, internal://[::1]:0,SSL://h.example:9093", &default_map())
            .unwrap();
        assert_eq!(eps[0], EndPoint { host: "".into(), port: 9092, listener_name: "PLAINTEXT".into(), security_protocol: "PLAINTEXT".into() });
        assert_eq!(eps[1].host, "::1");
        assert_eq!(eps[1].listener_name, "INTERNAL");
        assert_eq!(eps[1].connection_string(), "INTERNAL://[::1]:0");
        assert_eq!(eps[2].security_protocol, "SSL");
    }

    #[test]
    fn rejects_bad_endpoints() {
        let m = default_map();
        assert!(parse_listeners("listeners", "localhost:9092", &m).is_err());
        assert!(parse_listeners("listeners", "PLAINTEXT://h:x", &m).is_err());
        assert!(parse_listeners("listeners", "FOO://h:1", &m).is_err());
        assert!(parse_listeners("listeners", "PLAINTEXT://h:1,PLAINTEXT://h:2", &m).is_err());
        assert!(parse_protocol_map("m", "A:NOPE").is_err());
    }
}
