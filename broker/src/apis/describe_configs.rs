//! DescribeConfigs (key 32, v0-4).
//!
//! * Topic resources: every topic config Kafka 2.8 knows with its effective value and source —
//!   DYNAMIC_TOPIC_CONFIG for overrides stored in ZooKeeper, STATIC_BROKER_CONFIG when the broker
//!   default was set in server.properties, DEFAULT_CONFIG otherwise — plus synonyms (v1+, on request).
//! * Broker resources: this broker's own static configuration (its id), or the (empty) cluster-wide
//!   dynamic defaults for the empty name.

use std::collections::BTreeMap;

use wire::kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use wire::kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use wire::kafka_protocol::protocol::StrBytes;
use wire::ResponseError;
use zk_schema::admin::validate_topic_name;

use super::{KafkaApis, RequestContext};
use crate::config::defs::{self, ConfigType};
use crate::config::KafkaConfig;

/// Resource type codes (`ConfigResource.Type`).
pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;
pub const RESOURCE_BROKER_LOGGER: i8 = 8;

/// Config source codes (`DescribeConfigsResponse.ConfigSource`).
pub const SOURCE_DYNAMIC_TOPIC_CONFIG: i8 = 1;
pub const SOURCE_STATIC_BROKER_CONFIG: i8 = 4;
pub const SOURCE_DEFAULT_CONFIG: i8 = 5;

/// One described config entry, independent of the wire version.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub source: i8,
    pub sensitive: bool,
    pub read_only: bool,
    pub config_type: ConfigType,
    /// `(name, value, source)` from most to least specific.
    pub synonyms: Vec<(String, Option<String>, i8)>,
}

/// Entries for a topic's configs: `overrides` are the topic's stored overrides, `effective` the
/// resulting LogConfig. Restricted to `keys` when given.
pub fn topic_config_entries(
    config: &KafkaConfig,
    overrides: &BTreeMap<String, String>,
    effective: &storage::LogConfig,
    keys: Option<&[String]>,
) -> Vec<ConfigEntry> {
    let mut out = Vec::new();
    for name in storage::LogConfig::TOPIC_CONFIG_NAMES {
        if keys.is_some_and(|k| !k.iter().any(|k| k == name)) {
            continue;
        }
        let mut synonyms = Vec::new();
        if let Some(v) = overrides.get(*name) {
            synonyms.push((name.to_string(), Some(v.clone()), SOURCE_DYNAMIC_TOPIC_CONFIG));
        }
        let broker_keys = defs::topic_config_synonyms(name);
        for key in broker_keys {
            if let Some(v) = config.originals().get(*key) {
                synonyms.push((key.to_string(), Some(v.clone()), SOURCE_STATIC_BROKER_CONFIG));
            }
        }
        for key in broker_keys {
            if let Some(def) = defs::find(key) {
                if let Some(d) = def.default {
                    synonyms.push((key.to_string(), Some(d.to_string()), SOURCE_DEFAULT_CONFIG));
                }
            }
        }
        let source = synonyms.first().map(|s| s.2).unwrap_or(SOURCE_DEFAULT_CONFIG);
        out.push(ConfigEntry {
            name: name.to_string(),
            value: effective.value_of(name),
            source,
            sensitive: false,
            read_only: false,
            config_type: defs::topic_config_type(name),
            synonyms,
        });
    }
    out
}

