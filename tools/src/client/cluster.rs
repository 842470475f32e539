//! Cluster view for the console tools: bootstrap servers, broker connections and the
//! topic/partition leader map from Metadata requests. Producer and consumer both route
//! requests to partition leaders and refresh this view when a leader moves.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use wire::kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use wire::kafka_protocol::messages::{ApiKey, MetadataRequest, MetadataResponse, TopicName};
use wire::kafka_protocol::protocol::StrBytes;
use wire::{KafkaConnection, ResponseError};

use super::error::ClientToolError;
use super::log::{log, Level};

/// Metadata versions we speak (1 is the first with "all topics" as null).
const METADATA_MIN: i16 = 1;
/// Kafka 2.8's highest Metadata version.
const METADATA_MAX: i16 = 11;

/// One partition as seen in metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Leader broker id, -1 if none.
    pub leader: i32,
    /// Leader epoch (-1 when the broker does not report it).
    pub leader_epoch: i32,
    /// Partition-level error code.
    pub error: i16,
}

/// One topic as seen in metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Topic-level error code (0, LEADER_NOT_AVAILABLE while being created, ...).
    pub error: i16,
    /// Whether the topic is internal (e.g. `__consumer_offsets`).
    pub internal: bool,
    /// Partitions by index.
    pub partitions: BTreeMap<i32, PartitionInfo>,
}

/// Connections plus the latest metadata.
pub struct Cluster {
    bootstrap: Vec<String>,
    client_id: String,
    connect_timeout: Duration,
    request_timeout: Duration,
    brokers: HashMap<i32, String>,
    topics: HashMap<String, TopicInfo>,
    conns: HashMap<i32, KafkaConnection>,
    bootstrap_conn: Option<KafkaConnection>,
    metadata_correlation: u64,
    log_prefix: String,
    /// Consecutive failed bootstrap rounds, for exponential reconnect backoff.
    bootstrap_failures: u32,
    /// No new bootstrap connection attempt before this time.
    next_bootstrap_attempt: Option<std::time::Instant>,
}

impl Cluster {
    /// Create a view over the comma-separated `bootstrap` servers (no I/O yet).
    pub fn new(bootstrap: &str, client_id: &str, request_timeout: Duration) -> Self {
        Cluster {
            bootstrap: bootstrap
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            client_id: client_id.to_string(),
            connect_timeout: Duration::from_secs(10),
            request_timeout,
            brokers: HashMap::new(),
            topics: HashMap::new(),
            conns: HashMap::new(),
            bootstrap_conn: None,
            metadata_correlation: 0,
            log_prefix: format!("Client clientId={client_id}"),
            bootstrap_failures: 0,
            next_bootstrap_attempt: None,
        }
    }

    /// The client id sent in request headers.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Ids of the brokers in the latest metadata, sorted (group tools ask each of them).
    pub fn broker_ids(&self) -> Vec<i32> {
        let mut ids: Vec<i32> = self.brokers.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Latest metadata for `topic`, if any.
    pub fn topic(&self, topic: &str) -> Option<&TopicInfo> {
        self.topics.get(topic)
    }

    /// All topics from the latest metadata.
    pub fn topics(&self) -> &HashMap<String, TopicInfo> {
        &self.topics
    }

    /// Leader of a partition, if known and available.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<i32> {
        let p = self.topics.get(topic)?.partitions.get(&partition)?;
        (p.leader >= 0 && self.brokers.contains_key(&p.leader)).then_some(p.leader)
    }

