//! `kafka-configs --zookeeper`: describe and alter `/config/<type>/<name>` nodes the way Kafka
//! 2.8's `ConfigCommand` does, notifying brokers through `/config/changes`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use zk_schema::admin::validate_topic_name;
use zk_schema::{paths, KafkaZkClient, ZkError};

use super::args::{is_valid_ip_entity, ConfigCommandOptions};
use super::entity::{parse_entity, ConfigEntity, Entity, DEFAULT_ENTITY};
use super::values::{
    parse_add_config, validate_broker_configs, validate_client_configs, validate_ip_configs, validate_user_configs,
    BROKER_THROTTLES,
};
use super::ConfigsError;
use crate::client::props::load_props_file;
use crate::topics::command::{ensure_config_changes_path, zk_message};
use crate::topics::overrides::{validate_overrides, warn_message_format_version, ConfigProblem};

type Result<T> = std::result::Result<T, ConfigsError>;

fn zk_error(e: ZkError) -> ConfigsError {
    ConfigsError::Unexpected { class: "org.apache.zookeeper.KeeperException", message: zk_message(e) }
}

/// Run the checked command against ZooKeeper.
pub async fn execute(zk: &KafkaZkClient, opts: &ConfigCommandOptions, out: &mut dyn Write) -> Result<()> {
    if opts.alter {
        alter(zk, opts, out).await
    } else {
        describe(zk, opts, out).await
    }
}

/// Overrides to add: from `--add-config-file` and/or `--add-config` (later wins), with the
/// `message.format.version` warning.
pub fn configs_to_add(opts: &ConfigCommandOptions, out: &mut dyn Write) -> Result<BTreeMap<String, String>> {
    let mut props = BTreeMap::new();
    if let Some(file) = &opts.add_config_file {
        let loaded = load_props_file(Path::new(file)).map_err(|e| ConfigsError::Unexpected {
            class: "java.io.FileNotFoundException",
            message: format!("{file} ({})", e.source),
        })?;
        props.extend(loaded);
    }
    if let Some(list) = &opts.add_config {
        props.extend(parse_add_config(list)?);
    }
    warn_message_format_version(&props, out);
    Ok(props)
}

/// Keys to delete, trimmed.
pub fn configs_to_delete(opts: &ConfigCommandOptions) -> Vec<String> {
    opts.delete_configs.iter().map(|k| k.trim().to_string()).collect()
}

/// Merge an alteration into the current overrides; deleting a key that is not set is an error
/// naming every such key (`Invalid config(s): a,b`).
pub fn merge_alteration(
    current: &BTreeMap<String, String>,
    add: &BTreeMap<String, String>,
    delete: &[String],
) -> Result<BTreeMap<String, String>> {
    let missing: Vec<&str> = delete.iter().filter(|k| !current.contains_key(*k)).map(|k| k.as_str()).collect();
    if !missing.is_empty() {
        return Err(ConfigsError::Illegal(format!("Invalid config(s): {}", missing.join(","))));
    }
    let mut merged = current.clone();
    merged.extend(add.iter().map(|(k, v)| (k.clone(), v.clone())));
    for k in delete {
        merged.remove(k);
    }
    Ok(merged)
}

