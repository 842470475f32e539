//! The controller's slice of the broker configuration.

/// Settings the controller reads from the broker's `server.properties` (Kafka's `KafkaConfig`
/// controller-related keys). Kept separate so the controller does not depend on the broker crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerConfig {
    /// `broker.id` of the broker hosting this controller.
    pub broker_id: i32,
    /// `delete.topic.enable` (default true): when false, deletion requests are just removed.
    pub delete_topic_enable: bool,
    /// `unclean.leader.election.enable` (default false), the broker-wide default that topic
    /// overrides in `/config/topics/<T>` take precedence over.
    pub unclean_leader_election_enable: bool,
    /// `auto.leader.rebalance.enable` (default true). Used by preferred-leader rebalancing (issue #3).
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.check.interval.seconds` (default 300).
    pub leader_imbalance_check_interval_seconds: u64,
    /// `leader.imbalance.per.broker.percentage` (default 10).
    pub leader_imbalance_per_broker_percentage: u32,
    /// `inter.broker.listener.name` (default "PLAINTEXT"): the listener the controller connects to.
    pub inter_broker_listener_name: String,
    /// `controller.socket.timeout.ms` (default 30000): connect and request timeout towards brokers.
    pub controller_socket_timeout_ms: u64,
}

impl ControllerConfig {
    /// Kafka's defaults for a broker with this id.
    pub fn with_defaults(broker_id: i32) -> Self {
        ControllerConfig {
            broker_id,
            delete_topic_enable: true,
            unclean_leader_election_enable: false,
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_seconds: 300,
            leader_imbalance_per_broker_percentage: 10,
            inter_broker_listener_name: "PLAINTEXT".to_string(),
            controller_socket_timeout_ms: 30_000,
        }
    }
}
