//! Topic config overrides (`/config/topics/<T>`) as this broker knows them.
//!
//! Loaded from ZooKeeper before the log manager starts (its `config_for` closure reads it) and kept
//! current by the `DynamicConfigManager`. A topic's effective `LogConfig` is the broker defaults with
//! the topic's overrides applied.

use std::collections::BTreeMap;
use std::sync::RwLock;

use storage::LogConfig;

/// Thread-safe map topic → override key/values, plus the broker defaults they apply to.
pub struct TopicConfigs {
    defaults: LogConfig,
    overrides: RwLock<BTreeMap<String, BTreeMap<String, String>>>,
}

impl TopicConfigs {
    /// Empty map over these broker defaults (`KafkaConfig::log_config()`).
    pub fn new(defaults: LogConfig) -> Self {
        TopicConfigs { defaults, overrides: RwLock::new(BTreeMap::new()) }
    }

    /// Replace everything (startup, or after a ZooKeeper session was re-established).
    pub fn load_all(&self, all: BTreeMap<String, BTreeMap<String, String>>) {
        let all = all.into_iter().filter(|(_, o)| !o.is_empty()).collect();
        *self.overrides.write().unwrap_or_else(|e| e.into_inner()) = all;
    }

    /// The broker defaults.
    pub fn defaults(&self) -> &LogConfig {
        &self.defaults
    }

    /// Effective config of `topic`. Invalid stored overrides (written by a newer or buggy tool) are
    /// ignored with a warning, as Kafka logs and keeps going.
    pub fn log_config(&self, topic: &str) -> LogConfig {
        let overrides = self.overrides(topic);
        if overrides.is_empty() {
            return self.defaults.clone();
        }
        match self.defaults.with_overrides(&overrides) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("Ignoring invalid config overrides of topic {topic} ({e}); using broker defaults");
                self.defaults.clone()
            }
        }
    }

    /// The overrides of `topic` (empty if none).
    pub fn overrides(&self, topic: &str) -> BTreeMap<String, String> {
        self.overrides.read().unwrap_or_else(|e| e.into_inner()).get(topic).cloned().unwrap_or_default()
    }

    /// Replace the overrides of `topic` (empty removes the entry).
    pub fn set(&self, topic: &str, overrides: BTreeMap<String, String>) {
        let mut map = self.overrides.write().unwrap_or_else(|e| e.into_inner());
        if overrides.is_empty() {
            map.remove(topic);
        } else {
            map.insert(topic.to_string(), overrides);
        }
    }

    /// Forget `topic` (deleted).
    pub fn remove(&self, topic: &str) {
        self.overrides.write().unwrap_or_else(|e| e.into_inner()).remove(topic);
    }

    /// Re-read the overrides of `topics` from `/config/topics/<T>` (Kafka reads a topic's config from
    /// ZooKeeper when it creates the topic's log: a topic created with overrides has no change
    /// notification, so call this before creating logs for topics not seen before). Errors leave the
    /// cached value in place and are logged.
    pub async fn refresh_from_zk<'a>(&self, zk: &zk_schema::KafkaZkClient, topics: impl IntoIterator<Item = &'a str>) {
        for topic in topics {
            match zk.get_entity_config("topics", topic).await {
                Ok(overrides) => self.set(topic, overrides),
                Err(e) => tracing::warn!("Could not read config overrides of topic {topic} from ZooKeeper: {e}"),
            }
        }
    }

    /// Topics that have overrides.
    pub fn topics(&self) -> Vec<String> {
        self.overrides.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn overrides_apply_on_top_of_defaults() {
        let defaults = LogConfig { segment_bytes: 5000, ..LogConfig::default() };
        let tc = TopicConfigs::new(defaults.clone());
        assert_eq!(tc.log_config("t"), defaults);
        tc.set("t", m(&[("retention.ms", "1000")]));
        let c = tc.log_config("t");
        assert_eq!(c.retention_ms, 1000);
        assert_eq!(c.segment_bytes, 5000);
        assert_eq!(tc.overrides("t"), m(&[("retention.ms", "1000")]));
        assert_eq!(tc.topics(), vec!["t".to_string()]);
        tc.set("t", BTreeMap::new());
        assert!(tc.overrides("t").is_empty());
        tc.set("t", m(&[("retention.ms", "1")]));
        tc.remove("t");
        assert_eq!(tc.log_config("t"), defaults);
    }

    #[test]
    fn invalid_overrides_fall_back_to_defaults() {
        let tc = TopicConfigs::new(LogConfig::default());
        tc.load_all([("bad".to_string(), m(&[("segment.bytes", "abc")])), ("empty".to_string(), BTreeMap::new())].into());
        assert_eq!(tc.log_config("bad"), LogConfig::default());
        assert_eq!(tc.topics(), vec!["bad".to_string()]);
    }
}
