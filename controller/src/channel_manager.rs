//! `ControllerChannelManager` (spec §2.14): one connection, queue and sender task per live broker.
//!
//! Requests to a broker go out one at a time in queue order (so a broker sees LeaderAndIsr before
//! the UpdateMetadata and StopReplica of the same batch). A failed send is retried on a fresh
//! connection after 100 ms until it succeeds or the broker is removed. Responses come back to the
//! controller loop as events.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use wire::kafka_protocol::messages::{ApiKey, LeaderAndIsrRequest, StopReplicaRequest, UpdateMetadataRequest};
use wire::{ClientError, KafkaConnection};

use crate::context::LiveBroker;
use crate::event::ControllerEvent;
use crate::request_batch::ControllerRequest;
use crate::requests::{self, LEADER_AND_ISR_MAX_VERSION, STOP_REPLICA_MAX_VERSION, UPDATE_METADATA_MAX_VERSION};

/// Backoff between connection attempts and between retries of a failed request.
pub const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// Where the controller's requests go. Production: [`ControllerChannelManager`]; tests record them.
pub trait BrokerRequestSink: Send + Sync {
    /// Start a connection to a newly live broker (no-op if already known).
    fn add_broker(&mut self, broker: &LiveBroker);
    /// Stop the connection to a broker that went away, dropping its queued requests.
    fn remove_broker(&mut self, id: i32);
    /// Queue a request for a broker (dropped if the broker is unknown).
    fn send(&mut self, broker: i32, request: ControllerRequest);
    /// Stop every connection (resignation).
    fn shutdown(&mut self);
}

struct BrokerChannel {
    queue: UnboundedSender<ControllerRequest>,
    task: JoinHandle<()>,
}

/// Per-broker request senders of the active controller.
pub struct ControllerChannelManager {
    controller_id: i32,
    listener: String,
    timeout: Duration,
    events: UnboundedSender<ControllerEvent>,
    brokers: HashMap<i32, BrokerChannel>,
}

impl ControllerChannelManager {
    /// A manager for controller `controller_id` connecting on `listener`; responses go to `events`.
    pub fn new(controller_id: i32, listener: &str, timeout: Duration, events: UnboundedSender<ControllerEvent>) -> Self {
        ControllerChannelManager { controller_id, listener: listener.to_string(), timeout, events, brokers: HashMap::new() }
    }
}

impl BrokerRequestSink for ControllerChannelManager {
    fn add_broker(&mut self, broker: &LiveBroker) {
        if self.brokers.contains_key(&broker.id) {
            return;
        }
        let (queue, rx) = mpsc::unbounded_channel();
        let sender = RequestSender {
            controller_id: self.controller_id,
            broker_id: broker.id,
            address: broker.endpoint(&self.listener).map(|e| format!("{}:{}", e.host, e.port)),
            listener: self.listener.clone(),
            timeout: self.timeout,
            events: self.events.clone(),
        };
        let task = tokio::spawn(sender.run(rx));
        self.brokers.insert(broker.id, BrokerChannel { queue, task });
    }

    fn remove_broker(&mut self, id: i32) {
        if let Some(ch) = self.brokers.remove(&id) {
            ch.task.abort();
        }
    }

    fn send(&mut self, broker: i32, request: ControllerRequest) {
        match self.brokers.get(&broker) {
            Some(ch) => {
                if ch.queue.send(request).is_err() {
                    tracing::warn!("request queue of broker {broker} is closed; dropping request");
                }
            }
            None => tracing::warn!("not sending {} to broker {broker}: no channel to it", request.name()),
        }
    }

    fn shutdown(&mut self) {
        for (_, ch) in self.brokers.drain() {
            ch.task.abort();
        }
    }
}

impl Drop for ControllerChannelManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Why one send attempt failed.
enum SendFailure {
    /// Connection-level problem: reconnect and retry.
    Retry(ClientError),
    /// The broker cannot take this request at all: drop it.
    Fatal(String),
}

/// The task body sending one broker's requests (Kafka's `RequestSendThread`).
struct RequestSender {
    controller_id: i32,
    broker_id: i32,
    address: Option<String>,
    listener: String,
    timeout: Duration,
    events: UnboundedSender<ControllerEvent>,
}

