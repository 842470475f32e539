//! `KafkaServer`: brings one broker up in Kafka's order and takes it down again.
//!
//! Startup (Kafka 2.8 `KafkaServer.startup`): ZooKeeper (chroot first) and the top-level paths,
//! cluster id, `meta.properties` checks, broker id, topic config overrides, log manager, replica
//! manager, sockets bound, `/brokers/ids/<id>` registered (its czxid is the broker epoch),
//! `meta.properties` written, controller started, config-change listener, then requests are served.
//!
//! Shutdown (once): stop accepting and finish in-flight requests, controller, config listener,
//! replica manager, log manager (clean-shutdown marker), then our ZooKeeper ephemerals go.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use controller::{ControllerConfig, KafkaController};
use storage::LogManager;
use zk_schema::admin::AdminZkClient;
use zk_schema::model::{BrokerEndpoint, BrokerRegistration};
use zk_schema::{paths, KafkaZkClient, ZkError};

use crate::apis::KafkaApis;
use crate::config::{EndPoint, KafkaConfig};
use crate::coordinator::group::manager::ManagerConfig;
use crate::coordinator::group::membership::GroupConfig;
use crate::coordinator::group::{GroupCoordinator, GroupMetadataManager};
use crate::dynamic_config::{DynamicConfigManager, TopicConfigListener};
use crate::metadata_cache::MetadataCache;
use crate::network::SocketServer;
use crate::replica_manager::ReplicaManager;
use crate::topic_configs::TopicConfigs;

pub mod controlled_shutdown;
pub mod log_dir_failure_handler;
pub mod meta_properties;

use log_dir_failure_handler::LogDirFailureHandler;
use meta_properties::BrokerMetadata;

/// A fatal startup problem, as one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

impl From<ZkError> for StartupError {
    fn from(e: ZkError) -> Self {
        StartupError(e.to_string())
    }
}

/// How long shutdown waits for in-flight requests.
const SHUTDOWN_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A running broker.
pub struct KafkaServer {
    config: Arc<KafkaConfig>,
    zk: KafkaZkClient,
    cluster_id: String,
    broker_epoch: Arc<AtomicI64>,
    socket_server: SocketServer,
    apis: Arc<KafkaApis>,
    log_manager: Arc<LogManager>,
    replica_manager: Arc<ReplicaManager>,
    dynamic_config: DynamicConfigManager,
    log_dir_failure_handler: LogDirFailureHandler,
    advertised: Vec<EndPoint>,
    shut_down: AtomicBool,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// This machine's host name, used for advertised listeners without a host.
pub fn local_hostname() -> String {
    for path in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(h) = std::fs::read_to_string(path) {
            let h = h.trim();
            if !h.is_empty() {
                return h.to_string();
            }
        }
    }
    "localhost".to_string()
}

/// Advertised endpoints with empty hosts and port 0 resolved (hostname, bound port).
pub fn resolve_advertised(advertised: &[EndPoint], bound: &[EndPoint], hostname: &str) -> Vec<EndPoint> {
    advertised
        .iter()
        .map(|ep| {
            let mut ep = ep.clone();
            if ep.host.is_empty() {
                ep.host = hostname.to_string();
            }
            if ep.port == 0 {
                if let Some(b) = bound.iter().find(|b| b.listener_name == ep.listener_name) {
                    ep.port = b.port;
                }
            }
            ep
        })
        .collect()
}

/// Decide the broker id from configuration, `meta.properties` and ZooKeeper (Kafka's `getOrGenerateBrokerId`).
async fn resolve_broker_id(config: &KafkaConfig, stored: Option<&BrokerMetadata>, zk: &KafkaZkClient) -> Result<i32, StartupError> {
    match (config.broker_id, stored) {
        (configured, Some(m)) if configured >= 0 && configured != m.broker_id => Err(StartupError(format!(
            "Configured broker.id {configured} doesn't match stored broker.id {} in meta.properties. \
             If you moved your data, make sure your configured broker.id matches. If you intend to create a new broker, \
             you should remove all data in your data directories (log.dirs).",
            m.broker_id
        ))),
        (configured, _) if configured >= 0 => Ok(configured),
        (_, Some(m)) => Ok(m.broker_id),
        (_, None) if config.broker_id_generation_enable => {
            let id = zk.generate_broker_id().await?;
            tracing::info!("Generated broker id {id} through ZooKeeper");
            Ok(id)
        }
        (_, None) => Err(StartupError(
            "broker.id is not set, no meta.properties holds one, and broker.id.generation.enable is false".into(),
        )),
    }
}

