//! Replication throttle configs taken from ZooKeeper (Kafka's `BrokerConfigHandler` and the
//! throttle part of `TopicConfigHandler`).
//!
//! * `/config/brokers/<id>` (falling back to `/config/brokers/<default>`) holds
//!   `leader.replication.throttled.rate` / `follower.replication.throttled.rate` in bytes per second;
//!   absent means unlimited.
//! * `/config/topics/<T>` holds `leader.replication.throttled.replicas` /
//!   `follower.replication.throttled.replicas`, which say which partitions are throttled on which
//!   broker.
//!
//! Kafka 2.8.2 itself only applies the per-broker entity's rates to its quota managers; the
//! `<default>` fallback is what later Kafka versions do and what `kafka-configs --entity-default`
//! users expect.

use std::collections::BTreeMap;

use zk_schema::{KafkaZkClient, ZkError};

use crate::replication_quota::{parse_throttled_partitions, ReplicationQuotaManager, ReplicationQuotas, UNLIMITED};

/// Broker config: bytes/s this broker may send to throttled followers.
pub const LEADER_REPLICATION_THROTTLED_RATE: &str = "leader.replication.throttled.rate";
/// Broker config: bytes/s this broker's replica fetchers may pull for throttled partitions.
pub const FOLLOWER_REPLICATION_THROTTLED_RATE: &str = "follower.replication.throttled.rate";
/// Topic config: replicas throttled on the leader side (`p:b,...` or `*`).
pub const LEADER_REPLICATION_THROTTLED_REPLICAS: &str = "leader.replication.throttled.replicas";
/// Topic config: replicas throttled on the follower side (`p:b,...` or `*`).
pub const FOLLOWER_REPLICATION_THROTTLED_REPLICAS: &str = "follower.replication.throttled.replicas";
/// Name of the cluster-wide default broker entity (`/config/brokers/<default>`).
pub const DEFAULT_BROKER_ENTITY: &str = "<default>";

/// The rate `prop` takes: this broker's override, else the cluster default, else unlimited.
/// Values that are not non-negative integers are ignored with a warning (Kafka's tools validate
/// them before writing).
pub fn throttle_rate(broker: &BTreeMap<String, String>, default: &BTreeMap<String, String>, prop: &str) -> u64 {
    for (scope, configs) in [("broker", broker), ("default", default)] {
        if let Some(v) = configs.get(prop) {
            match v.trim().parse::<u64>() {
                Ok(rate) => return rate,
                Err(_) => tracing::warn!("Ignoring invalid {scope} config {prop}={v}"),
            }
        }
    }
    UNLIMITED
}

/// Set both quotas from the broker's and the default entity's configs.
pub fn apply_broker_configs(quotas: &ReplicationQuotas, broker: &BTreeMap<String, String>, default: &BTreeMap<String, String>) {
    let leader = throttle_rate(broker, default, LEADER_REPLICATION_THROTTLED_RATE);
    let follower = throttle_rate(broker, default, FOLLOWER_REPLICATION_THROTTLED_RATE);
    if quotas.leader.upper_bound() != leader || quotas.follower.upper_bound() != follower {
        tracing::info!(
            "Replication throttle rates now leader={} follower={} bytes/s",
            rate_text(leader),
            rate_text(follower)
        );
    }
    quotas.leader.update_quota(leader);
    quotas.follower.update_quota(follower);
}

fn rate_text(rate: u64) -> String {
    if rate == UNLIMITED {
        "unlimited".into()
    } else {
        rate.to_string()
    }
}

/// Re-read `/config/brokers/<broker_id>` and `/config/brokers/<default>` and apply them.
pub async fn load_broker_configs(zk: &KafkaZkClient, broker_id: i32, quotas: &ReplicationQuotas) -> Result<(), ZkError> {
    let broker = zk.get_entity_config("brokers", &broker_id.to_string()).await?;
    let default = zk.get_entity_config("brokers", DEFAULT_BROKER_ENTITY).await?;
    apply_broker_configs(quotas, &broker, &default);
    Ok(())
}

/// Whether a `brokers` config change notification for `entity` concerns this broker.
pub fn concerns_broker(entity: &str, broker_id: i32) -> bool {
    entity == DEFAULT_BROKER_ENTITY || entity.trim().parse::<i32>() == Ok(broker_id)
}

/// Update the throttled partitions of `topic` from its (full) overrides.
pub fn apply_topic_configs(quotas: &ReplicationQuotas, broker_id: i32, topic: &str, overrides: &BTreeMap<String, String>) {
    update_throttled_list(&quotas.leader, broker_id, topic, overrides, LEADER_REPLICATION_THROTTLED_REPLICAS);
    update_throttled_list(&quotas.follower, broker_id, topic, overrides, FOLLOWER_REPLICATION_THROTTLED_REPLICAS);
}