impl RequestSender {
    async fn run(self, mut rx: UnboundedReceiver<ControllerRequest>) {
        let Some(address) = self.address.clone() else {
            tracing::error!(
                "broker {} has no endpoint for listener {}; controller requests to it are dropped",
                self.broker_id,
                self.listener
            );
            while rx.recv().await.is_some() {}
            return;
        };
        let client_id = format!("controller-{}-to-broker-{}", self.controller_id, self.broker_id);
        let mut conn: Option<KafkaConnection> = None;
        let mut failures = 0u64;
        while let Some(request) = rx.recv().await {
            loop {
                let c = match conn.as_mut().filter(|c| !c.is_broken()) {
                    Some(c) => c,
                    None => match self.connect(&address, &client_id).await {
                        Ok(c) => conn.insert(c),
                        Err(e) => {
                            self.log_failure(&mut failures, &format!("cannot connect to {address}: {e}"));
                            tokio::time::sleep(RETRY_BACKOFF).await;
                            continue;
                        }
                    },
                };
                match self.send_one(c, &request).await {
                    Ok(event) => {
                        failures = 0;
                        if let Some(event) = event {
                            let _ = self.events.send(event);
                        }
                        break;
                    }
                    Err(SendFailure::Fatal(reason)) => {
                        tracing::error!("dropping {} to broker {}: {reason}", request.name(), self.broker_id);
                        break;
                    }
                    Err(SendFailure::Retry(e)) => {
                        self.log_failure(&mut failures, &format!("{} failed: {e}", request.name()));
                        conn = None;
                        tokio::time::sleep(RETRY_BACKOFF).await;
                    }
                }
            }
        }
    }

    fn log_failure(&self, failures: &mut u64, what: &str) {
        *failures += 1;
        // The first failure and then one in a hundred (every ~10 s): the broker may be down a while.
        if *failures == 1 || failures.is_multiple_of(100) {
            tracing::warn!("controller {} to broker {}: {what} (attempt {failures}); retrying", self.controller_id, self.broker_id);
        } else {
            tracing::debug!("controller {} to broker {}: {what}", self.controller_id, self.broker_id);
        }
    }

    async fn connect(&self, address: &str, client_id: &str) -> Result<KafkaConnection, ClientError> {
        let mut c = KafkaConnection::connect(address, client_id, self.timeout).await?;
        c.set_request_timeout(self.timeout);
        c.negotiate().await?;
        tracing::info!("controller {} connected to broker {} at {address}", self.controller_id, self.broker_id);
        Ok(c)
    }

    fn version(c: &KafkaConnection, key: ApiKey, max: i16) -> Result<i16, SendFailure> {
        c.version_for(key as i16, max).ok_or_else(|| SendFailure::Fatal(format!("broker does not support {key:?}")))
    }

    async fn send_one(&self, c: &mut KafkaConnection, request: &ControllerRequest) -> Result<Option<ControllerEvent>, SendFailure> {
        let broker_id = self.broker_id;
        match request {
            ControllerRequest::LeaderAndIsr(req) => {
                let v = Self::version(c, ApiKey::LeaderAndIsr, LEADER_AND_ISR_MAX_VERSION)?;
                let wire_req: LeaderAndIsrRequest = requests::leader_and_isr_for_version(req, v);
                let resp = c.send(&wire_req, v).await.map_err(SendFailure::Retry)?;
                Ok(Some(requests::leader_and_isr_response_event(broker_id, req, &resp)))
            }
            ControllerRequest::UpdateMetadata(req) => {
                let v = Self::version(c, ApiKey::UpdateMetadata, UPDATE_METADATA_MAX_VERSION)?;
                let wire_req: UpdateMetadataRequest = requests::update_metadata_for_version(req, v);
                let resp = c.send(&wire_req, v).await.map_err(SendFailure::Retry)?;
                Ok(Some(ControllerEvent::UpdateMetadataResponseReceived { broker_id, error_code: resp.error_code }))
            }
            ControllerRequest::StopReplica(req) => {
                let v = Self::version(c, ApiKey::StopReplica, STOP_REPLICA_MAX_VERSION)?;
                let mut responses = Vec::new();
                for wire_req in requests::stop_replica_for_version(req, v) {
                    let wire_req: StopReplicaRequest = wire_req;
                    responses.push(c.send(&wire_req, v).await.map_err(SendFailure::Retry)?);
                }
                Ok(requests::stop_replica_response_event(broker_id, req, &responses))
            }
        }
    }
}
