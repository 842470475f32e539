//! `MetadataCache`: this broker's view of the cluster, as the controller last described it with
//! UpdateMetadata. Nothing else writes it (Kafka's ZK-mode `MetadataCache`): Metadata requests,
//! CreateTopics completion and leader lookups all read from here.
//!
//! The state is an immutable snapshot behind `RwLock<Arc<_>>`: readers clone the `Arc` and work on
//! a consistent view without holding the lock; an update builds a new snapshot and swaps it in.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use uuid::Uuid;
use wire::kafka_protocol::messages::update_metadata_request::{UpdateMetadataPartitionState, UpdateMetadataRequest};

/// Leader value the controller sends for partitions of a topic being deleted.
pub const LEADER_DURING_DELETE: i32 = -2;
/// Leader value for "no leader".
pub const NO_LEADER: i32 = -1;

/// One endpoint of a live broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerEndpointInfo {
    /// Listener name (e.g. `PLAINTEXT`).
    pub listener: String,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// Security protocol id (0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL).
    pub security_protocol: i16,
}

/// A live broker as UpdateMetadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveBroker {
    /// Broker id.
    pub id: i32,
    /// Its endpoints, one per listener.
    pub endpoints: Vec<BrokerEndpointInfo>,
    /// `broker.rack`, if set.
    pub rack: Option<String>,
}

/// State of one partition as the controller published it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Epoch of the controller that last elected the leader.
    pub controller_epoch: i32,
    /// Leader broker id, -1 when none.
    pub leader: i32,
    /// Leader epoch.
    pub leader_epoch: i32,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// zkVersion of the partition state znode.
    pub zk_version: i32,
    /// Assigned replicas (first = preferred leader).
    pub replicas: Vec<i32>,
    /// Replicas on offline log dirs or dead brokers.
    pub offline_replicas: Vec<i32>,
}

impl PartitionInfo {
    fn from_request(topic: &str, s: &UpdateMetadataPartitionState) -> PartitionInfo {
        PartitionInfo {
            topic: topic.to_string(),
            partition: s.partition_index,
            controller_epoch: s.controller_epoch,
            leader: s.leader.0,
            leader_epoch: s.leader_epoch,
            isr: s.isr.iter().map(|b| b.0).collect(),
            zk_version: s.zk_version,
            replicas: s.replicas.iter().map(|b| b.0).collect(),
            offline_replicas: s.offline_replicas.iter().map(|b| b.0).collect(),
        }
    }
}

/// One consistent view of the cluster.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Live brokers by id.
    pub live_brokers: BTreeMap<i32, LiveBroker>,
    /// topic → partition → state.
    pub partitions: BTreeMap<String, BTreeMap<i32, PartitionInfo>>,
    /// Topic ids (UpdateMetadata v7+); absent or nil for older controllers.
    pub topic_ids: HashMap<String, Uuid>,
    /// The controller that sent the last UpdateMetadata.
    pub controller_id: Option<i32>,
    /// Its epoch.
    pub controller_epoch: i32,
}

/// The cache.
#[derive(Default)]
pub struct MetadataCache {
    snapshot: RwLock<Arc<Snapshot>>,
}