/// Entries for this broker's static configuration.
pub fn broker_config_entries(config: &KafkaConfig, keys: Option<&[String]>) -> Vec<ConfigEntry> {
    config
        .describe()
        .into_iter()
        .filter(|(def, _, _)| keys.is_none_or(|k| k.iter().any(|k| k == def.name)))
        .map(|(def, value, supplied)| {
            let sensitive = def.ty == ConfigType::Password;
            let source = if supplied { SOURCE_STATIC_BROKER_CONFIG } else { SOURCE_DEFAULT_CONFIG };
            let value = if sensitive { None } else { value };
            let mut synonyms = Vec::new();
            if supplied {
                synonyms.push((def.name.to_string(), value.clone(), SOURCE_STATIC_BROKER_CONFIG));
            }
            if let Some(d) = def.default {
                synonyms.push((def.name.to_string(), if sensitive { None } else { Some(d.to_string()) }, SOURCE_DEFAULT_CONFIG));
            }
            ConfigEntry {
                name: def.name.to_string(),
                value,
                source,
                sensitive,
                // Dynamic broker configs are not supported: everything is read-only.
                read_only: true,
                config_type: def.ty,
                synonyms,
            }
        })
        .collect()
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn to_wire(e: &ConfigEntry, version: i16, include_synonyms: bool) -> DescribeConfigsResourceResult {
    let mut r = DescribeConfigsResourceResult::default()
        .with_name(s(&e.name))
        .with_value(e.value.as_deref().map(s))
        .with_read_only(e.read_only)
        .with_is_sensitive(e.sensitive)
        .with_documentation(None);
    if version == 0 {
        r = r.with_is_default(e.source == SOURCE_DEFAULT_CONFIG);
    } else {
        r = r.with_config_source(e.source);
    }
    if version >= 1 && include_synonyms {
        r = r.with_synonyms(
            e.synonyms
                .iter()
                .map(|(n, v, src)| DescribeConfigsSynonym::default().with_name(s(n)).with_value(v.as_deref().map(s)).with_source(*src))
                .collect(),
        );
    }
    if version >= 3 {
        r = r.with_config_type(e.config_type.describe_code());
    }
    r
}

/// Handle a DescribeConfigs request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let version = ctx.header.api_version;
    let mut results = Vec::new();
    for res in &req.resources {
        let name = res.resource_name.to_string();
        let keys: Option<Vec<String>> = res.configuration_keys.as_ref().map(|k| k.iter().map(|k| k.to_string()).collect());
        let base = DescribeConfigsResult::default().with_resource_type(res.resource_type).with_resource_name(res.resource_name.clone());
        let outcome: Result<Vec<ConfigEntry>, (ResponseError, String)> = match res.resource_type {
            RESOURCE_TOPIC => {
                if let Err(e) = validate_topic_name(&name) {
                    Err((ResponseError::InvalidTopicException, e.to_string()))
                } else if !apis.metadata_cache.contains_topic(&name) {
                    Err((ResponseError::UnknownTopicOrPartition, format!("Topic '{name}' does not exist.")))
                } else {
                    // ZooKeeper is authoritative (as in Kafka): overrides written with a new topic
                    // carry no change notification.
                    match apis.zk.get_entity_config("topics", &name).await {
                        Ok(overrides) => {
                            let effective = apis.topic_configs.defaults().with_overrides(&overrides).unwrap_or_else(|e| {
                                tracing::warn!("Invalid config overrides stored for topic {name}: {e}");
                                apis.topic_configs.defaults().clone()
                            });
                            Ok(topic_config_entries(&apis.config, &overrides, &effective, keys.as_deref()))
                        }
                        Err(e) => Err((ResponseError::UnknownServerError, e.to_string())),
                    }
                }
            }
            RESOURCE_BROKER => {
                if name.is_empty() {
                    // Cluster-wide dynamic defaults: none are supported, so none are set.
                    Ok(Vec::new())
                } else if name.parse::<i32>().ok() == Some(apis.replica_manager.broker_id()) {
                    Ok(broker_config_entries(&apis.config, keys.as_deref()))
                } else {
                    Err((
                        ResponseError::InvalidRequest,
                        format!(
                            "Unexpected broker id, expected {} or empty string, but received {name}",
                            apis.replica_manager.broker_id()
                        ),
                    ))
                }
            }
            RESOURCE_BROKER_LOGGER => Err((ResponseError::InvalidRequest, "Describing broker loggers is not supported yet".to_string())),
            other => Err((ResponseError::InvalidRequest, format!("Unsupported resource type {other}"))),
        };
        results.push(match outcome {
            Ok(entries) => base.with_error_code(0).with_error_message(None).with_configs(
                entries.iter().map(|e| to_wire(e, version, req.include_synonyms)).collect(),
            ),
            Err((code, msg)) => base.with_error_code(code.code()).with_error_message(Some(s(&msg))),
        });
    }
    DescribeConfigsResponse::default().with_results(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kv: &[(&str, &str)]) -> KafkaConfig {
        let mut m: BTreeMap<String, String> = kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        m.insert("zookeeper.connect".into(), "localhost:2181".into());
        KafkaConfig::from_props(&m).unwrap()
    }

    #[test]
    fn topic_sources_and_synonyms() {
        let c = config(&[("log.retention.hours", "24")]);
        let overrides: BTreeMap<String, String> = [("segment.bytes".to_string(), "1000".to_string())].into();
        let effective = c.log_config().with_overrides(&overrides).unwrap();
        let entries = topic_config_entries(&c, &overrides, &effective, None);
        assert_eq!(entries.len(), storage::LogConfig::TOPIC_CONFIG_NAMES.len());
        let seg = entries.iter().find(|e| e.name == "segment.bytes").unwrap();
        assert_eq!((seg.value.as_deref(), seg.source), (Some("1000"), SOURCE_DYNAMIC_TOPIC_CONFIG));
        assert_eq!(seg.synonyms[1], ("log.segment.bytes".to_string(), Some("1073741824".to_string()), SOURCE_DEFAULT_CONFIG));
        let ret = entries.iter().find(|e| e.name == "retention.ms").unwrap();
        assert_eq!((ret.value.as_deref(), ret.source), (Some("86400000"), SOURCE_STATIC_BROKER_CONFIG));
        assert_eq!(ret.synonyms[0], ("log.retention.hours".to_string(), Some("24".to_string()), SOURCE_STATIC_BROKER_CONFIG));
        let pol = entries.iter().find(|e| e.name == "cleanup.policy").unwrap();
        assert_eq!((pol.value.as_deref(), pol.source), (Some("delete"), SOURCE_DEFAULT_CONFIG));
        let only = topic_config_entries(&c, &overrides, &effective, Some(&["cleanup.policy".to_string()]));
        assert_eq!(only.len(), 1);
    }

    #[test]
    fn wire_encoding_at_every_version() {
        use wire::kafka_protocol::protocol::Encodable;
        let c = config(&[]);
        let entries = broker_config_entries(&c, None);
        assert!(entries.iter().any(|e| e.name == "num.partitions" && e.value.as_deref() == Some("1")));
        for v in 0..=4 {
            let r = DescribeConfigsResponse::default().with_results(vec![DescribeConfigsResult::default()
                .with_error_message(None)
                .with_configs(entries.iter().map(|e| to_wire(e, v, true)).collect())]);
            let mut buf = bytes::BytesMut::new();
            r.encode(&mut buf, v).unwrap_or_else(|e| panic!("v{v}: {e}"));
        }
    }
}