fn scala_set(keys: &[&String]) -> String {
    format!("Set({})", keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "))
}

async fn alter(zk: &KafkaZkClient, opts: &ConfigCommandOptions, out: &mut dyn Write) -> Result<()> {
    let mut add = configs_to_add(opts, out)?;
    let delete = configs_to_delete(opts);
    let entity = parse_entity(&opts.entity_types, &opts.entity_names, true)?;
    let entity_type = entity.root.entity_type.clone();
    let name = entity.full_sanitized_name();

    if entity_type == "users" && add.keys().any(|k| k.starts_with("SCRAM-SHA-")) {
        return Err(ConfigsError::Illegal(
            "SCRAM credentials cannot be set by this implementation of kafka-configs yet".into(),
        ));
    }
    if entity_type == "brokers" {
        let dynamic: Vec<&String> = add.keys().filter(|k| !BROKER_THROTTLES.contains(&k.as_str())).collect();
        if !dynamic.is_empty() {
            let problem = format!(
                "requirement failed: --bootstrap-server option must be specified to update broker configs {}",
                scala_set(&dynamic)
            );
            let info = "Broker configuration updates using ZooKeeper are supported for bootstrapping before brokers are started to enable encrypted password configs to be stored in ZooKeeper.";
            if name != DEFAULT_ENTITY {
                let id = parse_broker(&name)?;
                if zk.exists(&paths::broker_id(id)).await.map_err(zk_error)?.is_some() {
                    return Err(ConfigsError::Illegal(format!("{problem} when broker {name} is running. {info}")));
                }
            } else if !zk.get_all_brokers().await.map_err(zk_error)?.is_empty() {
                return Err(ConfigsError::Illegal(format!(
                    "{problem} for default cluster if any broker is running. {info}"
                )));
            }
            // Password encoder settings are used for encryption only and never stored.
            add.retain(|k, _| !k.starts_with("password.encoder."));
            if let Some(k) = add.keys().find(|k| k.contains("password") || k.ends_with("jaas.config")) {
                return Err(ConfigsError::Illegal(format!(
                    "{k} looks like a password config; encrypting password configs is not supported by this implementation of kafka-configs yet"
                )));
            }
        }
    }

    let current = zk.get_entity_config(&entity_type, &name).await.map_err(zk_error)?;
    let merged = merge_alteration(&current, &add, &delete)?;
    change_configs(zk, &entity_type, &name, &merged).await?;
    let _ = writeln!(out, "Completed updating config for entity: {entity}.");
    Ok(())
}

fn parse_broker(name: &str) -> Result<i32> {
    name.parse::<i32>().map_err(|_| {
        ConfigsError::Illegal(format!(
            "Error parsing broker {name}. The broker's Entity Name must be a single integer value"
        ))
    })
}

/// Validate the final overrides of an entity for its type and write them with a change
/// notification (Kafka's `AdminZkClient.changeConfigs`).
pub async fn change_configs(
    zk: &KafkaZkClient,
    entity_type: &str,
    name: &str,
    configs: &BTreeMap<String, String>,
) -> Result<()> {
    match entity_type {
        "topics" => {
            validate_topic_name(name).map_err(|e| ConfigsError::Unexpected {
                class: "org.apache.kafka.common.errors.InvalidTopicException",
                message: zk_message(e),
            })?;
            if zk.exists(&paths::topic(name)).await.map_err(zk_error)?.is_none() {
                return Err(ConfigsError::Unexpected {
                    class: "org.apache.kafka.common.errors.UnknownTopicOrPartitionException",
                    message: format!("Topic '{name}' does not exist."),
                });
            }
            validate_overrides(configs).map_err(|p| match p {
                ConfigProblem::UnknownName(m) | ConfigProblem::Malformed(m) => ConfigsError::Illegal(m),
                ConfigProblem::InvalidValue(m) => {
                    ConfigsError::Unexpected { class: "org.apache.kafka.common.config.ConfigException", message: m }
                }
            })?;
        }
        "clients" => validate_client_configs(configs)?,
        "users" => {
            if name == DEFAULT_ENTITY || name.contains("/clients") {
                validate_client_configs(configs)?
            } else {
                validate_user_configs(configs)?
            }
        }
        "brokers" => {
            if name != DEFAULT_ENTITY {
                parse_broker(name)?;
            }
            validate_broker_configs(configs)?
        }
        "ips" => {
            if !is_valid_ip_entity(name) {
                return Err(ConfigsError::Unexpected {
                    class: "kafka.admin.AdminOperationException",
                    message: format!("{name} is not a valid IP or resolvable host."),
                });
            }
            validate_ip_configs(configs)?
        }
        other => {
            return Err(ConfigsError::Illegal(format!(
                "{other} is not a known entityType. Should be one of List(topics, clients, users, brokers, ips)"
            )))
        }
    }
    ensure_config_changes_path(zk).await.map_err(zk_error)?;
    zk.change_entity_config(entity_type, name, configs).await.map_err(zk_error)
}

/// Children of `/config/<path>`, sorted (ZooKeeper returns them in no particular order).
async fn entities_with_config(zk: &KafkaZkClient, path: &str) -> Result<Vec<String>> {
    let mut names = zk.get_children(&paths::config_entity_type(path)).await.map_err(zk_error)?;
    names.sort();
    Ok(names)
}

/// Expand an entity without a name into every entity of its type that has a config node
/// (Kafka's `getAllEntities`).
pub async fn all_entities(zk: &KafkaZkClient, entity: &ConfigEntity) -> Result<Vec<ConfigEntity>> {
    match (&entity.root.sanitized_name, &entity.child) {
        (None, child) => {
            let mut out = Vec::new();
            for name in entities_with_config(zk, &entity.root.entity_type).await? {
                let root = Entity { entity_type: entity.root.entity_type.clone(), sanitized_name: Some(name) };
                match child {
                    Some(c) => {
                        let parent = ConfigEntity {
                            root,
                            child: Some(Entity { entity_type: c.entity_type.clone(), sanitized_name: None }),
                        };
                        out.extend(Box::pin(all_entities(zk, &parent)).await?);
                    }
                    None => out.push(ConfigEntity { root, child: None }),
                }
            }
            Ok(out)
        }
        (Some(_), Some(child)) if child.sanitized_name.is_none() => {
            let path = format!("{}/{}", entity.root.entity_path(), child.entity_type);
            Ok(entities_with_config(zk, &path)
                .await?
                .into_iter()
                .map(|n| ConfigEntity {
                    root: entity.root.clone(),
                    child: Some(Entity { entity_type: child.entity_type.clone(), sanitized_name: Some(n) }),
                })
                .collect())
        }
        _ => Ok(vec![entity.clone()]),
    }
}

/// `Configs for <entity> are k1=v1,k2=v2`.
pub fn describe_line(entity: &ConfigEntity, configs: &BTreeMap<String, String>) -> String {
    let list: Vec<String> = configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("Configs for {entity} are {}", list.join(","))
}

async fn describe(zk: &KafkaZkClient, opts: &ConfigCommandOptions, out: &mut dyn Write) -> Result<()> {
    let entity = parse_entity(&opts.entity_types, &opts.entity_names, false)?;
    let all_users =
        entity.root.entity_type == "users" && entity.root.sanitized_name.is_none() && entity.child.is_none();
    for e in all_entities(zk, &entity).await? {
        let configs = zk.get_entity_config(&e.root.entity_type, &e.full_sanitized_name()).await.map_err(zk_error)?;
        // Users that only hold <user, client> nodes are left out when listing all users.
        if !configs.is_empty() || !all_users {
            let _ = writeln!(out, "{}", describe_line(&e, &configs));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn alteration_merge() {
        let current = m(&[("retention.ms", "1000"), ("cleanup.policy", "compact")]);
        let merged =
            merge_alteration(&current, &m(&[("retention.ms", "5"), ("segment.ms", "10")]), &["cleanup.policy".into()])
                .unwrap();
        assert_eq!(merged, m(&[("retention.ms", "5"), ("segment.ms", "10")]));
        assert_eq!(
            merge_alteration(&current, &BTreeMap::new(), &["a".into(), "retention.ms".into(), "b".into()]).unwrap_err(),
            ConfigsError::Illegal("Invalid config(s): a,b".into())
        );
    }

    #[test]
    fn describe_lines() {
        let topic = parse_entity(&["topics".to_string()], &["T".to_string()], false).unwrap();
        assert_eq!(
            describe_line(&topic, &m(&[("retention.ms", "1000"), ("cleanup.policy", "compact")])),
            "Configs for topic 'T' are cleanup.policy=compact,retention.ms=1000"
        );
        assert_eq!(describe_line(&topic, &BTreeMap::new()), "Configs for topic 'T' are ");
    }

    #[test]
    fn add_sources() {
        let dir = std::env::temp_dir().join(format!("kafka-configs-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("add.properties");
        std::fs::write(&file, "# comment\nretention.ms=100\nmessage.format.version=2.8\n").unwrap();
        let opts = ConfigCommandOptions {
            add_config_file: Some(file.to_string_lossy().into_owned()),
            ..Default::default()
        };
        let mut out = Vec::new();
        let add = configs_to_add(&opts, &mut out).unwrap();
        assert_eq!(add, m(&[("retention.ms", "100"), ("message.format.version", "2.8")]));
        assert!(String::from_utf8(out).unwrap().starts_with("WARNING: The configuration message.format.version=2.8"));
        let missing = ConfigCommandOptions { add_config_file: Some("/nonexistent/x".into()), ..Default::default() };
        assert!(matches!(configs_to_add(&missing, &mut Vec::new()), Err(ConfigsError::Unexpected { .. })));
        let _ = std::fs::remove_dir_all(dir);
    }
}
