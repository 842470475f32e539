//! The identity of a partition, and the mapping to/from its directory name.

use std::fmt;

/// A topic partition, the unit the storage layer keeps one [`crate::Log`] for.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition number (>= 0).
    pub partition: i32,
}

impl TopicPartition {
    /// Convenience constructor.
    pub fn new(topic: impl Into<String>, partition: i32) -> TopicPartition {
        TopicPartition { topic: topic.into(), partition }
    }

    /// The partition directory name Kafka uses: `<topic>-<partition>`.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }

    /// Parses a partition directory name (split at the **last** `-`). Returns
    /// `None` for names that are not partition dirs (e.g. `*-delete`, `*-future`).
    pub fn parse_dir_name(name: &str) -> Option<TopicPartition> {
        let idx = name.rfind('-')?;
        let (topic, part) = (&name[..idx], &name[idx + 1..]);
        if topic.is_empty() || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let partition: i32 = part.parse().ok()?;
        Some(TopicPartition { topic: topic.to_string(), partition })
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_names_round_trip() {
        let tp = TopicPartition::new("my-topic.x", 12);
        assert_eq!(tp.to_string(), "my-topic.x-12");
        assert_eq!(TopicPartition::parse_dir_name(&tp.dir_name()), Some(tp));
        assert_eq!(TopicPartition::parse_dir_name("foo-0.0123abcd-delete"), None);
        assert_eq!(TopicPartition::parse_dir_name("nodash"), None);
        assert_eq!(TopicPartition::parse_dir_name("foo-"), None);
    }
}
