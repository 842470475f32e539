//! `KafkaConfig`: the broker's static configuration, read from a `server.properties` file plus
//! `--override key=value` arguments, with Kafka 2.8's keys, types, defaults and derivation rules
//! (retention ms → minutes → hours, `log.dirs` over `log.dir`, listeners from the legacy
//! `host.name`/`port`, ...).
//!
//! Public fields are named after the Kafka key with dots replaced by underscores.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod defs;
pub mod endpoint;
pub mod properties;

pub use defs::{ConfigDef, ConfigType};
pub use endpoint::EndPoint;
pub use properties::parse_properties;

/// A configuration problem, phrased as Kafka phrases it (one line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    /// `Invalid value V for configuration K: WHY`.
    pub fn invalid(key: &str, value: &str, why: &str) -> ConfigError {
        ConfigError(format!("Invalid value {value} for configuration {key}: {why}"))
    }
}

/// The static broker configuration.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    // ZooKeeper
    pub zookeeper_connect: String,
    pub zookeeper_session_timeout_ms: i32,
    /// Effective value: the session timeout when not set.
    pub zookeeper_connection_timeout_ms: i32,
    pub zookeeper_max_in_flight_requests: i32,
    pub zookeeper_set_acl: bool,
    // General
    /// Configured id; -1 means "use meta.properties or generate one".
    pub broker_id: i32,
    pub broker_id_generation_enable: bool,
    pub reserved_broker_max_id: i32,
    pub broker_rack: Option<String>,
    pub message_max_bytes: i32,
    pub num_network_threads: i32,
    pub num_io_threads: i32,
    pub background_threads: i32,
    pub queued_max_requests: i32,
    pub request_timeout_ms: i32,
    // Socket server
    pub listener_security_protocol_map: BTreeMap<String, String>,
    pub control_plane_listener_name: Option<String>,
    pub socket_send_buffer_bytes: i32,
    pub socket_receive_buffer_bytes: i32,
    pub socket_request_max_bytes: usize,
    pub max_connections_per_ip: i32,
    pub max_connections: i32,
    pub connections_max_idle_ms: i64,
    // Logs
    pub log_dirs: Vec<PathBuf>,
    pub num_partitions: i32,
    pub log_segment_bytes: i32,
    pub log_roll_ms: Option<i64>,
    pub log_roll_hours: i32,
    pub log_roll_jitter_ms: Option<i64>,
    pub log_roll_jitter_hours: i32,
    pub log_retention_ms: Option<i64>,
    pub log_retention_minutes: Option<i32>,
    pub log_retention_hours: i32,
    pub log_retention_bytes: i64,
    pub log_retention_check_interval_ms: i64,
    pub log_cleanup_policy: String,
    pub log_cleaner_enable: bool,
    pub log_cleaner_threads: i32,
    pub log_cleaner_dedupe_buffer_size: i64,
    pub log_cleaner_backoff_ms: i64,
    pub log_cleaner_min_cleanable_ratio: f64,
    pub log_cleaner_delete_retention_ms: i64,
    pub log_cleaner_min_compaction_lag_ms: i64,
    pub log_cleaner_max_compaction_lag_ms: i64,
    pub log_cleaner_io_buffer_size: i32,
    pub log_cleaner_io_buffer_load_factor: f64,
    pub log_index_size_max_bytes: i32,
    pub log_index_interval_bytes: i32,
    pub log_flush_interval_messages: i64,
    pub log_segment_delete_delay_ms: i64,
    pub log_flush_scheduler_interval_ms: i64,
    /// Effective value: `log.flush.scheduler.interval.ms` when not set.
    pub log_flush_interval_ms: i64,
    pub log_flush_offset_checkpoint_interval_ms: i32,
    pub log_flush_start_offset_checkpoint_interval_ms: i32,
    pub log_preallocate: bool,
    pub num_recovery_threads_per_data_dir: i32,
    pub auto_create_topics_enable: bool,
    pub min_insync_replicas: i32,
    pub log_message_format_version: String,
    pub log_message_timestamp_type: String,
    pub log_message_timestamp_difference_max_ms: i64,
    pub log_message_downconversion_enable: bool,
    pub compression_type: String,
    // Replication
    pub controller_socket_timeout_ms: i32,
    pub default_replication_factor: i32,
    pub replica_lag_time_max_ms: i64,
    pub replica_socket_timeout_ms: i32,
    pub replica_socket_receive_buffer_bytes: i32,
    pub replica_fetch_max_bytes: i32,
    pub replica_fetch_wait_max_ms: i32,
    pub replica_fetch_backoff_ms: i32,
    pub replica_fetch_min_bytes: i32,
    pub replica_fetch_response_max_bytes: i32,
    pub num_replica_fetchers: i32,
    pub replica_high_watermark_checkpoint_interval_ms: i64,
    pub fetch_purgatory_purge_interval_requests: i32,
    pub producer_purgatory_purge_interval_requests: i32,
    pub delete_records_purgatory_purge_interval_requests: i32,
    pub auto_leader_rebalance_enable: bool,
    pub leader_imbalance_per_broker_percentage: i32,
    pub leader_imbalance_check_interval_seconds: i64,
    pub unclean_leader_election_enable: bool,
    pub inter_broker_protocol_version: String,
    // Controlled shutdown
    pub controlled_shutdown_max_retries: i32,
    pub controlled_shutdown_retry_backoff_ms: i64,
    pub controlled_shutdown_enable: bool,
    // Group coordinator
    pub group_min_session_timeout_ms: i32,
    pub group_max_session_timeout_ms: i32,
    pub group_initial_rebalance_delay_ms: i32,
    pub group_max_size: i32,
    // Offsets
    pub offset_metadata_max_bytes: i32,
    pub offsets_load_buffer_size: i32,
    pub offsets_topic_replication_factor: i16,
    pub offsets_topic_num_partitions: i32,
    pub offsets_topic_segment_bytes: i32,
    pub offsets_topic_compression_codec: i32,
    pub offsets_retention_minutes: i32,
    pub offsets_retention_check_interval_ms: i64,
    pub offsets_commit_timeout_ms: i32,
    pub offsets_commit_required_acks: i16,
    // Transactions
    pub transactional_id_expiration_ms: i32,
    pub transaction_max_timeout_ms: i32,
    pub transaction_state_log_load_buffer_size: i32,
    pub transaction_state_log_replication_factor: i16,
    pub transaction_state_log_num_partitions: i32,
    pub transaction_state_log_segment_bytes: i32,
    pub transaction_state_log_min_isr: i32,
    pub transaction_abort_timed_out_transaction_cleanup_interval_ms: i32,
    pub transaction_remove_expired_transaction_cleanup_interval_ms: i32,
    // Misc
    pub max_incremental_fetch_session_cache_slots: i32,
    pub fetch_max_bytes: i32,
    pub delete_topic_enable: bool,

    listeners: Vec<EndPoint>,
    advertised_listeners: Vec<EndPoint>,
    inter_broker_listener_name: String,
    /// Known keys as supplied (trimmed), after overrides.
    originals: BTreeMap<String, String>,
    /// Supplied keys this broker does not know.
    unknown_keys: Vec<String>,
}

