//! `DynamicConfigManager`: applies config changes announced under `/config/changes`.
//!
//! Whoever changes an entity's config writes `/config/<type>/<name>` and then a sequential
//! `config_change_N` notification. Every broker watches the children of `/config/changes`, handles
//! each notification whose sequence number is above the last one it processed by re-reading the
//! entity's full config, and deletes notifications older than 15 minutes. Topic configs change the
//! topic's `LogConfig` and its replication throttles; broker configs (this broker's entity and
//! `<default>`) set the replication throttle rates (see `dynamic_config_broker`); other entity types
//! are acknowledged and skipped. After a ZooKeeper session is re-established every topic and broker
//! config is re-read, since changes may have been missed while no watch was set.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use storage::LogManager;
use tokio::task::JoinHandle;
use zk_schema::client::WatchEvent;
use zk_schema::model::ConfigChangeNotification;
use zk_schema::{paths, KafkaZkClient, SessionEvent, ZkError};

use crate::dynamic_config_broker as throttles;
use crate::replication_quota::ReplicationQuotas;
use crate::topic_configs::TopicConfigs;

/// Notifications older than this are deleted by whichever broker sees them.
pub const CHANGE_EXPIRATION_MS: i64 = 15 * 60 * 1000;
/// Prefix of notification znodes.
const CHANGE_PREFIX: &str = "config_change_";

/// Something that must hear about a topic's new config (the log manager in production).
pub trait TopicConfigListener: Send + Sync {
    /// The overrides of `topic` changed (or were removed).
    fn topic_config_changed(&self, topic: &str);
}

impl TopicConfigListener for LogManager {
    fn topic_config_changed(&self, topic: &str) {
        LogManager::topic_config_changed(self, topic)
    }
}

/// The running manager; dropping it does not stop it, call [`DynamicConfigManager::shutdown`].
pub struct DynamicConfigManager {
    task: JoinHandle<()>,
}

struct State {
    zk: KafkaZkClient,
    topic_configs: Arc<TopicConfigs>,
    listener: Arc<dyn TopicConfigListener>,
    last_processed: i64,
    /// This broker's id (which `brokers` entity and throttled replicas concern us).
    broker_id: i32,
    /// Replication quotas fed by the throttle configs.
    quotas: Arc<ReplicationQuotas>,
}

