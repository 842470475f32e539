//! `AdminZkClient`: create, delete, grow and reconfigure topics by writing ZooKeeper, exactly as
//! Kafka's admin tools and admin API handlers do. The controller reacts to these writes.

use std::collections::{BTreeMap, BTreeSet};

use crate::admin::assignment::{assign_replicas_to_brokers, BrokerMetadata};
use crate::admin::topic_name::{has_collision_chars, validate_topic_name};
use crate::client::KafkaZkClient;
use crate::error::{Result, ZkError};
use crate::model::TopicZNode;
use crate::paths;
use crate::util::random_kafka_uuid;

/// Admin operations on top of a [`KafkaZkClient`].
#[derive(Clone)]
pub struct AdminZkClient {
    zk: KafkaZkClient,
}

impl AdminZkClient {
    /// Wrap a client.
    pub fn new(zk: KafkaZkClient) -> Self {
        AdminZkClient { zk }
    }

    /// The wrapped client.
    pub fn zk(&self) -> &KafkaZkClient {
        &self.zk
    }

    /// Registered brokers with their racks, sorted by id (what default placement uses).
    pub async fn broker_metadatas(&self) -> Result<Vec<BrokerMetadata>> {
        Ok(self
            .zk
            .get_all_brokers()
            .await?
            .into_iter()
            .map(|(id, (reg, _))| BrokerMetadata { id, rack: reg.rack })
            .collect())
    }

    /// Validate an explicit or computed assignment the way Kafka does before creating a topic.
    pub fn validate_assignment(assignment: &BTreeMap<i32, Vec<i32>>) -> Result<()> {
        if assignment.is_empty() {
            return Err(ZkError::Invalid("Number of partitions must be larger than 0.".into()));
        }
        let rf = assignment.values().next().map(|r| r.len()).unwrap_or(0);
        for (p, replicas) in assignment {
            if replicas.is_empty() {
                return Err(ZkError::Invalid(format!("Replication factor must be larger than 0 for partition {p}.")));
            }
            if replicas.iter().collect::<BTreeSet<_>>().len() != replicas.len() {
                return Err(ZkError::Invalid(format!(
                    "Duplicate replica assignment found: {}",
                    replicas.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(",")
                )));
            }
            if replicas.len() != rf {
                return Err(ZkError::Invalid("All partitions should have the same number of replicas".into()));
            }
        }
        let n = assignment.len() as i32;
        if assignment.keys().copied().ne(0..n) {
            return Err(ZkError::Invalid("partitions should be a consecutive 0-based integer sequence".into()));
        }
        Ok(())
    }

