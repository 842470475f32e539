//! Every znode path Kafka 2.8 uses, relative to the chroot.
//!
//! Functions instead of string literals scattered over the code base, so a Kafka engineer can find
//! `ZkData.scala`'s layout in one place.

/// Ephemeral node naming the active controller.
pub const CONTROLLER: &str = "/controller";
/// Persistent node holding the controller epoch as decimal text.
pub const CONTROLLER_EPOCH: &str = "/controller_epoch";
/// Parent of the broker registrations.
pub const BROKER_IDS: &str = "/brokers/ids";
/// Parent of the topic assignment nodes.
pub const BROKER_TOPICS: &str = "/brokers/topics";
/// Node whose zkVersion generates broker ids.
pub const BROKER_SEQUENCE_ID: &str = "/brokers/seqid";
/// Cluster id node.
pub const CLUSTER_ID: &str = "/cluster/id";
/// Topics queued for deletion.
pub const DELETE_TOPICS: &str = "/admin/delete_topics";
/// Pending ZooKeeper-triggered partition reassignment.
pub const REASSIGN_PARTITIONS: &str = "/admin/reassign_partitions";
/// Pending ZooKeeper-triggered preferred replica election.
pub const PREFERRED_REPLICA_ELECTION: &str = "/admin/preferred_replica_election";
/// Parent of ISR change notifications (legacy ZK-ISR mode).
pub const ISR_CHANGE_NOTIFICATION: &str = "/isr_change_notification";
/// Sequential-node prefix of ISR change notifications.
pub const ISR_CHANGE_PREFIX: &str = "/isr_change_notification/isr_change_";
/// Parent of log-dir failure notifications.
pub const LOG_DIR_EVENT_NOTIFICATION: &str = "/log_dir_event_notification";
/// Sequential-node prefix of log-dir failure notifications.
pub const LOG_DIR_EVENT_PREFIX: &str = "/log_dir_event_notification/log_dir_event_";
/// Parent of config change notifications.
pub const CONFIG_CHANGES: &str = "/config/changes";
/// Sequential-node prefix of config change notifications.
pub const CONFIG_CHANGE_PREFIX: &str = "/config/changes/config_change_";
/// Feature versioning node.
pub const FEATURE: &str = "/feature";
/// Producer id block allocation node.
pub const LATEST_PRODUCER_ID_BLOCK: &str = "/latest_producer_id_block";
/// Legacy consumers root (also used by OffsetCommit/OffsetFetch v0).
pub const CONSUMERS: &str = "/consumers";

/// The persistent paths every broker makes sure exist at startup (`createTopLevelPaths`).
pub const PERSISTENT_PATHS: &[&str] = &[
    CONSUMERS,
    BROKER_IDS,
    BROKER_TOPICS,
    CONFIG_CHANGES,
    DELETE_TOPICS,
    BROKER_SEQUENCE_ID,
    ISR_CHANGE_NOTIFICATION,
    LATEST_PRODUCER_ID_BLOCK,
    LOG_DIR_EVENT_NOTIFICATION,
    "/config/topics",
    "/config/clients",
    "/config/users",
    "/config/brokers",
    "/config/ips",
];

/// `/brokers/ids/<id>`.
pub fn broker_id(id: i32) -> String {
    format!("{BROKER_IDS}/{id}")
}

/// `/brokers/topics/<topic>`.
pub fn topic(topic: &str) -> String {
    format!("{BROKER_TOPICS}/{topic}")
}

/// `/brokers/topics/<topic>/partitions`.
pub fn topic_partitions(topic: &str) -> String {
    format!("{BROKER_TOPICS}/{topic}/partitions")
}

/// `/brokers/topics/<topic>/partitions/<p>`.
pub fn topic_partition(topic: &str, partition: i32) -> String {
    format!("{BROKER_TOPICS}/{topic}/partitions/{partition}")
}

/// `/brokers/topics/<topic>/partitions/<p>/state`.
pub fn partition_state(topic: &str, partition: i32) -> String {
    format!("{BROKER_TOPICS}/{topic}/partitions/{partition}/state")
}

/// `/admin/delete_topics/<topic>`.
pub fn delete_topic(topic: &str) -> String {
    format!("{DELETE_TOPICS}/{topic}")
}

/// `/config/<entity_type>` (entity types: topics, clients, users, brokers, ips).
pub fn config_entity_type(entity_type: &str) -> String {
    format!("/config/{entity_type}")
}

/// `/config/<entity_type>/<name>`.
pub fn config_entity(entity_type: &str, name: &str) -> String {
    format!("/config/{entity_type}/{name}")
}

/// `/config/changes/<child>`.
pub fn config_change(child: &str) -> String {
    format!("{CONFIG_CHANGES}/{child}")
}

/// `/isr_change_notification/<child>`.
pub fn isr_change(child: &str) -> String {
    format!("{ISR_CHANGE_NOTIFICATION}/{child}")
}

/// `/log_dir_event_notification/<child>`.
pub fn log_dir_event(child: &str) -> String {
    format!("{LOG_DIR_EVENT_NOTIFICATION}/{child}")
}

/// `/consumers/<group>/offsets/<topic>/<partition>` (legacy offsets, OffsetCommit v0).
pub fn consumer_offset(group: &str, topic: &str, partition: i32) -> String {
    format!("{CONSUMERS}/{group}/offsets/{topic}/{partition}")
}
