//! The ZooKeeper-mode actions of `kafka-topics`: everything reads and writes znodes through
//! `zk-schema`, exactly the nodes Kafka 2.8's tool touches, and prints Kafka's messages.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use regex::Regex;
use zk_schema::admin::{
    assign_replicas_to_brokers, has_collision_chars, is_internal_topic, validate_topic_name, AdminZkClient,
    BrokerMetadata,
};
use zk_schema::{paths, KafkaZkClient, ZkError};

use super::args::{TopicAction, TopicCommandOptions};
use super::assignment::{parse_replica_assignment, validate_new_partition_replicas};
use super::describe::{DescribeFilter, PartitionDescription, TopicDescription};
use super::overrides::{merge, parse_configs_to_add, parse_configs_to_delete, validate_overrides};

/// A failed command; the message is what follows `Error while executing topic command : `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError(pub String);

impl From<ZkError> for CommandError {
    fn from(e: ZkError) -> Self {
        CommandError(zk_message(e))
    }
}

impl From<super::overrides::ConfigProblem> for CommandError {
    fn from(e: super::overrides::ConfigProblem) -> Self {
        CommandError(e.message().to_string())
    }
}

impl From<String> for CommandError {
    fn from(m: String) -> Self {
        CommandError(m)
    }
}

/// The user-facing text of a `zk-schema` error. Admin operations carry Kafka's sentence inside
/// `NodeExists`/`NoNode` (e.g. `Topic 'T' already exists.`); real paths start with `/`.
pub fn zk_message(e: ZkError) -> String {
    match e {
        ZkError::NodeExists(m) | ZkError::NoNode(m) if !m.starts_with('/') => m,
        ZkError::Invalid(m) => m,
        other => other.to_string(),
    }
}

type Result<T> = std::result::Result<T, CommandError>;

fn line(out: &mut dyn Write, s: &str) {
    let _ = writeln!(out, "{s}");
}

/// The topic filter of `--topic` for list/describe/alter/delete: commas mean "or", blanks and
/// surrounding quotes are dropped, and the whole name must match (Kafka's `IncludeList`).
pub fn include_list(raw: &str) -> Result<Regex> {
    let cleaned = raw.trim().replace(',', "|").replace(' ', "");
    let cleaned = cleaned.trim_start_matches(['"', '\'']).trim_end_matches(['"', '\'']);
    Regex::new(&format!("^(?:{cleaned})$")).map_err(|_| CommandError(format!("{cleaned} is an invalid regex.")))
}

/// Topics of the cluster (sorted) matching `--topic`, optionally without internal topics.
pub fn filter_topics(all: &[String], topic: Option<&str>, exclude_internal: bool) -> Result<Vec<String>> {
    let filter = topic.map(include_list).transpose()?;
    Ok(all
        .iter()
        .filter(|t| filter.as_ref().is_none_or(|r| r.is_match(t)))
        .filter(|t| !(exclude_internal && is_internal_topic(t)))
        .cloned()
        .collect())
}

/// Error out when `--topic` matched nothing and the action needs a topic.
pub fn ensure_topic_exists(found: &[String], requested: Option<&str>, require: bool) -> Result<()> {
    match requested {
        Some(t) if require && found.is_empty() => Err(CommandError(format!("Topic '{t}' does not exist as expected"))),
        _ => Ok(()),
    }
}

/// Brokers for placement, refusing a rack mix unless rack awareness is off (Kafka's
/// `getBrokerMetadatas`).
pub fn placement_brokers(
    brokers: Vec<BrokerMetadata>,
    disable_rack_aware: bool,
) -> Result<Vec<BrokerMetadata>> {
    let racked = brokers.iter().filter(|b| b.rack.is_some()).count();
    if !disable_rack_aware && racked > 0 && racked < brokers.len() {
        return Err(CommandError(
            "Not all brokers have rack information. Add --disable-rack-aware in command line to make replica assignment without rack information."
                .into(),
        ));
    }
    let mut brokers: Vec<BrokerMetadata> = if disable_rack_aware {
        brokers.into_iter().map(|b| BrokerMetadata { id: b.id, rack: None }).collect()
    } else {
        brokers
    };
    brokers.sort_by_key(|b| b.id);
    Ok(brokers)
}