    /// Check name, existence and `.`/`_` collisions of a topic to be created.
    pub async fn validate_new_topic(&self, topic: &str) -> Result<()> {
        validate_topic_name(topic)?;
        if self.zk.exists(&paths::topic(topic)).await?.is_some() {
            return Err(ZkError::NodeExists(format!("Topic '{topic}' already exists.")));
        }
        if has_collision_chars(topic) {
            let normalized = topic.replace('.', "_");
            let colliding: Vec<String> = self
                .zk
                .get_all_topics()
                .await?
                .into_iter()
                .filter(|t| t != topic && t.replace('.', "_") == normalized)
                .collect();
            if !colliding.is_empty() {
                return Err(ZkError::Invalid(format!(
                    "Topic '{topic}' collides with existing topics: {}",
                    colliding.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Default placement over the registered brokers.
    pub async fn default_assignment(
        &self,
        partitions: i32,
        replication_factor: i32,
        disable_rack_aware: bool,
    ) -> Result<BTreeMap<i32, Vec<i32>>> {
        let brokers = self.broker_metadatas().await?;
        assign_replicas_to_brokers(&brokers, partitions, replication_factor, None, 0, disable_rack_aware)
    }

    /// Create a topic: `/config/topics/<T>` (always, possibly empty) then `/brokers/topics/<T>` with a
    /// fresh topic id. Config validity is the caller's job (it needs the broker's LogConfig rules).
    /// An existing topic is `NodeExists("Topic 'T' already exists.")`.
    pub async fn create_topic_with_assignment(
        &self,
        topic: &str,
        config: &BTreeMap<String, String>,
        assignment: &BTreeMap<i32, Vec<i32>>,
    ) -> Result<String> {
        self.validate_new_topic(topic).await?;
        Self::validate_assignment(assignment)?;
        self.zk.set_or_create_entity_config("topics", topic, config).await?;
        let topic_id = random_kafka_uuid();
        let node = TopicZNode::new(assignment.clone(), Some(topic_id.clone()));
        match self.zk.create_recursive(&paths::topic(topic), &node.encode()).await {
            Ok(()) => Ok(topic_id),
            Err(ZkError::NodeExists(_)) => Err(ZkError::NodeExists(format!("Topic '{topic}' already exists."))),
            Err(e) => Err(e),
        }
    }

    /// Add partitions up to `total` (existing ones keep their replicas). `new_replicas` gives the new
    /// partitions' replicas explicitly; otherwise default placement starts at the broker holding the
    /// first replica of partition 0, as Kafka does.
    pub async fn add_partitions(
        &self,
        topic: &str,
        total: i32,
        new_replicas: Option<Vec<Vec<i32>>>,
    ) -> Result<BTreeMap<i32, Vec<i32>>> {
        let (mut node, stat) = self
            .zk
            .get_topic(topic)
            .await?
            .ok_or_else(|| ZkError::NoNode(format!("Topic '{topic}' does not exist.")))?;
        let existing = node.partitions.len() as i32;
        if total <= existing {
            return Err(ZkError::Invalid(format!(
                "The number of partitions for a topic can only be increased. Topic {topic} currently has {existing} partitions, {total} would not be an increase."
            )));
        }
        let rf = node.partitions.get(&0).map(|r| r.len() as i32).unwrap_or(1);
        let brokers = self.broker_metadatas().await?;
        let broker_ids: BTreeSet<i32> = brokers.iter().map(|b| b.id).collect();
        let added: BTreeMap<i32, Vec<i32>> = match new_replicas {
            Some(lists) => {
                if lists.len() as i32 != total - existing {
                    return Err(ZkError::Invalid(format!(
                        "Increasing the number of partitions by {} but {} assignments provided.",
                        total - existing,
                        lists.len()
                    )));
                }
                let mut m = BTreeMap::new();
                for (i, r) in lists.into_iter().enumerate() {
                    if let Some(unknown) = r.iter().find(|b| !broker_ids.contains(b)) {
                        return Err(ZkError::Invalid(format!("Unknown broker id {unknown} in replica assignment")));
                    }
                    m.insert(existing + i as i32, r);
                }
                m
            }
            None => {
                let first = node.partitions.get(&0).and_then(|r| r.first()).copied().unwrap_or(0);
                let start = brokers.iter().position(|b| b.id >= first).unwrap_or(0);
                assign_replicas_to_brokers(&brokers, total - existing, rf, Some(start), existing, false)?
            }
        };
        node.partitions.extend(added.clone());
        Self::validate_assignment(&node.partitions)?;
        self.zk.set_data(&paths::topic(topic), &node.encode(), Some(stat.version)).await?;
        Ok(added)
    }

    /// Mark a topic for deletion (`/admin/delete_topics/<T>`). Already marked is
    /// `NodeExists("Topic T is already marked for deletion.")`.
    pub async fn delete_topic(&self, topic: &str) -> Result<()> {
        match self.zk.create_recursive(&paths::delete_topic(topic), &[]).await {
            Ok(()) => Ok(()),
            Err(ZkError::NodeExists(_)) => {
                Err(ZkError::NodeExists(format!("Topic {topic} is already marked for deletion.")))
            }
            Err(e) => Err(e),
        }
    }

    /// Replace a topic's overrides and notify brokers. The topic must exist.
    pub async fn change_topic_config(&self, topic: &str, config: &BTreeMap<String, String>) -> Result<()> {
        if self.zk.exists(&paths::topic(topic)).await?.is_none() {
            return Err(ZkError::NoNode(format!("Topic '{topic}' does not exist.")));
        }
        self.zk.change_entity_config("topics", topic, config).await
    }
}