/// Typed access to validated values (supplied or default).
struct Values {
    map: BTreeMap<&'static str, Option<String>>,
}

impl Values {
    fn raw(&self, key: &str) -> Option<&str> {
        self.map.get(key).and_then(|v| v.as_deref())
    }
    fn is_set(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }
    fn string(&self, key: &str) -> String {
        self.raw(key).unwrap_or_default().to_string()
    }
    fn opt_string(&self, key: &str) -> Option<String> {
        self.raw(key).map(str::to_string)
    }
    fn int(&self, key: &str) -> i32 {
        self.raw(key).and_then(|v| v.parse().ok()).unwrap_or_default()
    }
    fn opt_int(&self, key: &str) -> Option<i32> {
        self.raw(key).and_then(|v| v.parse().ok())
    }
    fn short(&self, key: &str) -> i16 {
        self.raw(key).and_then(|v| v.parse().ok()).unwrap_or_default()
    }
    fn long(&self, key: &str) -> i64 {
        self.raw(key).and_then(|v| v.parse().ok()).unwrap_or_default()
    }
    fn opt_long(&self, key: &str) -> Option<i64> {
        self.raw(key).and_then(|v| v.parse().ok())
    }
    fn double(&self, key: &str) -> f64 {
        self.raw(key).and_then(|v| v.parse().ok()).unwrap_or_default()
    }
    fn bool(&self, key: &str) -> bool {
        self.raw(key).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

impl KafkaConfig {
    /// Read a properties file and apply `--override` pairs (overrides win).
    pub fn load(path: &Path, overrides: &[(String, String)]) -> Result<KafkaConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("Unable to read properties file {}: {e}", path.display())))?;
        let mut props = parse_properties(&text);
        for (k, v) in overrides {
            props.insert(k.clone(), v.clone());
        }
        KafkaConfig::from_props(&props)
    }

    /// Build from key/value pairs. Unknown keys are kept aside (see [`KafkaConfig::unknown_keys`]).
    pub fn from_props(props: &BTreeMap<String, String>) -> Result<KafkaConfig, ConfigError> {
        let mut originals = BTreeMap::new();
        let mut unknown_keys = Vec::new();
        for (k, v) in props {
            let k = k.trim();
            match defs::find(k) {
                Some(def) => {
                    let v = defs::validate(def, v)?;
                    originals.insert(def.name.to_string(), v);
                }
                None => unknown_keys.push(k.to_string()),
            }
        }
        let mut map = BTreeMap::new();
        for def in defs::DEFS {
            let v = originals.get(def.name).cloned().or_else(|| def.default.map(str::to_string));
            map.insert(def.name, v);
        }
        let v = Values { map };

        let zookeeper_connect = v
            .opt_string("zookeeper.connect")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ConfigError("Missing required configuration \"zookeeper.connect\" which has no default value.".into()))?;
        let zookeeper_session_timeout_ms = v.int("zookeeper.session.timeout.ms");

        // Listeners.
        let protocol_map =
            endpoint::parse_protocol_map("listener.security.protocol.map", &v.string("listener.security.protocol.map"))?;
        let listeners = match v.raw("listeners") {
            Some(l) => endpoint::parse_listeners("listeners", l, &protocol_map)?,
            None => {
                let legacy = format!("PLAINTEXT://{}:{}", v.string("host.name"), v.int("port"));
                endpoint::parse_listeners("listeners", &legacy, &protocol_map)?
            }
        };
        if listeners.is_empty() {
            return Err(ConfigError::invalid("listeners", &v.string("listeners"), "At least one listener is required"));
        }
        let advertised_listeners = match v.raw("advertised.listeners") {
            Some(l) => endpoint::parse_listeners("advertised.listeners", l, &protocol_map)?,
            None if v.is_set("advertised.host.name") || v.is_set("advertised.port") => {
                let host = v.opt_string("advertised.host.name").unwrap_or_else(|| v.string("host.name"));
                let port = v.opt_int("advertised.port").unwrap_or_else(|| v.int("port"));
                endpoint::parse_listeners("advertised.listeners", &format!("PLAINTEXT://{host}:{port}"), &protocol_map)?
            }
            None => listeners.clone(),
        };
        for ep in &advertised_listeners {
            if ep.host == "0.0.0.0" {
                return Err(ConfigError::invalid(
                    "advertised.listeners",
                    &v.string("advertised.listeners"),
                    "advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address.",
                ));
            }
        }
        let inter_broker_listener_name = match (v.opt_string("inter.broker.listener.name"), v.opt_string("security.inter.broker.protocol")) {
            (Some(_), Some(_)) => {
                return Err(ConfigError(
                    "Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.".into(),
                ))
            }
            (Some(name), None) => name.to_ascii_uppercase(),
            (None, Some(proto)) => {
                let proto = proto.to_ascii_uppercase();
                if !endpoint::SECURITY_PROTOCOLS.contains(&proto.as_str()) {
                    return Err(ConfigError::invalid(
                        "security.inter.broker.protocol",
                        &proto,
                        "String must be one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
                    ));
                }
                proto
            }
            (None, None) => "PLAINTEXT".to_string(),
        };
        if !advertised_listeners.iter().any(|e| e.listener_name == inter_broker_listener_name) {
            return Err(ConfigError(format!(
                "inter.broker.listener.name must be a listener name defined in advertised.listeners. \
                 The valid options based on currently configured listeners are {}",
                advertised_listeners.iter().map(|e| e.listener_name.as_str()).collect::<Vec<_>>().join(",")
            )));
        }
        for ep in &advertised_listeners {
            if !listeners.iter().any(|l| l.listener_name == ep.listener_name) {
                return Err(ConfigError(format!(
                    "advertised.listeners listener names must be equal to or a subset of the ones defined in listeners. Found {}. The valid options based on the current configuration are {}",
                    ep.listener_name,
                    listeners.iter().map(|e| e.listener_name.as_str()).collect::<Vec<_>>().join(",")
                )));
            }
        }

        // Log dirs: log.dirs wins over log.dir.
        let dirs = v.opt_string("log.dirs").unwrap_or_else(|| v.string("log.dir"));
        let log_dirs: Vec<PathBuf> =
            dirs.split(',').map(str::trim).filter(|s| !s.is_empty()).map(PathBuf::from).collect();
        if log_dirs.is_empty() {
            return Err(ConfigError::invalid("log.dirs", &dirs, "At least one log directory must be defined"));
        }

        let broker_id = v.int("broker.id");
        let broker_id_generation_enable = v.bool("broker.id.generation.enable");
        let reserved_broker_max_id = v.int("reserved.broker.max.id");
        let id_ok = if broker_id_generation_enable {
            broker_id >= -1 && broker_id <= reserved_broker_max_id
        } else {
            broker_id >= 0
        };
        if !id_ok {
            return Err(ConfigError(format!(
                "broker.id must be greater than or equal to -1 and not greater than reserved.broker.max.id \
                 (broker.id={broker_id}, reserved.broker.max.id={reserved_broker_max_id}, broker.id.generation.enable={broker_id_generation_enable})"
            )));
        }

        let log_flush_scheduler_interval_ms = v.long("log.flush.scheduler.interval.ms");
        let cfg = KafkaConfig {
            zookeeper_connection_timeout_ms: v.opt_int("zookeeper.connection.timeout.ms").unwrap_or(zookeeper_session_timeout_ms),
            zookeeper_connect,
            zookeeper_session_timeout_ms,
            zookeeper_max_in_flight_requests: v.int("zookeeper.max.in.flight.requests"),
            zookeeper_set_acl: v.bool("zookeeper.set.acl"),
            broker_id,
            broker_id_generation_enable,
            reserved_broker_max_id,
            broker_rack: v.opt_string("broker.rack").filter(|s| !s.is_empty()),
            message_max_bytes: v.int("message.max.bytes"),
            num_network_threads: v.int("num.network.threads"),
            num_io_threads: v.int("num.io.threads"),
            background_threads: v.int("background.threads"),
            queued_max_requests: v.int("queued.max.requests"),
            request_timeout_ms: v.int("request.timeout.ms"),
            listener_security_protocol_map: protocol_map,
            control_plane_listener_name: v.opt_string("control.plane.listener.name").map(|s| s.to_ascii_uppercase()),
            socket_send_buffer_bytes: v.int("socket.send.buffer.bytes"),
            socket_receive_buffer_bytes: v.int("socket.receive.buffer.bytes"),
            socket_request_max_bytes: v.int("socket.request.max.bytes") as usize,
            max_connections_per_ip: v.int("max.connections.per.ip"),
            max_connections: v.int("max.connections"),
            connections_max_idle_ms: v.long("connections.max.idle.ms"),
            log_dirs,
            num_partitions: v.int("num.partitions"),
            log_segment_bytes: v.int("log.segment.bytes"),
            log_roll_ms: v.opt_long("log.roll.ms"),
            log_roll_hours: v.int("log.roll.hours"),
            log_roll_jitter_ms: v.opt_long("log.roll.jitter.ms"),
            log_roll_jitter_hours: v.int("log.roll.jitter.hours"),
            log_retention_ms: v.opt_long("log.retention.ms"),
            log_retention_minutes: v.opt_int("log.retention.minutes"),
            log_retention_hours: v.int("log.retention.hours"),
            log_retention_bytes: v.long("log.retention.bytes"),
            log_retention_check_interval_ms: v.long("log.retention.check.interval.ms"),
            log_cleanup_policy: v.string("log.cleanup.policy").split(',').map(str::trim).collect::<Vec<_>>().join(","),
            log_cleaner_enable: v.bool("log.cleaner.enable"),
            log_cleaner_threads: v.int("log.cleaner.threads"),
            log_cleaner_dedupe_buffer_size: v.long("log.cleaner.dedupe.buffer.size"),
            log_cleaner_backoff_ms: v.long("log.cleaner.backoff.ms"),
            log_cleaner_min_cleanable_ratio: v.double("log.cleaner.min.cleanable.ratio"),
            log_cleaner_delete_retention_ms: v.long("log.cleaner.delete.retention.ms"),
            log_cleaner_min_compaction_lag_ms: v.long("log.cleaner.min.compaction.lag.ms"),
            log_cleaner_max_compaction_lag_ms: v.long("log.cleaner.max.compaction.lag.ms"),
            log_cleaner_io_buffer_size: v.int("log.cleaner.io.buffer.size"),
            log_cleaner_io_buffer_load_factor: v.double("log.cleaner.io.buffer.load.factor"),
            log_index_size_max_bytes: v.int("log.index.size.max.bytes"),
            log_index_interval_bytes: v.int("log.index.interval.bytes"),
            log_flush_interval_messages: v.long("log.flush.interval.messages"),
            log_segment_delete_delay_ms: v.long("log.segment.delete.delay.ms"),
            log_flush_scheduler_interval_ms,
            log_flush_interval_ms: v.opt_long("log.flush.interval.ms").unwrap_or(log_flush_scheduler_interval_ms),
            log_flush_offset_checkpoint_interval_ms: v.int("log.flush.offset.checkpoint.interval.ms"),
            log_flush_start_offset_checkpoint_interval_ms: v.int("log.flush.start.offset.checkpoint.interval.ms"),
            log_preallocate: v.bool("log.preallocate"),
            num_recovery_threads_per_data_dir: v.int("num.recovery.threads.per.data.dir"),
            auto_create_topics_enable: v.bool("auto.create.topics.enable"),
            min_insync_replicas: v.int("min.insync.replicas"),
            log_message_format_version: v.string("log.message.format.version"),
            log_message_timestamp_type: v.string("log.message.timestamp.type"),
            log_message_timestamp_difference_max_ms: v.long("log.message.timestamp.difference.max.ms"),
            log_message_downconversion_enable: v.bool("log.message.downconversion.enable"),
            compression_type: v.string("compression.type").to_ascii_lowercase(),
            controller_socket_timeout_ms: v.int("controller.socket.timeout.ms"),
            default_replication_factor: v.int("default.replication.factor"),
            replica_lag_time_max_ms: v.long("replica.lag.time.max.ms"),
            replica_socket_timeout_ms: v.int("replica.socket.timeout.ms"),
            replica_socket_receive_buffer_bytes: v.int("replica.socket.receive.buffer.bytes"),
            replica_fetch_max_bytes: v.int("replica.fetch.max.bytes"),
            replica_fetch_wait_max_ms: v.int("replica.fetch.wait.max.ms"),
            replica_fetch_backoff_ms: v.int("replica.fetch.backoff.ms"),
            replica_fetch_min_bytes: v.int("replica.fetch.min.bytes"),
            replica_fetch_response_max_bytes: v.int("replica.fetch.response.max.bytes"),
            num_replica_fetchers: v.int("num.replica.fetchers"),
            replica_high_watermark_checkpoint_interval_ms: v.long("replica.high.watermark.checkpoint.interval.ms"),
            fetch_purgatory_purge_interval_requests: v.int("fetch.purgatory.purge.interval.requests"),
            producer_purgatory_purge_interval_requests: v.int("producer.purgatory.purge.interval.requests"),
            delete_records_purgatory_purge_interval_requests: v.int("delete.records.purgatory.purge.interval.requests"),
            auto_leader_rebalance_enable: v.bool("auto.leader.rebalance.enable"),
            leader_imbalance_per_broker_percentage: v.int("leader.imbalance.per.broker.percentage"),
            leader_imbalance_check_interval_seconds: v.long("leader.imbalance.check.interval.seconds"),
            unclean_leader_election_enable: v.bool("unclean.leader.election.enable"),
            inter_broker_protocol_version: v.string("inter.broker.protocol.version"),
            controlled_shutdown_max_retries: v.int("controlled.shutdown.max.retries"),
            controlled_shutdown_retry_backoff_ms: v.long("controlled.shutdown.retry.backoff.ms"),
            controlled_shutdown_enable: v.bool("controlled.shutdown.enable"),
            group_min_session_timeout_ms: v.int("group.min.session.timeout.ms"),
            group_max_session_timeout_ms: v.int("group.max.session.timeout.ms"),
            group_initial_rebalance_delay_ms: v.int("group.initial.rebalance.delay.ms"),
            group_max_size: v.int("group.max.size"),
            offset_metadata_max_bytes: v.int("offset.metadata.max.bytes"),
            offsets_load_buffer_size: v.int("offsets.load.buffer.size"),
            offsets_topic_replication_factor: v.short("offsets.topic.replication.factor"),
            offsets_topic_num_partitions: v.int("offsets.topic.num.partitions"),
            offsets_topic_segment_bytes: v.int("offsets.topic.segment.bytes"),
            offsets_topic_compression_codec: v.int("offsets.topic.compression.codec"),
            offsets_retention_minutes: v.int("offsets.retention.minutes"),
            offsets_retention_check_interval_ms: v.long("offsets.retention.check.interval.ms"),
            offsets_commit_timeout_ms: v.int("offsets.commit.timeout.ms"),
            offsets_commit_required_acks: v.short("offsets.commit.required.acks"),
            transactional_id_expiration_ms: v.int("transactional.id.expiration.ms"),
            transaction_max_timeout_ms: v.int("transaction.max.timeout.ms"),
            transaction_state_log_load_buffer_size: v.int("transaction.state.log.load.buffer.size"),
            transaction_state_log_replication_factor: v.short("transaction.state.log.replication.factor"),
            transaction_state_log_num_partitions: v.int("transaction.state.log.num.partitions"),
            transaction_state_log_segment_bytes: v.int("transaction.state.log.segment.bytes"),
            transaction_state_log_min_isr: v.int("transaction.state.log.min.isr"),
            transaction_abort_timed_out_transaction_cleanup_interval_ms: v
                .int("transaction.abort.timed.out.transaction.cleanup.interval.ms"),
            transaction_remove_expired_transaction_cleanup_interval_ms: v
                .int("transaction.remove.expired.transaction.cleanup.interval.ms"),
            max_incremental_fetch_session_cache_slots: v.int("max.incremental.fetch.session.cache.slots"),
            fetch_max_bytes: v.int("fetch.max.bytes"),
            delete_topic_enable: v.bool("delete.topic.enable"),
            listeners,
            advertised_listeners,
            inter_broker_listener_name,
            originals,
            unknown_keys,
        };
        if cfg.offsets_commit_required_acks < -1 || cfg.offsets_commit_required_acks > cfg.offsets_topic_replication_factor {
            return Err(ConfigError(
                "offsets.commit.required.acks must be greater or equal -1 and less or equal to offsets.topic.replication.factor".into(),
            ));
        }
        if cfg.group_max_session_timeout_ms < cfg.group_min_session_timeout_ms {
            return Err(ConfigError(
                "group.max.session.timeout.ms must be greater than or equal to group.min.session.timeout.ms".into(),
            ));
        }
        // The broker-wide topic defaults must themselves be a valid topic config.
        storage::LogConfig::default().with_overrides(&cfg.topic_default_overrides()).map_err(|e| ConfigError(e.to_string()))?;
        Ok(cfg)
    }

    /// Listeners to bind.
    pub fn listeners(&self) -> Vec<EndPoint> {
        self.listeners.clone()
    }

    /// Listeners to publish in `/brokers/ids/<id>` (`advertised.listeners`, else `listeners`).
    pub fn advertised_listeners(&self) -> Vec<EndPoint> {
        self.advertised_listeners.clone()
    }

    /// The listener other brokers and the controller use to reach this broker.
    pub fn inter_broker_listener_name(&self) -> String {
        self.inter_broker_listener_name.clone()
    }

    /// Security protocol of the inter-broker listener.
    pub fn inter_broker_security_protocol(&self) -> String {
        self.listener_security_protocol_map
            .get(&self.inter_broker_listener_name)
            .cloned()
            .unwrap_or_else(|| "PLAINTEXT".to_string())
    }

    /// Keys that were supplied but are not known to this broker (Kafka warns and ignores them).
    pub fn unknown_keys(&self) -> &[String] {
        &self.unknown_keys
    }

    /// Known keys as supplied in the file or by `--override` (trimmed).
    pub fn originals(&self) -> &BTreeMap<String, String> {
        &self.originals
    }

    /// Whether `key` was supplied (rather than defaulted).
    pub fn is_supplied(&self, key: &str) -> bool {
        self.originals.contains_key(key)
    }

    /// Effective retention time: `log.retention.ms`, else minutes, else hours; negative = -1 (unlimited).
    pub fn log_retention_time_millis(&self) -> i64 {
        let ms = self
            .log_retention_ms
            .or_else(|| self.log_retention_minutes.map(|m| m as i64 * 60_000))
            .unwrap_or(self.log_retention_hours as i64 * 3_600_000);
        if ms < 0 {
            -1
        } else {
            ms
        }
    }

    /// Effective segment roll time: `log.roll.ms`, else `log.roll.hours`.
    pub fn log_roll_time_millis(&self) -> i64 {
        self.log_roll_ms.unwrap_or(self.log_roll_hours as i64 * 3_600_000)
    }

    /// Effective roll jitter: `log.roll.jitter.ms`, else `log.roll.jitter.hours`.
    pub fn log_roll_time_jitter_millis(&self) -> i64 {
        self.log_roll_jitter_ms.unwrap_or(self.log_roll_jitter_hours as i64 * 3_600_000)
    }

    /// The broker's defaults expressed as topic-level keys (`segment.bytes` = `log.segment.bytes`, ...).
    pub fn topic_default_overrides(&self) -> BTreeMap<String, String> {
        let pairs: [(&str, String); 24] = [
            ("segment.bytes", self.log_segment_bytes.to_string()),
            ("segment.ms", self.log_roll_time_millis().to_string()),
            ("segment.jitter.ms", self.log_roll_time_jitter_millis().to_string()),
            ("segment.index.bytes", self.log_index_size_max_bytes.to_string()),
            ("index.interval.bytes", self.log_index_interval_bytes.to_string()),
            ("retention.bytes", self.log_retention_bytes.to_string()),
            ("retention.ms", self.log_retention_time_millis().to_string()),
            ("max.message.bytes", self.message_max_bytes.to_string()),
            ("flush.messages", self.log_flush_interval_messages.to_string()),
            ("flush.ms", self.log_flush_interval_ms.to_string()),
            ("file.delete.delay.ms", self.log_segment_delete_delay_ms.to_string()),
            ("delete.retention.ms", self.log_cleaner_delete_retention_ms.to_string()),
            ("min.compaction.lag.ms", self.log_cleaner_min_compaction_lag_ms.to_string()),
            ("max.compaction.lag.ms", self.log_cleaner_max_compaction_lag_ms.to_string()),
            ("min.cleanable.dirty.ratio", self.log_cleaner_min_cleanable_ratio.to_string()),
            ("cleanup.policy", self.log_cleanup_policy.clone()),
            ("unclean.leader.election.enable", self.unclean_leader_election_enable.to_string()),
            ("min.insync.replicas", self.min_insync_replicas.to_string()),
            ("compression.type", self.compression_type.clone()),
            ("preallocate", self.log_preallocate.to_string()),
            ("message.format.version", self.log_message_format_version.clone()),
            ("message.timestamp.type", self.log_message_timestamp_type.clone()),
            ("message.timestamp.difference.max.ms", self.log_message_timestamp_difference_max_ms.to_string()),
            ("message.downconversion.enable", self.log_message_downconversion_enable.to_string()),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// The broker defaults as a topic `LogConfig` (what a topic without overrides gets).
    pub fn log_config(&self) -> storage::LogConfig {
        // Validated in `from_props`, so this cannot fail; fall back to Kafka's defaults regardless.
        storage::LogConfig::default().with_overrides(&self.topic_default_overrides()).unwrap_or_default()
    }

    /// The `log.cleaner.*` settings of the compaction threads (started only with `log.cleaner.enable`).
    pub fn cleaner_config(&self) -> storage::cleaner::CleanerConfig {
        storage::cleaner::CleanerConfig {
            num_threads: self.log_cleaner_threads.max(0) as usize,
            dedupe_buffer_size: self.log_cleaner_dedupe_buffer_size,
            dedupe_buffer_load_factor: self.log_cleaner_io_buffer_load_factor.clamp(0.01, 1.0),
            io_buffer_size: self.log_cleaner_io_buffer_size.max(0) as usize,
            backoff_ms: self.log_cleaner_backoff_ms.max(0) as u64,
        }
    }

    /// Every known broker key with its effective value as text (`None` = null), whether it was
    /// supplied, and its definition; for DescribeConfigs on a broker resource.
    pub fn describe(&self) -> Vec<(&'static ConfigDef, Option<String>, bool)> {
        defs::DEFS
            .iter()
            .map(|def| {
                let supplied = self.originals.get(def.name);
                let value = supplied.cloned().or_else(|| self.derived_value(def.name)).or_else(|| def.default.map(str::to_string));
                (def, value, supplied.is_some())
            })
            .collect()
    }

    /// Values Kafka reports for keys whose default is derived from another key.
    fn derived_value(&self, key: &str) -> Option<String> {
        match key {
            "zookeeper.connection.timeout.ms" => Some(self.zookeeper_connection_timeout_ms.to_string()),
            "log.dirs" => Some(self.log_dirs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(",")),
            "log.flush.interval.ms" => Some(self.log_flush_interval_ms.to_string()),
            "log.retention.ms" if self.log_retention_ms.is_none() => None,
            "listeners" => Some(self.listeners.iter().map(|e| e.connection_string()).collect::<Vec<_>>().join(",")),
            "advertised.listeners" => Some(self.advertised_listeners.iter().map(|e| e.connection_string()).collect::<Vec<_>>().join(",")),
            "inter.broker.listener.name" => Some(self.inter_broker_listener_name.clone()),
            _ => None,
        }
    }
}

/// Parse the command line of `kafka-server`: `<server.properties> [--override key=value]...`.
pub fn parse_args(args: &[String]) -> Result<(PathBuf, Vec<(String, String)>), String> {
    let mut iter = args.iter();
    let path = match iter.next() {
        Some(p) if !p.starts_with("--") => PathBuf::from(p),
        _ => return Err("missing server.properties path".into()),
    };
    let mut overrides = Vec::new();
    while let Some(a) = iter.next() {
        if a == "--override" {
            let kv = iter.next().ok_or("--override needs a key=value argument")?;
            let (k, v) = kv.split_once('=').ok_or_else(|| format!("invalid --override {kv}: expected key=value"))?;
            if k.trim().is_empty() {
                return Err(format!("invalid --override {kv}: empty key"));
            }
            overrides.push((k.trim().to_string(), v.to_string()));
        } else if let Some(kv) = a.strip_prefix("--override=") {
            let (k, v) = kv.split_once('=').ok_or_else(|| format!("invalid --override {kv}: expected key=value"))?;
            overrides.push((k.trim().to_string(), v.to_string()));
        } else {
            return Err(format!("unexpected argument {a}"));
        }
    }
    Ok((path, overrides))
}

#[cfg(test)]
mod tests;