    /// Fetch metadata for `topics` (`None` = all topics) and merge it into the view.
    /// Topic errors are logged like the Java client does (`Error while fetching metadata`).
    pub async fn refresh(
        &mut self,
        topics: Option<&[String]>,
        allow_auto_create: bool,
    ) -> Result<(), ClientToolError> {
        let resp = self.fetch_metadata(topics, allow_auto_create).await?;
        self.metadata_correlation += 1;
        let brokers: HashMap<i32, String> = resp
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        // Drop connections to brokers whose address changed or vanished.
        self.conns
            .retain(|id, c| brokers.get(id).map(|a| a == c.peer()).unwrap_or(false));
        self.brokers = brokers;
        if topics.is_none() {
            self.topics.clear();
        }
        let mut errors = Vec::new();
        for t in resp.topics {
            let Some(name) = t.name.map(|n| n.0.to_string()) else {
                continue;
            };
            if t.error_code != 0 {
                errors.push(format!("{name}={}", error_label(t.error_code)));
            }
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    (
                        p.partition_index,
                        PartitionInfo {
                            leader: p.leader_id.0,
                            leader_epoch: p.leader_epoch,
                            error: p.error_code,
                        },
                    )
                })
                .collect();
            self.topics.insert(
                name,
                TopicInfo {
                    error: t.error_code,
                    internal: t.is_internal,
                    partitions,
                },
            );
        }
        if !errors.is_empty() {
            log(
                Level::Warn,
                &format!(
                    "[{}] Error while fetching metadata with correlation id {} : {{{}}}",
                    self.client_label(),
                    self.metadata_correlation,
                    errors.join(", ")
                ),
                "org.apache.kafka.clients.NetworkClient",
            );
        }
        Ok(())
    }

    fn client_label(&self) -> &str {
        &self.log_prefix
    }

    /// Set the `[...]` prefix of warnings, e.g. `Producer clientId=console-producer`.
    pub fn set_log_prefix(&mut self, prefix: String) {
        self.log_prefix = prefix;
    }

    /// The `[...]` prefix used in warnings.
    pub fn log_prefix(&self) -> &str {
        &self.log_prefix
    }

    /// Partitions of `topic` that currently have a live leader.
    pub fn available_partitions(&self, topic: &str) -> Vec<i32> {
        match self.topics.get(topic) {
            Some(t) => t
                .partitions
                .keys()
                .copied()
                .filter(|p| self.leader(topic, *p).is_some())
                .collect(),
            None => Vec::new(),
        }
    }

    async fn fetch_metadata(
        &mut self,
        topics: Option<&[String]>,
        allow_auto_create: bool,
    ) -> Result<MetadataResponse, ClientToolError> {
        let mut last_err = None;
        // Prefer a known broker, then the bootstrap list.
        let mut candidates: Vec<Option<i32>> = self.brokers.keys().copied().map(Some).collect();
        candidates.sort();
        candidates.push(None);
        for cand in candidates {
            let result = match cand {
                Some(id) => match self.connection(id).await {
                    Ok(conn) => send_metadata(conn, topics, allow_auto_create).await,
                    Err(e) => Err(e),
                },
                None => self.bootstrap_metadata(topics, allow_auto_create).await,
            };
            match result {
                Ok(r) => return Ok(r),
                Err(e) => {
                    if let Some(id) = cand {
                        self.conns.remove(&id);
                    }
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| {
            ClientToolError::Network("no bootstrap servers configured".to_string())
        }))
    }

    async fn bootstrap_metadata(
        &mut self,
        topics: Option<&[String]>,
        allow_auto_create: bool,
    ) -> Result<MetadataResponse, ClientToolError> {
        if let Some(conn) = self.bootstrap_conn.as_mut() {
            match send_metadata(conn, topics, allow_auto_create).await {
                Ok(r) => return Ok(r),
                Err(_) => self.bootstrap_conn = None,
            }
        }
        if let Some(t) = self.next_bootstrap_attempt {
            if std::time::Instant::now() < t {
                return Err(ClientToolError::Network(
                    "waiting before reconnecting to bootstrap servers".to_string(),
                ));
            }
        }
        let mut last_err = None;
        for addr in self.bootstrap.clone() {
            match self.open(&addr).await {
                Ok(mut conn) => match send_metadata(&mut conn, topics, allow_auto_create).await {
                    Ok(r) => {
                        self.bootstrap_conn = Some(conn);
                        self.bootstrap_failures = 0;
                        self.next_bootstrap_attempt = None;
                        return Ok(r);
                    }
                    Err(e) => last_err = Some(e),
                },
                Err(e) => {
                    log(
                        Level::Warn,
                        &format!(
                            "[{}] Connection to node -1 ({addr}) could not be established. Broker may not be available.",
                            self.client_label()
                        ),
                        "org.apache.kafka.clients.NetworkClient",
                    );
                    last_err = Some(e)
                }
            }
        }
        // Back off like Kafka's reconnect.backoff.ms (50 ms doubling up to 1 s).
        let backoff_ms = (50u64 << self.bootstrap_failures.min(5)).min(1000);
        self.bootstrap_failures = self.bootstrap_failures.saturating_add(1);
        self.next_bootstrap_attempt =
            Some(std::time::Instant::now() + Duration::from_millis(backoff_ms));
        Err(last_err.unwrap_or_else(|| {
            ClientToolError::Network("no bootstrap servers configured".to_string())
        }))
    }

    async fn open(&self, addr: &str) -> Result<KafkaConnection, ClientToolError> {
        let mut conn = KafkaConnection::connect(addr, &self.client_id, self.connect_timeout).await?;
        conn.set_request_timeout(self.request_timeout);
        conn.negotiate().await?;
        Ok(conn)
    }

    /// A negotiated connection to broker `id`, opened on first use.
    pub async fn connection(&mut self, id: i32) -> Result<&mut KafkaConnection, ClientToolError> {
        let usable = self.conns.get(&id).map(|c| !c.is_broken()).unwrap_or(false);
        if !usable {
            self.conns.remove(&id);
            let addr = self
                .brokers
                .get(&id)
                .cloned()
                .ok_or_else(|| ClientToolError::Network(format!("unknown broker {id}")))?;
            let conn = self.open(&addr).await?;
            self.conns.insert(id, conn);
        }
        self.conns
            .get_mut(&id)
            .ok_or_else(|| ClientToolError::Network(format!("no connection to broker {id}")))
    }

    /// Take the connection to broker `id` out of the pool (opening it if needed), so it
    /// can be used from a separate task; give it back with [`Self::put_connection`].
    pub async fn take_connection(&mut self, id: i32) -> Result<KafkaConnection, ClientToolError> {
        self.connection(id).await?;
        self.conns
            .remove(&id)
            .ok_or_else(|| ClientToolError::Network(format!("no connection to broker {id}")))
    }

    /// Return a connection taken with [`Self::take_connection`] (dropped if broken).
    pub fn put_connection(&mut self, id: i32, conn: KafkaConnection) {
        if !conn.is_broken() {
            self.conns.insert(id, conn);
        }
    }

    /// Forget the connection to `id` (after an I/O error).
    pub fn disconnect(&mut self, id: i32) {
        self.conns.remove(&id);
    }
}

async fn send_metadata(
    conn: &mut KafkaConnection,
    topics: Option<&[String]>,
    allow_auto_create: bool,
) -> Result<MetadataResponse, ClientToolError> {
    let version = conn.require_version(ApiKey::Metadata as i16, METADATA_MIN, METADATA_MAX)?;
    let mut req = MetadataRequest::default();
    req.topics = topics.map(|ts| {
        ts.iter()
            .map(|t| {
                MetadataRequestTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
            })
            .collect()
    });
    // The flag only exists from v4; older versions always auto-create.
    if version >= 4 {
        req.allow_auto_topic_creation = allow_auto_create;
    }
    Ok(conn.send(&req, version).await?)
}

fn error_label(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        Some(e) => super::error::error_name(e),
        None => "NONE".to_string(),
    }
}