/// Sequence number of a `config_change_0000000042` child.
pub fn sequence_number(child: &str) -> Option<i64> {
    child.strip_prefix(CHANGE_PREFIX).and_then(|s| s.parse().ok())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl DynamicConfigManager {
    /// Start watching. Existing notifications are processed once at startup (re-reading the configs
    /// they name is harmless) and expired ones are purged. The replication throttles are first set
    /// from the topic overrides already loaded and from the broker entities in ZooKeeper.
    pub fn start(
        zk: KafkaZkClient,
        topic_configs: Arc<TopicConfigs>,
        listener: Arc<dyn TopicConfigListener>,
        broker_id: i32,
        quotas: Arc<ReplicationQuotas>,
    ) -> Self {
        for topic in topic_configs.topics() {
            throttles::apply_topic_configs(&quotas, broker_id, &topic, &topic_configs.overrides(&topic));
        }
        let state = State { zk, topic_configs, listener, last_processed: -1, broker_id, quotas };
        DynamicConfigManager { task: tokio::spawn(run(state)) }
    }

    /// Stop watching.
    pub fn shutdown(&self) {
        self.task.abort();
    }
}

async fn run(mut st: State) {
    let mut sessions = st.zk.subscribe();
    while let Err(e) = throttles::load_broker_configs(&st.zk, st.broker_id, &st.quotas).await {
        tracing::warn!("Error reading broker configs: {e}; retrying");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    loop {
        let watch = match st.process_notifications().await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!("Error processing config change notifications: {e}; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut reload = false;
        tokio::select! {
            ev = watch.changed() => {
                if ev == WatchEvent::SessionLost {
                    // Wait for the new session below.
                    loop {
                        match sessions.recv().await {
                            Ok(SessionEvent::Reestablished) => break,
                            Ok(SessionEvent::Expired) => continue,
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                        }
                    }
                    reload = true;
                }
            }
            ev = sessions.recv() => match ev {
                Ok(SessionEvent::Reestablished) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => reload = true,
                Ok(SessionEvent::Expired) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
        }
        if reload {
            while let Err(e) = st.reload_all_topics().await {
                tracing::warn!("Error re-reading topic configs after ZooKeeper session re-establishment: {e}; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

impl State {
    /// Handle new notifications, purge expired ones, and return the re-armed child watch.
    async fn process_notifications(&mut self) -> Result<zk_schema::client::Watch, ZkError> {
        let (children, watch) = self.zk.get_children_and_watch(paths::CONFIG_CHANGES).await?;
        let mut seqs: Vec<(i64, String)> =
            children.into_iter().filter_map(|c| sequence_number(&c).map(|n| (n, c))).collect();
        seqs.sort();
        let now = now_ms();
        for (seq, child) in seqs {
            let path = paths::config_change(&child);
            let Some((data, stat)) = self.zk.get_data(&path).await? else { continue };
            if seq > self.last_processed {
                match ConfigChangeNotification::decode(&path, &data) {
                    Ok(n) => self.apply(&n).await?,
                    Err(e) => tracing::error!("Ignoring malformed config change notification {path}: {e}"),
                }
                self.last_processed = seq;
            }
            if stat.ctime < now - CHANGE_EXPIRATION_MS {
                tracing::debug!("Purging expired config change notification {path}");
                self.zk.delete(&path, None).await?;
            }
        }
        Ok(watch)
    }

    async fn apply(&self, n: &ConfigChangeNotification) -> Result<(), ZkError> {
        match n.entity_type.as_str() {
            "topics" => {
                let overrides = self.zk.get_entity_config("topics", &n.entity_name).await?;
                tracing::info!("Processing override for entityPath: topics/{} with config: {:?}", n.entity_name, overrides);
                throttles::apply_topic_configs(&self.quotas, self.broker_id, &n.entity_name, &overrides);
                self.topic_configs.set(&n.entity_name, overrides);
                self.listener.topic_config_changed(&n.entity_name);
            }
            "brokers" if throttles::concerns_broker(&n.entity_name, self.broker_id) => {
                tracing::info!("Processing override for entityPath: brokers/{}", n.entity_name);
                throttles::load_broker_configs(&self.zk, self.broker_id, &self.quotas).await?;
            }
            other => tracing::debug!("Ignoring config change for {other}/{} (not applied by this broker)", n.entity_name),
        }
        Ok(())
    }

    /// Re-read every topic's overrides and tell the listener about the ones that differ; re-apply
    /// the replication throttles.
    async fn reload_all_topics(&mut self) -> Result<(), ZkError> {
        let all: BTreeMap<String, BTreeMap<String, String>> = self.zk.get_all_entity_configs("topics").await?;
        let mut changed: Vec<String> = Vec::new();
        for topic in self.topic_configs.topics() {
            if !all.contains_key(&topic) {
                changed.push(topic);
            }
        }
        for (topic, overrides) in &all {
            if &self.topic_configs.overrides(topic) != overrides {
                changed.push(topic.clone());
            }
        }
        throttles::apply_all_topic_configs(&self.quotas, self.broker_id, &all);
        throttles::load_broker_configs(&self.zk, self.broker_id, &self.quotas).await?;
        self.topic_configs.load_all(all);
        for topic in changed {
            self.listener.topic_config_changed(&topic);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers() {
        assert_eq!(sequence_number("config_change_0000000042"), Some(42));
        assert_eq!(sequence_number("config_change_"), None);
        assert_eq!(sequence_number("other_1"), None);
    }
}
