//! Kafka's topic-name rules (`Topic.validate`).

use crate::error::ZkError;

/// Longest legal topic name.
pub const MAX_NAME_LENGTH: usize = 249;

/// Topics the brokers create and own.
pub const INTERNAL_TOPICS: &[&str] = &["__consumer_offsets", "__transaction_state"];

/// Whether a topic is one of Kafka's internal topics.
pub fn is_internal_topic(topic: &str) -> bool {
    INTERNAL_TOPICS.contains(&topic)
}

/// Whether the name contains `.` or `_`, which collide with each other in metric names.
pub fn has_collision_chars(topic: &str) -> bool {
    topic.contains('.') || topic.contains('_')
}

/// Validate a topic name with Kafka's messages.
pub fn validate_topic_name(topic: &str) -> Result<(), ZkError> {
    if topic.is_empty() {
        return Err(ZkError::Invalid("Topic name is illegal, it can't be empty".into()));
    }
    if topic == "." || topic == ".." {
        return Err(ZkError::Invalid("Topic name cannot be \".\" or \"..\"".into()));
    }
    if topic.len() > MAX_NAME_LENGTH {
        return Err(ZkError::Invalid(format!(
            "Topic name is illegal, it can't be longer than {MAX_NAME_LENGTH} characters, topic name: {topic}"
        )));
    }
    if !topic.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-') {
        return Err(ZkError::Invalid(format!(
            "Topic name \"{topic}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_topic_name("NEWS").is_ok());
        assert!(validate_topic_name("a.b_c-1").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("a b").is_err());
        assert!(validate_topic_name(&"x".repeat(250)).is_err());
        assert!(validate_topic_name(&"x".repeat(249)).is_ok());
    }
}