impl KafkaServer {
    /// Start a broker. On error nothing keeps running that would outlive the process.
    pub async fn startup(config: KafkaConfig) -> Result<KafkaServer, StartupError> {
        for ep in config.listeners() {
            if ep.security_protocol != "PLAINTEXT" {
                return Err(StartupError(format!(
                    "Listener {} uses security protocol {}, which this broker does not support yet (only PLAINTEXT)",
                    ep.listener_name, ep.security_protocol
                )));
            }
        }
        tracing::info!("starting");
        tracing::info!("Connecting to zookeeper on {}", config.zookeeper_connect);
        let zk = KafkaZkClient::connect(
            &config.zookeeper_connect,
            Duration::from_millis(config.zookeeper_session_timeout_ms.max(1) as u64),
            Duration::from_millis(config.zookeeper_connection_timeout_ms.max(1) as u64),
        )
        .await?;
        zk.create_top_level_paths().await?;
        let cluster_id = zk.get_or_create_cluster_id().await?;
        tracing::info!("Cluster ID = {cluster_id}");

        let (stored, unreadable_dirs) = meta_properties::read_all_with_offline(&config.log_dirs).map_err(StartupError)?;
        if let Some(stored_cluster) = stored.as_ref().and_then(|m| m.cluster_id.as_ref()) {
            if *stored_cluster != cluster_id {
                return Err(StartupError(format!(
                    "The Cluster ID {cluster_id} doesn't match stored clusterId Some({stored_cluster}) in meta.properties. \
                     The broker is trying to join the wrong cluster. Configured zookeeper.connect may be wrong."
                )));
            }
        }
        let broker_id = resolve_broker_id(&config, stored.as_ref(), &zk).await?;
        let mut config = config;
        config.broker_id = broker_id;
        let config = Arc::new(config);

        // Topic overrides must be known before logs are loaded with their configs.
        let topic_configs = Arc::new(TopicConfigs::new(config.log_config()));
        topic_configs.load_all(zk.get_all_entity_configs("topics").await?);

        let log_dirs = config.log_dirs.clone();
        let tc = topic_configs.clone();
        // Dirs that cannot be used are offline from the start (the channel says which); none left
        // is fatal, with Kafka's line.
        let channel = Arc::new(storage::LogDirFailureChannel::new());
        let log_manager = tokio::task::spawn_blocking(move || {
            LogManager::startup_with(log_dirs, Arc::new(move |topic: &str| tc.log_config(topic)), channel, &unreadable_dirs)
        })
        .await
        .map_err(|e| StartupError(format!("log loading panicked: {e}")))?
        .map_err(|e| match e {
            storage::StorageError::NoUsableLogDirs { .. } => StartupError(e.to_string()),
            e => StartupError(format!("Failed to load logs: {e}")),
        })?;
        let log_manager = Arc::new(log_manager);
        log_manager.start_background_tasks(
            config.log_retention_check_interval_ms.max(1) as u64,
            config.log_flush_scheduler_interval_ms.max(1) as u64,
        );
        if config.log_cleaner_enable {
            let codec: Arc<dyn storage::cleaner::RecordsCodec> = Arc::new(crate::log_codec::WireCodec);
            log_manager.start_cleaner(config.cleaner_config(), Some(codec)).map_err(|e| StartupError(format!("Failed to start the log cleaner: {e}")))?;
        }

        let broker_epoch = Arc::new(AtomicI64::new(-1));
        let metadata_cache = Arc::new(MetadataCache::new());
        let replica_manager = ReplicaManager::new(
            config.clone(),
            log_manager.clone(),
            topic_configs.clone(),
            broker_epoch.clone(),
            metadata_cache.clone(),
        );
        replica_manager.startup();

        let socket_server = SocketServer::bind(&config).await.map_err(|e| StartupError(e.to_string()))?;

        // Registration.
        let advertised = resolve_advertised(&config.advertised_listeners(), &socket_server.bound_endpoints(), &local_hostname());
        let endpoints: Vec<BrokerEndpoint> = advertised
            .iter()
            .map(|e| BrokerEndpoint {
                listener: e.listener_name.clone(),
                security_protocol: e.security_protocol.clone(),
                host: e.host.clone(),
                port: e.port,
            })
            .collect();
        let registration = BrokerRegistration::new(&endpoints, config.broker_rack.clone(), -1, now_ms());
        check_endpoint_conflicts(&zk, broker_id, &registration).await?;
        let epoch = match zk.register_broker(broker_id, &registration).await {
            Ok(epoch) => epoch,
            Err(ZkError::NodeExists(_)) => {
                return Err(StartupError(format!(
                    "Error while creating ephemeral at {}: the node already exists and is owned by another live \
                     ZooKeeper session, so another broker is running with broker.id {broker_id}",
                    paths::broker_id(broker_id)
                )))
            }
            Err(e) => return Err(e.into()),
        };
        broker_epoch.store(epoch, Ordering::SeqCst);
        tracing::info!(
            "Registered broker {broker_id} at path {} with addresses: {}",
            paths::broker_id(broker_id),
            advertised.iter().map(|e| e.connection_string()).collect::<Vec<_>>().join(",")
        );
        write_meta_properties(&log_manager, &BrokerMetadata { broker_id, cluster_id: Some(cluster_id.clone()) }).await?;

        let controller = KafkaController::start(
            zk.clone(),
            ControllerConfig {
                broker_id,
                delete_topic_enable: config.delete_topic_enable,
                unclean_leader_election_enable: config.unclean_leader_election_enable,
                auto_leader_rebalance_enable: config.auto_leader_rebalance_enable,
                leader_imbalance_check_interval_seconds: config.leader_imbalance_check_interval_seconds.max(1) as u64,
                leader_imbalance_per_broker_percentage: config.leader_imbalance_per_broker_percentage.max(0) as u32,
                inter_broker_listener_name: config.inter_broker_listener_name(),
                controller_socket_timeout_ms: config.controller_socket_timeout_ms.max(1) as u64,
            },
            registration,
            broker_epoch.clone(),
        );

        let group_coordinator = start_group_coordinator(&config, &replica_manager);
        let apis = Arc::new(KafkaApis {
            config: config.clone(),
            zk: zk.clone(),
            admin: AdminZkClient::new(zk.clone()),
            replica_manager: replica_manager.clone(),
            metadata_cache,
            controller,
            topic_configs: topic_configs.clone(),
            cluster_id: cluster_id.clone(),
            group_coordinator,
        });
        let log_dir_failure_handler =
            LogDirFailureHandler::start(zk.clone(), replica_manager.clone(), apis.group_coordinator.clone());
        let listener: Arc<dyn TopicConfigListener> = log_manager.clone();
        let dynamic_config = DynamicConfigManager::start(
            zk.clone(),
            topic_configs,
            listener,
            broker_id,
            replica_manager.replication_quotas().clone(),
        );

        let mut socket_server = socket_server;
        socket_server.start(apis.clone());
        tracing::info!("[KafkaServer id={broker_id}] started");
        Ok(KafkaServer {
            config,
            zk,
            cluster_id,
            broker_epoch,
            socket_server,
            apis,
            log_manager,
            replica_manager,
            dynamic_config,
            log_dir_failure_handler,
            advertised,
            shut_down: AtomicBool::new(false),
        })
    }

