//! Broker-side ZooKeeper operations: top-level paths, cluster id, broker ids and registration,
//! topic and config reads (`KafkaZkClient.scala`'s broker half).

use std::collections::{BTreeMap, HashMap};

use zookeeper_client as zk;

use super::{ephemeral, KafkaZkClient, ZkStat};
use crate::error::{Result, ZkError};
use crate::model::{
    BrokerRegistration, ClusterIdZNode, ConfigChangeNotification, ConfigEntityZNode, LogDirEventNotification,
    PartitionStateZNode, TopicZNode,
};
use crate::paths;
use crate::util::random_kafka_uuid;

/// Kafka's `reserved.broker.max.id` default: generated ids start above it.
pub const RESERVED_BROKER_MAX_ID: i32 = 1000;

impl KafkaZkClient {
    /// Make sure every persistent top-level path exists (`createTopLevelPaths`).
    pub async fn create_top_level_paths(&self) -> Result<()> {
        for path in paths::PERSISTENT_PATHS {
            if self.exists(path).await?.is_none() {
                match self.create_recursive(path, &[]).await {
                    Ok(()) | Err(ZkError::NodeExists(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Read `/cluster/id`, creating it with a random id if absent (race-safe).
    pub async fn get_or_create_cluster_id(&self) -> Result<String> {
        if let Some((data, _)) = self.get_data(paths::CLUSTER_ID).await? {
            return Ok(ClusterIdZNode::decode(paths::CLUSTER_ID, &data)?.id);
        }
        let node = ClusterIdZNode::new(&random_kafka_uuid());
        match self.create_recursive(paths::CLUSTER_ID, &node.encode()).await {
            Ok(()) => Ok(node.id),
            Err(ZkError::NodeExists(_)) => {
                let (data, _) = self
                    .get_data(paths::CLUSTER_ID)
                    .await?
                    .ok_or_else(|| ZkError::malformed(paths::CLUSTER_ID, "vanished after NODEEXISTS"))?;
                Ok(ClusterIdZNode::decode(paths::CLUSTER_ID, &data)?.id)
            }
            Err(e) => Err(e),
        }
    }

    /// Generate a broker id through `/brokers/seqid`'s zkVersion: first generated id is 1001.
    pub async fn generate_broker_id(&self) -> Result<i32> {
        let stat = match self.set_data(paths::BROKER_SEQUENCE_ID, &[], None).await {
            Ok(s) => s,
            Err(ZkError::NoNode(_)) => {
                self.create_recursive(paths::BROKER_SEQUENCE_ID, &[]).await.or_else(|e| match e {
                    ZkError::NodeExists(_) => Ok(()),
                    e => Err(e),
                })?;
                self.set_data(paths::BROKER_SEQUENCE_ID, &[], None).await?
            }
            Err(e) => return Err(e),
        };
        Ok(stat.version + RESERVED_BROKER_MAX_ID)
    }

    /// Register `/brokers/ids/<id>` as an ephemeral node (multi: create + setData version 0, as Kafka).
    /// A stale node left by one of this client's earlier sessions is replaced; a node owned by another
    /// live session is an error naming the id. Returns the broker epoch (the node's czxid).
    pub async fn register_broker(&self, id: i32, registration: &BrokerRegistration) -> Result<i64> {
        let path = paths::broker_id(id);
        let data = registration.encode();
        for _attempt in 0..3 {
            let client = self.raw().await;
            let mut multi = client.new_multi_writer();
            multi.add_create(&path, &[], &ephemeral()).map_err(|e| ZkError::from_zk(&path, e))?;
            multi.add_set_data(&path, &data, Some(0)).map_err(|e| ZkError::from_zk(&path, e))?;
            match multi.commit().await {
                Ok(results) => {
                    for r in results {
                        if let zk::MultiWriteResult::SetData { stat } = r {
                            return Ok(stat.czxid);
                        }
                    }
                    return Err(ZkError::malformed(&path, "registration multi returned no stat"));
                }
                Err(zk::MultiWriteError::OperationFailed { source: zk::Error::NodeExists, .. }) => {
                    let Some((_, stat)) = self.get_data(&path).await? else { continue };
                    let mine = client.session_id().0 == stat.ephemeral_owner
                        || self.previous_session_ids().contains(&stat.ephemeral_owner);
                    if mine {
                        self.delete(&path, None).await?;
                        continue;
                    }
                    return Err(ZkError::NodeExists(path));
                }
                Err(e) => return Err(ZkError::from_zk(&path, e.into())),
            }
        }
        Err(ZkError::NodeExists(path))
    }

    /// All registered brokers with their registration and epoch (czxid).
    pub async fn get_all_brokers(&self) -> Result<BTreeMap<i32, (BrokerRegistration, i64)>> {
        let ids: Vec<i32> = self.get_children(paths::BROKER_IDS).await?.iter().filter_map(|c| c.parse().ok()).collect();
        let node_paths: Vec<String> = ids.iter().map(|id| paths::broker_id(*id)).collect();
        let mut out = BTreeMap::new();
        for ((id, path), data) in ids.iter().zip(&node_paths).zip(self.get_data_many(&node_paths).await?) {
            if let Some((data, stat)) = data {
                out.insert(*id, (BrokerRegistration::decode(path, &data)?, stat.czxid));
            }
        }
        Ok(out)
    }

    /// All topic names under `/brokers/topics`.
    pub async fn get_all_topics(&self) -> Result<Vec<String>> {
        let mut t = self.get_children(paths::BROKER_TOPICS).await?;
        t.sort();
        Ok(t)
    }

    /// A topic's assignment node and its stat.
    pub async fn get_topic(&self, topic: &str) -> Result<Option<(TopicZNode, ZkStat)>> {
        let path = paths::topic(topic);
        match self.get_data(&path).await? {
            Some((data, stat)) => Ok(Some((TopicZNode::decode(&path, &data)?, stat))),
            None => Ok(None),
        }
    }

    /// Assignment nodes of many topics, pipelined.
    pub async fn get_topics(&self, topics: &[String]) -> Result<HashMap<String, (TopicZNode, ZkStat)>> {
        let node_paths: Vec<String> = topics.iter().map(|t| paths::topic(t)).collect();
        let mut out = HashMap::new();
        for ((topic, path), data) in topics.iter().zip(&node_paths).zip(self.get_data_many(&node_paths).await?) {
            if let Some((data, stat)) = data {
                out.insert(topic.clone(), (TopicZNode::decode(path, &data)?, stat));
            }
        }
        Ok(out)
    }

    /// Partition state nodes of many partitions, pipelined.
    pub async fn get_partition_states(
        &self,
        partitions: &[(String, i32)],
    ) -> Result<Vec<Option<(PartitionStateZNode, ZkStat)>>> {
        let node_paths: Vec<String> = partitions.iter().map(|(t, p)| paths::partition_state(t, *p)).collect();
        let mut out = Vec::with_capacity(partitions.len());
        for (path, data) in node_paths.iter().zip(self.get_data_many(&node_paths).await?) {
            out.push(match data {
                Some((data, stat)) => Some((PartitionStateZNode::decode(path, &data)?, stat)),
                None => None,
            });
        }
        Ok(out)
    }

    /// Overrides of `/config/<type>/<name>` (empty if absent).
    pub async fn get_entity_config(&self, entity_type: &str, name: &str) -> Result<BTreeMap<String, String>> {
        let path = paths::config_entity(entity_type, name);
        match self.get_data(&path).await? {
            Some((data, _)) => Ok(ConfigEntityZNode::decode(&path, &data)?.config),
            None => Ok(BTreeMap::new()),
        }
    }

    /// Overrides of every entity of a type (`topics` -> all topic overrides).
    pub async fn get_all_entity_configs(&self, entity_type: &str) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let names = self.get_children(&paths::config_entity_type(entity_type)).await?;
        let node_paths: Vec<String> = names.iter().map(|n| paths::config_entity(entity_type, n)).collect();
        let mut out = BTreeMap::new();
        for ((name, path), data) in names.iter().zip(&node_paths).zip(self.get_data_many(&node_paths).await?) {
            if let Some((data, _)) = data {
                out.insert(name.clone(), ConfigEntityZNode::decode(path, &data)?.config);
            }
        }
        Ok(out)
    }

    /// Write `/config/<type>/<name>` (create or overwrite) without a notification.
    pub async fn set_or_create_entity_config(
        &self,
        entity_type: &str,
        name: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<()> {
        let path = paths::config_entity(entity_type, name);
        let data = ConfigEntityZNode::new(config.clone()).encode();
        self.set_or_create(&path, &data).await
    }

    /// Write an entity's config and announce it with a `config_change_` notification, as
    /// `AdminZkClient.changeConfigs` does. Brokers pick it up through their `/config/changes` watch.
    pub async fn change_entity_config(
        &self,
        entity_type: &str,
        name: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.set_or_create_entity_config(entity_type, name, config).await?;
        let notification = ConfigChangeNotification::new(entity_type, name).encode();
        self.create_sequential(paths::CONFIG_CHANGE_PREFIX, &notification).await.map(|_| ())
    }

    /// Tell the controller that a log dir of `broker_id` failed (Kafka's `propagateLogDirEvent`):
    /// a persistent sequential `/log_dir_event_notification/log_dir_event_N`. Returns its path.
    pub async fn propagate_log_dir_event(&self, broker_id: i32) -> Result<String> {
        let data = LogDirEventNotification::failure(broker_id).encode();
        self.create_sequential(paths::LOG_DIR_EVENT_PREFIX, &data).await
    }
}
