//! Config entities as `kafka-configs` names them: `/config/<type>/<name>` nodes, `<default>`
//! entities, `<user>/clients/<client>` pairs, Kafka's name sanitizing and the way entities are
//! printed (`topic 'T'`, `default client-id`, `user-principal 'u', client-id 'c'`).

use std::fmt;

use super::ConfigsError;

/// Node name of a default entity.
pub const DEFAULT_ENTITY: &str = "<default>";

/// Make a user principal or client id safe as a znode name (Kafka's `Sanitizer.sanitize`):
/// URL-encoding with `%20` for blanks and `%2A` for `*`.
pub fn sanitize(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Undo [`sanitize`] (URL-decoding; `+` also decodes to a blank, as Java's decoder does).
pub fn desanitize(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One level of an entity: a type and, unless "all of them", a (sanitized) name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// `topics`, `clients`, `users`, `brokers` or `ips`.
    pub entity_type: String,
    /// Sanitized name; `<default>` for the default entity; `None` for every entity of the type.
    pub sanitized_name: Option<String>,
}

impl Entity {
    /// `<type>/<name>` or just `<type>`.
    pub fn entity_path(&self) -> String {
        match &self.sanitized_name {
            Some(n) => format!("{}/{n}", self.entity_type),
            None => self.entity_type.clone(),
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let type_name = match self.entity_type.as_str() {
            "users" => "user-principal",
            "clients" => "client-id",
            "topics" => "topic",
            t => t,
        };
        match &self.sanitized_name {
            Some(n) if n == DEFAULT_ENTITY => write!(f, "default {type_name}"),
            Some(n) => {
                let shown = if self.entity_type == "users" || self.entity_type == "clients" {
                    desanitize(n)
                } else {
                    n.clone()
                };
                write!(f, "{type_name} '{shown}'")
            }
            None => f.write_str(&self.entity_type),
        }
    }
}

/// An entity, possibly a `<user, client>` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntity {
    /// The entity (the user for a pair).
    pub root: Entity,
    /// The client of a `<user, client>` pair.
    pub child: Option<Entity>,
}

impl ConfigEntity {
    /// Name below `/config/<root type>/`: `T`, `<default>`, `u/clients/c`.
    pub fn full_sanitized_name(&self) -> String {
        let mut s = self.root.sanitized_name.clone().unwrap_or_default();
        if let Some(c) = &self.child {
            s.push('/');
            s.push_str(&c.entity_path());
        }
        s
    }
}

impl fmt::Display for ConfigEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)?;
        if let Some(c) = &self.child {
            write!(f, ", {c}")?;
        }
        Ok(())
    }
}

/// Build the entity from the checked types and names (Kafka's `parseEntity`). Users and clients
/// may be paired (the user is always the root); their names are sanitized; "" is the default.
pub fn parse_entity(types: &[String], names: &[String], alter: bool) -> Result<ConfigEntity, ConfigsError> {
    let first = types.first().cloned().unwrap_or_default();
    if first != "users" && first != "clients" {
        let name = names.first().map(|n| if n.is_empty() { DEFAULT_ENTITY.to_string() } else { n.clone() });
        return Ok(ConfigEntity { root: Entity { entity_type: first, sanitized_name: name }, child: None });
    }
    if alter && names.len() != types.len() {
        return Err(ConfigsError::Illegal(
            "--entity-name or --entity-default must be specified with each --entity-type for --alter".into(),
        ));
    }
    let reverse = types.len() == 2 && types[0] == "clients";
    let ordered_types: Vec<&String> = if reverse { types.iter().rev().collect() } else { types.iter().collect() };
    let ordered_names: Vec<&String> =
        if reverse && names.len() == 2 { names.iter().rev().collect() } else { names.iter().collect() };
    let mut names_iter = ordered_names.into_iter();
    let mut entities = Vec::new();
    for t in ordered_types {
        let name = names_iter.next().map(|n| if n.is_empty() { DEFAULT_ENTITY.to_string() } else { sanitize(n) });
        entities.push(Entity { entity_type: t.clone(), sanitized_name: name });
    }
    let mut it = entities.into_iter();
    let root = it.next().unwrap_or(Entity { entity_type: first, sanitized_name: None });
    Ok(ConfigEntity { root, child: it.next() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn sanitizing_round_trip() {
        assert_eq!(sanitize("alice"), "alice");
        assert_eq!(sanitize("CN=a b,O=*"), "CN%3Da%20b%2CO%3D%2A");
        assert_eq!(sanitize("ü"), "%C3%BC");
        for n in ["alice", "CN=a b,O=*", "ü", "100%"] {
            assert_eq!(desanitize(&sanitize(n)), n);
        }
    }

    #[test]
    fn display() {
        let topic = parse_entity(&s(&["topics"]), &s(&["T"]), true).unwrap();
        assert_eq!(topic.to_string(), "topic 'T'");
        assert_eq!(topic.full_sanitized_name(), "T");
        let broker_default = parse_entity(&s(&["brokers"]), &s(&[""]), true).unwrap();
        assert_eq!(broker_default.to_string(), "default brokers");
        assert_eq!(broker_default.full_sanitized_name(), "<default>");
        assert_eq!(parse_entity(&s(&["brokers"]), &s(&["1"]), true).unwrap().to_string(), "brokers '1'");
        let pair = parse_entity(&s(&["clients", "users"]), &s(&["c 1", "u"]), true).unwrap();
        assert_eq!(pair.to_string(), "user-principal 'u', client-id 'c 1'");
        assert_eq!(pair.full_sanitized_name(), "u/clients/c%201");
        let all_topics = parse_entity(&s(&["topics"]), &[], false).unwrap();
        assert_eq!(all_topics.to_string(), "topics");
        assert_eq!(parse_entity(&s(&["clients"]), &s(&[""]), true).unwrap().to_string(), "default client-id");
        assert!(parse_entity(&s(&["users", "clients"]), &s(&["u"]), true).is_err());
        let users_of_any_client = parse_entity(&s(&["users", "clients"]), &s(&["u"]), false).unwrap();
        assert_eq!(users_of_any_client.child, Some(Entity { entity_type: "clients".into(), sanitized_name: None }));
    }
}