impl MetadataCache {
    /// An empty cache (no brokers, no topics, no controller).
    pub fn new() -> Self {
        Self::default()
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Highest controller epoch applied so far.
    pub fn controller_epoch(&self) -> i32 {
        self.snapshot().controller_epoch
    }

    /// Apply an UpdateMetadata request (epoch checks are the caller's): replace the live brokers,
    /// upsert the partition states, drop partitions whose leader is -2. Returns the partitions removed.
    pub fn update(&self, req: &UpdateMetadataRequest) -> Vec<(String, i32)> {
        let mut guard = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        let mut next: Snapshot = (**guard).clone();
        next.controller_id = Some(req.controller_id.0).filter(|id| *id >= 0);
        next.controller_epoch = req.controller_epoch;
        next.live_brokers = req
            .live_brokers
            .iter()
            .map(|b| {
                let mut endpoints: Vec<BrokerEndpointInfo> = b
                    .endpoints
                    .iter()
                    .map(|e| BrokerEndpointInfo {
                        listener: e.listener.to_string(),
                        host: e.host.to_string(),
                        port: e.port,
                        security_protocol: e.security_protocol,
                    })
                    .collect();
                // v0 requests carry the broker's single PLAINTEXT endpoint in the legacy fields.
                if endpoints.is_empty() && !b.v0_host.is_empty() {
                    endpoints.push(BrokerEndpointInfo {
                        listener: "PLAINTEXT".into(),
                        host: b.v0_host.to_string(),
                        port: b.v0_port,
                        security_protocol: 0,
                    });
                }
                // Before v3 the listener name is the protocol's name.
                for e in endpoints.iter_mut() {
                    if e.listener.is_empty() {
                        e.listener = protocol_name(e.security_protocol).to_string();
                    }
                }
                (b.id.0, LiveBroker { id: b.id.0, endpoints, rack: b.rack.as_ref().map(|r| r.to_string()) })
            })
            .collect();

        let mut states: Vec<(String, &UpdateMetadataPartitionState)> = Vec::new();
        for s in &req.ungrouped_partition_states {
            states.push((s.topic_name.0.to_string(), s));
        }
        for t in &req.topic_states {
            let name = t.topic_name.0.to_string();
            if !t.topic_id.is_nil() {
                next.topic_ids.insert(name.clone(), t.topic_id);
            }
            for s in &t.partition_states {
                states.push((name.clone(), s));
            }
        }
        let mut removed = Vec::new();
        for (topic, s) in states {
            if s.leader.0 == LEADER_DURING_DELETE {
                if let Some(parts) = next.partitions.get_mut(&topic) {
                    if parts.remove(&s.partition_index).is_some() {
                        removed.push((topic.clone(), s.partition_index));
                    }
                    if parts.is_empty() {
                        next.partitions.remove(&topic);
                        next.topic_ids.remove(&topic);
                    }
                }
            } else {
                next.partitions
                    .entry(topic.clone())
                    .or_default()
                    .insert(s.partition_index, PartitionInfo::from_request(&topic, s));
            }
        }
        *guard = Arc::new(next);
        removed
    }

    /// Whether the topic has at least one partition in the cache.
    pub fn contains_topic(&self, topic: &str) -> bool {
        self.snapshot().partitions.contains_key(topic)
    }

    /// Whether the partition is known.
    pub fn contains_partition(&self, topic: &str, partition: i32) -> bool {
        self.snapshot().partitions.get(topic).is_some_and(|p| p.contains_key(&partition))
    }

    /// State of one partition.
    pub fn partition_state(&self, topic: &str, partition: i32) -> Option<PartitionInfo> {
        self.snapshot().partitions.get(topic).and_then(|p| p.get(&partition)).cloned()
    }

    /// All partition states of a topic, by index.
    pub fn topic_partitions(&self, topic: &str) -> Option<BTreeMap<i32, PartitionInfo>> {
        self.snapshot().partitions.get(topic).cloned()
    }

    /// Number of partitions of a topic, if known.
    pub fn partition_count(&self, topic: &str) -> Option<usize> {
        self.snapshot().partitions.get(topic).map(|p| p.len())
    }

    /// Topic id (nil if unknown).
    pub fn topic_id(&self, topic: &str) -> Uuid {
        self.snapshot().topic_ids.get(topic).copied().unwrap_or(Uuid::nil())
    }

    /// Name of the topic with this id.
    pub fn topic_name(&self, id: &Uuid) -> Option<String> {
        self.snapshot().topic_ids.iter().find(|(_, v)| *v == id).map(|(k, _)| k.clone())
    }

    /// Live brokers, by id.
    pub fn alive_brokers(&self) -> Vec<LiveBroker> {
        self.snapshot().live_brokers.values().cloned().collect()
    }

    /// Whether the broker is live.
    pub fn is_broker_alive(&self, id: i32) -> bool {
        self.snapshot().live_brokers.contains_key(&id)
    }

    /// `(host, port)` of a live broker on a listener.
    pub fn alive_endpoint(&self, broker: i32, listener: &str) -> Option<(String, i32)> {
        self.snapshot()
            .live_brokers
            .get(&broker)
            .and_then(|b| b.endpoints.iter().find(|e| e.listener == listener))
            .map(|e| (e.host.clone(), e.port))
    }

    /// The active controller as of the last UpdateMetadata.
    pub fn controller_id(&self) -> Option<i32> {
        self.snapshot().controller_id
    }

    /// Every topic with partitions in the cache.
    pub fn all_topics(&self) -> Vec<String> {
        self.snapshot().partitions.keys().cloned().collect()
    }
}

/// Kafka's name of a security protocol id.
pub fn protocol_name(id: i16) -> &'static str {
    match id {
        1 => "SSL",
        2 => "SASL_PLAINTEXT",
        3 => "SASL_SSL",
        _ => "PLAINTEXT",
    }
}