/// Make sure `/config/changes` exists before a notification is created under it (a fresh
/// ZooKeeper has no broker-created top-level paths yet).
pub async fn ensure_config_changes_path(zk: &KafkaZkClient) -> std::result::Result<(), ZkError> {
    if zk.exists(paths::CONFIG_CHANGES).await?.is_none() {
        match zk.create_recursive(paths::CONFIG_CHANGES, &[]).await {
            Ok(()) | Err(ZkError::NodeExists(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Run one checked command against ZooKeeper.
pub async fn execute(zk: &KafkaZkClient, opts: &TopicCommandOptions, out: &mut dyn Write) -> Result<()> {
    match opts.action() {
        TopicAction::Create => create(zk, opts, out).await,
        TopicAction::List => list(zk, opts, out).await,
        TopicAction::Describe => describe(zk, opts, out).await,
        TopicAction::Alter => alter(zk, opts, out).await,
        TopicAction::Delete => delete(zk, opts, out).await,
    }
}

async fn matching_topics(zk: &KafkaZkClient, opts: &TopicCommandOptions) -> Result<Vec<String>> {
    let all = zk.get_all_topics().await?;
    filter_topics(&all, opts.topic.as_deref(), opts.exclude_internal)
}

async fn create(zk: &KafkaZkClient, opts: &TopicCommandOptions, out: &mut dyn Write) -> Result<()> {
    let topic = opts.topic.clone().unwrap_or_default();
    let configs = parse_configs_to_add(&opts.configs, out)?;
    parse_configs_to_delete(&opts.delete_configs)?;
    let explicit = opts.replica_assignment.as_deref().map(parse_replica_assignment).transpose()?;
    if has_collision_chars(&topic) {
        line(
            out,
            "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.",
        );
    }
    let admin = AdminZkClient::new(zk.clone());
    let assignment = match explicit {
        Some(a) => a,
        None => {
            let brokers = placement_brokers(admin.broker_metadatas().await?, opts.disable_rack_aware)?;
            assign_replicas_to_brokers(
                &brokers,
                opts.partitions.unwrap_or(0),
                opts.replication_factor.unwrap_or(0),
                None,
                0,
                opts.disable_rack_aware,
            )?
        }
    };
    match admin.create_topic_with_assignment(&topic, &configs, &assignment).await {
        Ok(_) => {
            line(out, &format!("Created topic {topic}."));
            Ok(())
        }
        Err(ZkError::NodeExists(m)) if m == format!("Topic '{topic}' already exists.") => {
            if opts.if_not_exists {
                Ok(())
            } else {
                Err(CommandError(m))
            }
        }
        Err(e) => Err(e.into()),
    }
}

async fn list(zk: &KafkaZkClient, opts: &TopicCommandOptions, out: &mut dyn Write) -> Result<()> {
    let topics = matching_topics(zk, opts).await?;
    let deleting: BTreeSet<String> = zk.get_children(paths::DELETE_TOPICS).await?.into_iter().collect();
    for t in topics {
        if deleting.contains(&t) {
            line(out, &format!("{t} - marked for deletion"));
        } else {
            line(out, &t);
        }
    }
    Ok(())
}

async fn describe(zk: &KafkaZkClient, opts: &TopicCommandOptions, out: &mut dyn Write) -> Result<()> {
    let topics = matching_topics(zk, opts).await?;
    ensure_topic_exists(&topics, opts.topic.as_deref(), !opts.if_exists)?;
    let live: BTreeSet<i32> = zk.get_all_brokers().await?.into_keys().collect();
    let filter = DescribeFilter {
        under_replicated: opts.under_replicated,
        unavailable: opts.unavailable,
        topics_with_overrides: opts.topics_with_overrides,
    };
    for topic in topics {
        let Some((node, _)) = zk.get_topic(&topic).await? else {
            line(out, &format!("Topic {topic} doesn't exist!"));
            continue;
        };
        let marked = zk.exists(&paths::delete_topic(&topic)).await?.is_some();
        let configs =
            if filter.describe_configs() { zk.get_entity_config("topics", &topic).await? } else { BTreeMap::new() };
        let header = TopicDescription {
            topic: topic.clone(),
            topic_id: node.topic_id.clone(),
            partition_count: node.partitions.len(),
            replication_factor: node.partitions.values().next().map(|r| r.len()).unwrap_or(0),
            configs,
            marked_for_deletion: marked,
        };
        let mut partitions = Vec::new();
        if filter.describe_partitions() {
            let ids: Vec<(String, i32)> = node.partitions.keys().map(|p| (topic.clone(), *p)).collect();
            let states = zk.get_partition_states(&ids).await?;
            for ((p, replicas), state) in node.partitions.iter().zip(states) {
                let (leader, isr) = match state {
                    Some((s, _)) => ((s.leader >= 0).then_some(s.leader), s.isr),
                    None => (None, Vec::new()),
                };
                partitions.push(PartitionDescription {
                    topic: topic.clone(),
                    partition: *p,
                    leader,
                    replicas: replicas.clone(),
                    isr,
                    marked_for_deletion: marked,
                });
            }
        }
        for l in filter.render(&header, &partitions, &live) {
            line(out, &l);
        }
    }
    Ok(())
}

async fn alter(zk: &KafkaZkClient, opts: &TopicCommandOptions, out: &mut dyn Write) -> Result<()> {
    let topics = matching_topics(zk, opts).await?;
    let to_add = parse_configs_to_add(&opts.configs, out)?;
    let to_delete = parse_configs_to_delete(&opts.delete_configs)?;
    let explicit = opts.replica_assignment.as_deref().map(parse_replica_assignment).transpose()?;
    ensure_topic_exists(&topics, opts.topic.as_deref(), !opts.if_exists)?;
    let admin = AdminZkClient::new(zk.clone());
    for topic in topics {
        if !opts.configs.is_empty() || !opts.delete_configs.is_empty() {
            line(out, "WARNING: Altering topic configuration from this script has been deprecated and may be removed in future releases.");
            line(out, "         Going forward, please use kafka-configs.sh for this functionality");
            let current = zk.get_entity_config("topics", &topic).await?;
            let merged = merge(&current, &to_add, &to_delete);
            change_topic_config(zk, &topic, &merged).await?;
            line(out, &format!("Updated config for topic {topic}."));
        }
        if let Some(total) = opts.partitions {
            if is_internal_topic(&topic) {
                return Err(CommandError(format!(
                    "The number of partitions for the internal topic {topic} cannot be changed."
                )));
            }
            line(out, "WARNING: If partitions are increased for a topic that has a key, the partition logic or ordering of the messages will be affected");
            add_partitions(&admin, &topic, total, explicit.as_ref()).await?;
            line(out, "Adding partitions succeeded!");
        }
    }
    Ok(())
}

/// Replace a topic's overrides after Kafka's checks (name, existence, every override valid) and
/// announce the change to the brokers with a `config_change_` notification.
pub async fn change_topic_config(zk: &KafkaZkClient, topic: &str, configs: &BTreeMap<String, String>) -> Result<()> {
    validate_topic_name(topic)?;
    if zk.exists(&paths::topic(topic)).await?.is_none() {
        return Err(CommandError(format!("Topic '{topic}' does not exist.")));
    }
    validate_overrides(configs)?;
    ensure_config_changes_path(zk).await?;
    zk.change_entity_config("topics", topic, configs).await?;
    Ok(())
}

async fn add_partitions(
    admin: &AdminZkClient,
    topic: &str,
    total: i32,
    explicit: Option<&BTreeMap<i32, Vec<i32>>>,
) -> Result<()> {
    let Some((node, _)) = admin.zk().get_topic(topic).await? else {
        return Err(CommandError(format!("The topic {topic} does not exist")));
    };
    let existing = &node.partitions;
    let Some(first) = existing.get(&0) else {
        return Err(CommandError(format!(
            "Unexpected existing replica assignment for topic '{topic}', partition id 0 is missing. Assignment: {existing:?}"
        )));
    };
    if total <= existing.len() as i32 {
        return Err(CommandError(format!(
            "The number of partitions for a topic can only be increased. Topic {topic} currently has {} partitions, {total} would not be an increase.",
            existing.len()
        )));
    }
    let brokers = placement_brokers(admin.broker_metadatas().await?, false)?;
    // Entries of --replica-assignment for partitions that already exist are ignored.
    let new_replicas: BTreeMap<i32, Vec<i32>> = explicit
        .map(|a| a.iter().filter(|(p, _)| **p >= existing.len() as i32).map(|(p, r)| (*p, r.clone())).collect())
        .unwrap_or_default();
    let lists = if new_replicas.is_empty() {
        None
    } else {
        let live: BTreeSet<i32> = brokers.iter().map(|b| b.id).collect();
        validate_new_partition_replicas(&new_replicas, first.len(), &live)?;
        Some(new_replicas.into_values().collect())
    };
    admin.add_partitions(topic, total, lists).await?;
    Ok(())
}

async fn delete(zk: &KafkaZkClient, opts: &TopicCommandOptions, out: &mut dyn Write) -> Result<()> {
    let topics = matching_topics(zk, opts).await?;
    ensure_topic_exists(&topics, opts.topic.as_deref(), !opts.if_exists)?;
    let admin = AdminZkClient::new(zk.clone());
    for topic in topics {
        if is_internal_topic(&topic) {
            return Err(CommandError(format!(
                "Topic {topic} is a kafka internal topic and is not allowed to be marked for deletion."
            )));
        }
        match admin.delete_topic(&topic).await {
            Ok(()) => {
                line(out, &format!("Topic {topic} is marked for deletion."));
                line(out, "Note: This will have no impact if delete.topic.enable is not set to true.");
            }
            Err(ZkError::NodeExists(_)) => line(out, &format!("Topic {topic} is already marked for deletion.")),
            Err(_) => return Err(CommandError(format!("Error while deleting topic {topic}"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn topic_filters() {
        let all = names(&["NEWS", "__consumer_offsets", "news", "test.topic", "test_topic"]);
        assert_eq!(filter_topics(&all, None, false).unwrap(), all);
        assert_eq!(filter_topics(&all, None, true).unwrap().len(), 4);
        assert_eq!(filter_topics(&all, Some("NEWS"), false).unwrap(), names(&["NEWS"]));
        // Whole-name match, regex dot.
        assert_eq!(filter_topics(&all, Some("test.topic"), false).unwrap(), names(&["test.topic", "test_topic"]));
        assert_eq!(filter_topics(&all, Some("test\\.topic"), false).unwrap(), names(&["test.topic"]));
        assert_eq!(filter_topics(&all, Some("NEW"), false).unwrap(), Vec::<String>::new());
        // Commas mean alternatives, quotes are stripped.
        assert_eq!(filter_topics(&all, Some("'NEWS, news'"), false).unwrap(), names(&["NEWS", "news"]));
        assert_eq!(filter_topics(&all, Some("__.*"), true).unwrap(), Vec::<String>::new());
        assert_eq!(filter_topics(&all, Some("a("), false).unwrap_err(), CommandError("a( is an invalid regex.".into()));
    }

    #[test]
    fn existence_rule() {
        assert_eq!(
            ensure_topic_exists(&[], Some("X"), true).unwrap_err(),
            CommandError("Topic 'X' does not exist as expected".into())
        );
        assert!(ensure_topic_exists(&[], Some("X"), false).is_ok());
        assert!(ensure_topic_exists(&[], None, true).is_ok());
    }

    #[test]
    fn rack_mix() {
        let mixed = vec![BrokerMetadata { id: 2, rack: Some("a".into()) }, BrokerMetadata { id: 1, rack: None }];
        assert!(placement_brokers(mixed.clone(), false).unwrap_err().0.starts_with("Not all brokers have rack information."));
        let ok = placement_brokers(mixed, true).unwrap();
        assert_eq!(ok.iter().map(|b| b.id).collect::<Vec<_>>(), vec![1, 2]);
        assert!(ok.iter().all(|b| b.rack.is_none()));
    }

    #[test]
    fn zk_messages() {
        assert_eq!(zk_message(ZkError::NodeExists("Topic 'T' already exists.".into())), "Topic 'T' already exists.");
        assert_eq!(zk_message(ZkError::NodeExists("/brokers/topics/T".into())), "znode /brokers/topics/T already exists");
        assert_eq!(zk_message(ZkError::Invalid("Replication factor: 3 larger than available brokers: 1.".into())),
            "Replication factor: 3 larger than available brokers: 1.");
    }
}