    /// This broker's id.
    pub fn broker_id(&self) -> i32 {
        self.config.broker_id
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// Current broker epoch (czxid of the registration).
    pub fn broker_epoch(&self) -> i64 {
        self.broker_epoch.load(Ordering::SeqCst)
    }

    /// The effective configuration (with the resolved broker id).
    pub fn config(&self) -> &Arc<KafkaConfig> {
        &self.config
    }

    /// The advertised endpoints as registered.
    pub fn advertised_endpoints(&self) -> &[EndPoint] {
        &self.advertised
    }

    /// The actual port a listener is bound to.
    pub fn bound_port(&self, listener_name: &str) -> Option<i32> {
        self.socket_server.bound_port(listener_name)
    }

    /// Shared request-handling state (tests and tools).
    pub fn apis(&self) -> &Arc<KafkaApis> {
        &self.apis
    }

    /// Graceful shutdown; only the first call does anything.
    pub async fn shutdown(&mut self) {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return;
        }
        let id = self.broker_id();
        tracing::info!("[KafkaServer id={id}] shutting down");
        // Leaders move off while clients can still reach us (spec §2.13).
        controlled_shutdown::run(&self.config, &self.zk, &self.apis.metadata_cache, self.broker_epoch()).await;
        self.socket_server.shutdown(SHUTDOWN_DRAIN_TIMEOUT).await;
        self.apis.group_coordinator.shutdown();
        self.dynamic_config.shutdown();
        self.apis.controller.shutdown().await;
        self.log_dir_failure_handler.shutdown();
        self.replica_manager.shutdown();
        let lm = self.log_manager.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || lm.shutdown()).await {
            tracing::error!("log manager shutdown failed: {e}");
        }
        self.remove_ephemerals().await;
        tracing::info!("[KafkaServer id={id}] shut down completed");
    }

    /// Delete the ephemeral nodes this session owns (registration, and `/controller` if ours), so the
    /// cluster notices at once instead of after the session timeout.
    async fn remove_ephemerals(&self) {
        let session = self.zk.session_id().await;
        for path in [paths::broker_id(self.broker_id()), paths::CONTROLLER.to_string()] {
            match self.zk.get_data(&path).await {
                Ok(Some((_, stat))) if stat.ephemeral_owner == session => {
                    if let Err(e) = self.zk.delete(&path, Some(stat.version)).await {
                        tracing::warn!("Could not delete {path} during shutdown: {e}");
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("Could not read {path} during shutdown: {e}"),
            }
        }
    }
}

/// Write `meta.properties` into every live log dir (after registration, as Kafka does). A dir
/// where that fails goes offline through the failure channel (the failure handler then stops it and
/// tells the controller); if it was the last one, startup fails with Kafka's line.
async fn write_meta_properties(log_manager: &Arc<LogManager>, meta: &BrokerMetadata) -> Result<(), StartupError> {
    let (lm, meta) = (log_manager.clone(), meta.clone());
    tokio::task::spawn_blocking(move || {
        for dir in lm.live_log_dirs() {
            if let Err(e) = meta_properties::write(&dir, &meta) {
                let msg = format!("Error while writing meta.properties to {}", dir.display());
                lm.log_dir_failure_channel().maybe_add_offline_log_dir(&dir, &msg, &e);
            }
        }
        if lm.live_log_dirs().iter().all(|d| !lm.is_log_dir_online(d)) {
            let dirs = lm.log_dirs().iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
            return Err(StartupError(storage::StorageError::AllLogDirsFailed { dirs }.to_string()));
        }
        Ok(())
    })
    .await
    .map_err(|e| StartupError(format!("writing meta.properties panicked: {e}")))?
}

/// The group coordinator with its timers and the periodic offset expiry
/// (`offsets.retention.check.interval.ms`).
fn start_group_coordinator(config: &Arc<KafkaConfig>, replica_manager: &Arc<ReplicaManager>) -> Arc<GroupCoordinator> {
    let manager = Arc::new(GroupMetadataManager::new(
        ManagerConfig {
            num_partitions: config.offsets_topic_num_partitions,
            commit_timeout_ms: config.offsets_commit_timeout_ms,
            required_acks: config.offsets_commit_required_acks,
            load_buffer_size: config.offsets_load_buffer_size,
        },
        replica_manager.clone(),
    ));
    let coordinator = GroupCoordinator::new(
        GroupConfig {
            min_session_timeout_ms: config.group_min_session_timeout_ms,
            max_session_timeout_ms: config.group_max_session_timeout_ms,
            initial_rebalance_delay_ms: config.group_initial_rebalance_delay_ms,
            max_size: config.group_max_size,
        },
        manager,
    );
    coordinator.startup();
    let weak = Arc::downgrade(&coordinator);
    let interval = Duration::from_millis(config.offsets_retention_check_interval_ms.max(1) as u64);
    let retention_ms = config.offsets_retention_minutes as i64 * 60_000;
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let Some(c) = weak.upgrade() else { return };
            c.expire_offsets(retention_ms).await;
        }
    });
    coordinator
}

