//! Topic administration over ZooKeeper (`AdminZkClient`): shared by the `kafka-topics`/`kafka-configs`
//! tools and by the broker's CreateTopics/DeleteTopics/CreatePartitions/AlterConfigs handlers, so both
//! paths validate and write exactly the same way.

mod assignment;
mod topic_admin;
mod topic_name;

pub use assignment::{assign_replicas_to_brokers, BrokerMetadata};
pub use topic_admin::AdminZkClient;
pub use topic_name::{has_collision_chars, is_internal_topic, validate_topic_name, INTERNAL_TOPICS};