fn update_throttled_list(
    quota: &ReplicationQuotaManager,
    broker_id: i32,
    topic: &str,
    overrides: &BTreeMap<String, String>,
    prop: &str,
) {
    match overrides.get(prop).filter(|v| !v.is_empty()) {
        Some(value) => match parse_throttled_partitions(prop, value, broker_id) {
            Ok(partitions) => {
                tracing::debug!("Setting {prop} on broker {broker_id} for topic: {topic} and partitions {partitions:?}");
                quota.mark_throttled(topic, partitions);
            }
            Err(e) => {
                tracing::warn!("Ignoring {prop} of topic {topic}: {e}");
                quota.remove_throttle(topic);
            }
        },
        None => quota.remove_throttle(topic),
    }
}

/// Replace every topic's throttled partitions from all topic overrides (startup and after a
/// ZooKeeper session was re-established); topics without overrides lose their throttle.
pub fn apply_all_topic_configs(quotas: &ReplicationQuotas, broker_id: i32, all: &BTreeMap<String, BTreeMap<String, String>>) {
    for quota in [&quotas.leader, &quotas.follower] {
        for topic in quota.topics() {
            if !all.contains_key(&topic) {
                quota.remove_throttle(&topic);
            }
        }
    }
    for (topic, overrides) in all {
        apply_topic_configs(quotas, broker_id, topic, overrides);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storage::TopicPartition;

    fn map(items: &[(&str, &str)]) -> BTreeMap<String, String> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn rates_fall_back_to_the_default_entity_then_unlimited() {
        let broker = map(&[(LEADER_REPLICATION_THROTTLED_RATE, "100")]);
        let default = map(&[(LEADER_REPLICATION_THROTTLED_RATE, "5"), (FOLLOWER_REPLICATION_THROTTLED_RATE, "7")]);
        assert_eq!(throttle_rate(&broker, &default, LEADER_REPLICATION_THROTTLED_RATE), 100);
        assert_eq!(throttle_rate(&broker, &default, FOLLOWER_REPLICATION_THROTTLED_RATE), 7);
        assert_eq!(throttle_rate(&broker, &BTreeMap::new(), FOLLOWER_REPLICATION_THROTTLED_RATE), UNLIMITED);
        let bad = map(&[(LEADER_REPLICATION_THROTTLED_RATE, "-3")]);
        assert_eq!(throttle_rate(&bad, &default, LEADER_REPLICATION_THROTTLED_RATE), 5);

        let q = ReplicationQuotas::default();
        apply_broker_configs(&q, &broker, &default);
        assert_eq!((q.leader.upper_bound(), q.follower.upper_bound()), (100, 7));
        apply_broker_configs(&q, &BTreeMap::new(), &BTreeMap::new());
        assert_eq!((q.leader.upper_bound(), q.follower.upper_bound()), (UNLIMITED, UNLIMITED));
    }

    #[test]
    fn broker_entities() {
        assert!(concerns_broker("<default>", 3));
        assert!(concerns_broker("3", 3));
        assert!(!concerns_broker("4", 3));
        assert!(!concerns_broker("x", 3));
    }

    #[test]
    fn topic_throttles_follow_the_configs() {
        let q = ReplicationQuotas::default();
        let tp = |t: &str, p| TopicPartition { topic: t.into(), partition: p };
        let overrides = map(&[
            (LEADER_REPLICATION_THROTTLED_REPLICAS, "0:1,1:2"),
            (FOLLOWER_REPLICATION_THROTTLED_REPLICAS, "0:2,1:1"),
            ("retention.ms", "1000"),
        ]);
        apply_topic_configs(&q, 1, "t", &overrides);
        assert!(q.leader.is_throttled(&tp("t", 0)));
        assert!(!q.leader.is_throttled(&tp("t", 1)));
        assert!(q.follower.is_throttled(&tp("t", 1)));
        assert!(!q.follower.is_throttled(&tp("t", 0)));

        // Removing the configs (as `--verify` does) lifts the throttle.
        apply_topic_configs(&q, 1, "t", &map(&[("retention.ms", "1000")]));
        assert!(!q.leader.is_throttled(&tp("t", 0)));
        assert!(!q.follower.is_throttled(&tp("t", 1)));

        let all = BTreeMap::from([("u".to_string(), map(&[(LEADER_REPLICATION_THROTTLED_REPLICAS, "*")]))]);
        apply_topic_configs(&q, 1, "t", &overrides);
        apply_all_topic_configs(&q, 1, &all);
        assert!(!q.leader.is_throttled(&tp("t", 0)), "topics without overrides lose their throttle");
        assert!(q.leader.is_throttled(&tp("u", 9)));
        assert!(!q.follower.is_throttled(&tp("u", 9)));
    }
}