/// Refuse to register endpoints another live broker already advertises (Kafka checks this too).
async fn check_endpoint_conflicts(zk: &KafkaZkClient, broker_id: i32, reg: &BrokerRegistration) -> Result<(), StartupError> {
    let brokers = zk.get_all_brokers().await?;
    for (other_id, (other, _)) in brokers {
        if other_id == broker_id {
            continue;
        }
        for ep in &reg.endpoints {
            if other.endpoints.contains(ep) {
                return Err(StartupError(format!(
                    "Configured end points {ep} in advertised listeners are already registered by broker {other_id}"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(name: &str, host: &str, port: i32) -> EndPoint {
        EndPoint { host: host.into(), port, listener_name: name.into(), security_protocol: "PLAINTEXT".into() }
    }

    #[test]
    fn advertised_resolution() {
        let adv = vec![ep("PLAINTEXT", "", 0), ep("INTERNAL", "h", 9093)];
        let bound = vec![ep("PLAINTEXT", "", 41234), ep("INTERNAL", "h", 9093)];
        let r = resolve_advertised(&adv, &bound, "myhost");
        assert_eq!(r[0], ep("PLAINTEXT", "myhost", 41234));
        assert_eq!(r[1], ep("INTERNAL", "h", 9093));
        assert!(!local_hostname().is_empty());
    }
}
