//! `--describe` output: the per-topic header line, the per-partition lines and the report filters
//! (`--under-replicated-partitions`, `--unavailable-partitions`, `--topics-with-overrides`).
//! Pure formatting so the exact, TAB-separated layout is unit tested.

use std::collections::{BTreeMap, BTreeSet};

use super::assignment::join;

/// The header line of one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// Topic name.
    pub topic: String,
    /// Base64 topic id, when the assignment node has one.
    pub topic_id: Option<String>,
    /// Number of partitions.
    pub partition_count: usize,
    /// Replica count of partition 0.
    pub replication_factor: usize,
    /// Config overrides only (never broker defaults).
    pub configs: BTreeMap<String, String>,
    /// Whether `/admin/delete_topics/<T>` exists.
    pub marked_for_deletion: bool,
}

impl TopicDescription {
    /// `Topic: T\tTopicId: X\tPartitionCount: n\tReplicationFactor: rf\tConfigs: k=v,...`.
    pub fn line(&self) -> String {
        let mut s = format!("Topic: {}", self.topic);
        if let Some(id) = &self.topic_id {
            s.push_str(&format!("\tTopicId: {id}"));
        }
        s.push_str(&format!("\tPartitionCount: {}", self.partition_count));
        s.push_str(&format!("\tReplicationFactor: {}", self.replication_factor));
        let configs: Vec<String> = self.configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.push_str(&format!("\tConfigs: {}", configs.join(",")));
        if self.marked_for_deletion {
            s.push_str("\tMarkedForDeletion: true");
        }
        s
    }
}

/// One partition line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDescription {
    /// Topic name.
    pub topic: String,
    /// Partition id.
    pub partition: i32,
    /// Current leader; `None` when the state says -1 or there is no state yet.
    pub leader: Option<i32>,
    /// Assigned replicas, preferred leader first.
    pub replicas: Vec<i32>,
    /// In-sync replicas (empty without a state node).
    pub isr: Vec<i32>,
    /// Whether the topic is queued for deletion.
    pub marked_for_deletion: bool,
}

impl PartitionDescription {
    /// `\tTopic: T\tPartition: p\tLeader: l\tReplicas: a,b\tIsr: a,b`.
    pub fn line(&self) -> String {
        let leader = match self.leader {
            Some(l) => l.to_string(),
            None => "none".to_string(),
        };
        let mut s = format!(
            "\tTopic: {}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}",
            self.topic,
            self.partition,
            leader,
            join(&self.replicas, ","),
            join(&self.isr, ",")
        );
        if self.marked_for_deletion {
            s.push_str("\tMarkedForDeletion: true");
        }
        s
    }

    /// Fewer in-sync replicas than assigned ones.
    pub fn is_under_replicated(&self) -> bool {
        self.replicas.len() > self.isr.len()
    }

    /// No leader, or a leader that is not a registered broker.
    pub fn is_unavailable(&self, live_brokers: &BTreeSet<i32>) -> bool {
        match self.leader {
            None => true,
            Some(l) => !live_brokers.contains(&l),
        }
    }
}

/// Which parts of a description to print, from the report flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DescribeFilter {
    /// `--under-replicated-partitions`.
    pub under_replicated: bool,
    /// `--unavailable-partitions`.
    pub unavailable: bool,
    /// `--topics-with-overrides`.
    pub topics_with_overrides: bool,
}

impl DescribeFilter {
    /// Header lines are printed unless a partition report was asked for.
    pub fn describe_configs(&self) -> bool {
        !self.under_replicated && !self.unavailable
    }

    /// Partition lines are printed unless only topics with overrides were asked for.
    pub fn describe_partitions(&self) -> bool {
        !self.topics_with_overrides
    }

    /// Whether a topic's header line is printed.
    pub fn print_header(&self, topic: &TopicDescription) -> bool {
        self.describe_configs() && (!self.topics_with_overrides || !topic.configs.is_empty())
    }

    /// Whether a partition line is printed.
    pub fn print_partition(&self, p: &PartitionDescription, live_brokers: &BTreeSet<i32>) -> bool {
        self.describe_partitions()
            && (self.describe_configs()
                || (self.under_replicated && p.is_under_replicated())
                || (self.unavailable && p.is_unavailable(live_brokers)))
    }

    /// All printed lines of one topic, in order.
    pub fn render(
        &self,
        topic: &TopicDescription,
        partitions: &[PartitionDescription],
        live_brokers: &BTreeSet<i32>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        if self.print_header(topic) {
            out.push(topic.line());
        }
        for p in partitions {
            if self.print_partition(p, live_brokers) {
                out.push(p.line());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(configs: &[(&str, &str)], marked: bool) -> TopicDescription {
        TopicDescription {
            topic: "NEWS".into(),
            topic_id: Some("AAAAAAAAAAAAAAAAAAAAAQ".into()),
            partition_count: 2,
            replication_factor: 3,
            configs: configs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            marked_for_deletion: marked,
        }
    }

    fn part(p: i32, leader: Option<i32>, isr: &[i32], marked: bool) -> PartitionDescription {
        PartitionDescription {
            topic: "NEWS".into(),
            partition: p,
            leader,
            replicas: vec![1, 2, 3],
            isr: isr.to_vec(),
            marked_for_deletion: marked,
        }
    }

    #[test]
    fn golden_lines() {
        assert_eq!(
            topic(&[("retention.ms", "1000"), ("cleanup.policy", "compact")], false).line(),
            "Topic: NEWS\tTopicId: AAAAAAAAAAAAAAAAAAAAAQ\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: cleanup.policy=compact,retention.ms=1000"
        );
        let mut no_id = topic(&[], true);
        no_id.topic_id = None;
        assert_eq!(
            no_id.line(),
            "Topic: NEWS\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: \tMarkedForDeletion: true"
        );
        assert_eq!(
            part(0, Some(1), &[1, 3], false).line(),
            "\tTopic: NEWS\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,3"
        );
        assert_eq!(
            part(1, None, &[], true).line(),
            "\tTopic: NEWS\tPartition: 1\tLeader: none\tReplicas: 1,2,3\tIsr: \tMarkedForDeletion: true"
        );
    }

    #[test]
    fn filters() {
        let live: BTreeSet<i32> = [1, 2, 3].into();
        let t = topic(&[], false);
        let parts = vec![
            part(0, Some(1), &[1, 2, 3], false),
            part(1, Some(2), &[2], false),
            part(2, None, &[], false),
            part(3, Some(7), &[7, 1, 2], false),
        ];
        let all = DescribeFilter::default().render(&t, &parts, &live);
        assert_eq!(all.len(), 5);
        assert!(all[0].starts_with("Topic: NEWS"));

        let under = DescribeFilter { under_replicated: true, ..Default::default() }.render(&t, &parts, &live);
        assert_eq!(under, vec![parts[1].line(), parts[2].line()]);

        let unavailable = DescribeFilter { unavailable: true, ..Default::default() }.render(&t, &parts, &live);
        assert_eq!(unavailable, vec![parts[2].line(), parts[3].line()]);

        let overrides = DescribeFilter { topics_with_overrides: true, ..Default::default() };
        assert!(overrides.render(&t, &parts, &live).is_empty());
        let with = topic(&[("retention.ms", "1")], false);
        assert_eq!(overrides.render(&with, &parts, &live), vec![with.line()]);
    }
}