/// Kafka's id of a security protocol name.
pub fn protocol_id(name: &str) -> i16 {
    match name {
        "SSL" => 1,
        "SASL_PLAINTEXT" => 2,
        "SASL_SSL" => 3,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::kafka_protocol::messages::update_metadata_request::{
        UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataTopicState,
    };
    use wire::kafka_protocol::messages::{BrokerId, TopicName};
    use wire::kafka_protocol::protocol::StrBytes;

    fn state(p: i32, leader: i32) -> UpdateMetadataPartitionState {
        UpdateMetadataPartitionState::default()
            .with_partition_index(p)
            .with_leader(BrokerId(leader))
            .with_leader_epoch(3)
            .with_isr(vec![BrokerId(1)])
            .with_replicas(vec![BrokerId(1), BrokerId(2)])
    }

    fn request(epoch: i32, topic_states: Vec<UpdateMetadataTopicState>) -> UpdateMetadataRequest {
        UpdateMetadataRequest::default()
            .with_controller_id(BrokerId(1))
            .with_controller_epoch(epoch)
            .with_live_brokers(vec![UpdateMetadataBroker::default().with_id(BrokerId(1)).with_endpoints(vec![
                UpdateMetadataEndpoint::default()
                    .with_listener(StrBytes::from_static_str("PLAINTEXT"))
                    .with_host(StrBytes::from_static_str("h1"))
                    .with_port(9092),
            ])])
            .with_topic_states(topic_states)
    }

    fn topic(name: &'static str, id: Uuid, parts: Vec<UpdateMetadataPartitionState>) -> UpdateMetadataTopicState {
        UpdateMetadataTopicState::default()
            .with_topic_name(TopicName(StrBytes::from_static_str(name)))
            .with_topic_id(id)
            .with_partition_states(parts)
    }

    #[test]
    fn update_upsert_and_delete() {
        let cache = MetadataCache::new();
        assert!(cache.controller_id().is_none());
        let id = Uuid::from_u128(7);
        cache.update(&request(1, vec![topic("t", id, vec![state(0, 1), state(1, -1)])]));
        assert_eq!(cache.controller_id(), Some(1));
        assert!(cache.contains_topic("t"));
        assert!(cache.contains_partition("t", 1));
        assert!(!cache.contains_partition("t", 2));
        assert_eq!(cache.partition_count("t"), Some(2));
        assert_eq!(cache.topic_id("t"), id);
        assert_eq!(cache.topic_name(&id).as_deref(), Some("t"));
        assert_eq!(cache.partition_state("t", 0).unwrap().replicas, vec![1, 2]);
        assert_eq!(cache.alive_endpoint(1, "PLAINTEXT"), Some(("h1".to_string(), 9092)));
        assert_eq!(cache.alive_endpoint(1, "SSL"), None);

        // A later request with only broker info keeps the partitions.
        cache.update(&request(1, vec![]));
        assert_eq!(cache.partition_count("t"), Some(2));
        // Leader moves.
        cache.update(&request(2, vec![topic("t", id, vec![state(1, 1)])]));
        assert_eq!(cache.partition_state("t", 1).unwrap().leader, 1);
        // Deletion: leader -2 removes partitions; the topic goes once empty.
        let removed = cache.update(&request(2, vec![topic("t", id, vec![state(0, -2)])]));
        assert_eq!(removed, vec![("t".to_string(), 0)]);
        assert!(cache.contains_topic("t"));
        cache.update(&request(2, vec![topic("t", id, vec![state(1, -2)])]));
        assert!(!cache.contains_topic("t"));
        assert!(cache.topic_id("t").is_nil());
        assert!(cache.all_topics().is_empty());
    }
}
