//! `KafkaController`: the handle the broker holds, and the single event-loop task behind it.
//!
//! `start` spawns one task that owns all controller state and processes [`ControllerEvent`]s one at
//! a time, plus a small task turning ZooKeeper session events into `Expire` /
//! `RegisterBrokerAndReelect`. Watches, broker responses and the handle only enqueue events.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;
use zk_schema::model::BrokerRegistration;
use zk_schema::{KafkaZkClient, SessionEvent};

use crate::channel_manager::ControllerChannelManager;
use crate::config::ControllerConfig;
use crate::context::{ReplicaAssignment, TopicPartition};
use crate::requests_api::{
    codes, AlterIsrPartition, ReassignmentTarget, AlterIsrRequestData, ApiError, ControlledShutdownError, ElectionTrigger, ElectionType,
};
use wire::kafka_protocol::messages::{AlterPartitionRequest, AlterPartitionResponse};
use crate::controller_core::{ControllerCore, SharedControllerState};
use crate::event::ControllerEvent;
use crate::zk_backend::{ControllerZk, ZkBackend};

struct Handle {
    broker_id: i32,
    events: UnboundedSender<ControllerEvent>,
    state: Arc<SharedControllerState>,
    /// Set by the session listener when the session expired and cleared when `Expire` is processed:
    /// events queued meanwhile are stale and dropped (Kafka clears the queue before `Expire`).
    expiry_pending: Arc<AtomicBool>,
    tasks: tokio::sync::Mutex<Option<(JoinHandle<()>, JoinHandle<()>)>>,
}

/// Handle to this broker's controller. Cheap to clone; every clone talks to the same event loop.
#[derive(Clone)]
pub struct KafkaController {
    inner: Arc<Handle>,
}

impl KafkaController {
    /// Start the event loop and enqueue `Startup` (election). Must be called inside a tokio runtime.
    /// `registration` is re-registered under `/brokers/ids/<id>` after a session expiry, and the new
    /// broker epoch is published through `broker_epoch`.
    pub fn start(
        zk: KafkaZkClient,
        config: ControllerConfig,
        registration: BrokerRegistration,
        broker_epoch: Arc<AtomicI64>,
    ) -> KafkaController {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(SharedControllerState::default());
        let expiry_pending = Arc::new(AtomicBool::new(false));
        let backend = ZkBackend::new(zk.clone(), tx.clone());
        let channel = ControllerChannelManager::new(
            config.broker_id,
            &config.inter_broker_listener_name,
            Duration::from_millis(config.controller_socket_timeout_ms),
            tx.clone(),
        );
        let broker_id = config.broker_id;
        let mut core = ControllerCore::new(config, backend, Box::new(channel), registration, broker_epoch, state.clone());
        core.set_event_sender(tx.clone());
        let session_task = tokio::spawn(session_listener(zk.subscribe(), tx.clone(), expiry_pending.clone()));
        let _ = tx.send(ControllerEvent::Startup);
        let loop_task = tokio::spawn(run_event_loop(core, rx, expiry_pending.clone()));
        KafkaController {
            inner: Arc::new(Handle {
                broker_id,
                events: tx,
                state,
                expiry_pending,
                tasks: tokio::sync::Mutex::new(Some((loop_task, session_task))),
            }),
        }
    }

    /// Whether this broker is the active controller.
    pub fn is_active(&self) -> bool {
        self.active_controller_id() == self.inner.broker_id
    }

    /// The broker id `/controller` named when last read, -1 if none.
    pub fn active_controller_id(&self) -> i32 {
        self.inner.state.active_controller_id.load(Ordering::SeqCst)
    }

    /// The epoch this broker last won as controller (0 before any win).
    pub fn epoch(&self) -> i32 {
        self.inner.state.epoch.load(Ordering::SeqCst)
    }

    /// Controlled shutdown of `broker_id` (spec §2.13): moves its leaderships away and takes it out
    /// of every ISR; returns the partitions it still leads (the broker retries while non-empty).
    pub async fn controlled_shutdown(
        &self,
        broker_id: i32,
        broker_epoch: i64,
    ) -> Result<Vec<(String, i32)>, ControlledShutdownError> {
        let (reply, rx) = oneshot::channel();
        self.send(ControllerEvent::ControlledShutdown { broker_id, broker_epoch, reply });
        match rx.await {
            Ok(r) => r.map(|v| v.into_iter().map(|tp| (tp.topic, tp.partition)).collect()),
            Err(_) => Err(ControlledShutdownError::NotController),
        }
    }

    /// AlterIsr (AlterPartition v0) from a partition leader.
    pub async fn alter_isr(&self, req: AlterPartitionRequest) -> AlterPartitionResponse {
        let request = AlterIsrRequestData {
            broker_id: req.broker_id.0,
            broker_epoch: req.broker_epoch,
            partitions: req
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions.iter().map(move |p| AlterIsrPartition {
                        tp: TopicPartition::new(t.topic_name.0.as_str(), p.partition_index),
                        leader_epoch: p.leader_epoch,
                        new_isr: p.new_isr.iter().map(|b| b.0).collect(),
                        partition_epoch: p.partition_epoch,
                    })
                })
                .collect(),
        };
        let (reply, rx) = oneshot::channel();
        self.send(ControllerEvent::AlterIsrReceived { request, reply });
        rx.await.unwrap_or_else(|_| AlterPartitionResponse::default().with_error_code(codes::NOT_CONTROLLER))
    }

    /// ElectLeaders: `None` = every partition (then partitions needing no election are left out).
    pub async fn elect_leaders(
        &self,
        election_type: ElectionType,
        partitions: Option<Vec<(String, i32)>>,
    ) -> Vec<((String, i32), Result<(), (i16, Option<String>)>)> {
        let partitions: Option<Vec<TopicPartition>> =
            partitions.map(|v| v.into_iter().map(|(t, p)| TopicPartition::new(t, p)).collect());
        let asked = partitions.clone().unwrap_or_default();
        let (reply, rx) = oneshot::channel();
        self.send(ControllerEvent::ReplicaLeaderElection {
            partitions,
            election_type,
            trigger: ElectionTrigger::AdminClient,
            reply: Some(reply),
        });
        let results = rx.await.unwrap_or_else(|_| {
            asked.into_iter().map(|tp| (tp, Err(ApiError::new(codes::NOT_CONTROLLER)))).collect()
        });
        results.into_iter().map(|(tp, r)| ((tp.topic, tp.partition), r.map_err(|e| (e.code, e.message)))).collect()
    }

    /// AlterPartitionReassignments: target replicas per partition, `None` cancels. `Err` is a
    /// request-level error (NOT_CONTROLLER).
    pub async fn alter_partition_reassignments(
        &self,
        reassignments: Vec<ReassignmentTarget>,
    ) -> Result<Vec<((String, i32), Result<(), ApiError>)>, ApiError> {
        let reassignments = reassignments.into_iter().map(|((t, p), r)| (TopicPartition::new(t, p), r)).collect();
        let (reply, rx) = oneshot::channel();
        self.send(ControllerEvent::ApiPartitionReassignment { reassignments, reply });
        let results = rx.await.unwrap_or_else(|_| Err(ApiError::new(codes::NOT_CONTROLLER)))?;
        Ok(results.into_iter().map(|(tp, r)| ((tp.topic, tp.partition), r)).collect())
    }

    /// ListPartitionReassignments (`None` = all ongoing): RS/AR/RR per partition being reassigned.
    pub async fn list_partition_reassignments(
        &self,
        partitions: Option<Vec<(String, i32)>>,
    ) -> Result<Vec<((String, i32), ReplicaAssignment)>, ApiError> {
        let partitions = partitions.map(|v| v.into_iter().map(|(t, p)| TopicPartition::new(t, p)).collect());
        let (reply, rx) = oneshot::channel();
        self.send(ControllerEvent::ListPartitionReassignments { partitions, reply });
        let results = rx.await.unwrap_or_else(|_| Err(ApiError::new(codes::NOT_CONTROLLER)))?;
        Ok(results.into_iter().map(|(tp, a)| ((tp.topic, tp.partition), a)).collect())
    }

    fn send(&self, event: ControllerEvent) {
        // A closed loop drops the event and with it the reply sender: callers see NOT_CONTROLLER.
        let _ = self.inner.events.send(event);
    }

    /// Resign (releasing `/controller`), stop the channel manager and the loop. Waits for the loop to
    /// finish; later calls return at once.
    pub async fn shutdown(&self) {
        let Some((loop_task, session_task)) = self.inner.tasks.lock().await.take() else { return };
        session_task.abort();
        self.inner.expiry_pending.store(false, Ordering::SeqCst);
        let (done_tx, done_rx) = oneshot::channel();
        if self.inner.events.send(ControllerEvent::Shutdown(Some(done_tx))).is_ok() {
            let _ = done_rx.await;
        }
        let _ = loop_task.await;
    }
}

/// Turn session expiry / re-establishment into controller events.
async fn session_listener(
    mut sessions: broadcast::Receiver<SessionEvent>,
    events: UnboundedSender<ControllerEvent>,
    expiry_pending: Arc<AtomicBool>,
) {
    loop {
        let event = match sessions.recv().await {
            Ok(SessionEvent::Expired) => {
                expiry_pending.store(true, Ordering::SeqCst);
                ControllerEvent::Expire
            }
            Ok(SessionEvent::Reestablished) => ControllerEvent::RegisterBrokerAndReelect,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                // Missed notifications: the safe reaction is a full resign + re-register + re-elect.
                tracing::warn!("Missed {n} ZooKeeper session events; re-registering and re-electing");
                expiry_pending.store(true, Ordering::SeqCst);
                if events.send(ControllerEvent::Expire).is_err() {
                    return;
                }
                ControllerEvent::RegisterBrokerAndReelect
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

/// The controller event thread: one event at a time until `Shutdown`.
async fn run_event_loop<Z: ControllerZk>(
    mut core: ControllerCore<Z>,
    mut rx: UnboundedReceiver<ControllerEvent>,
    expiry_pending: Arc<AtomicBool>,
) {
    let mut pending: VecDeque<ControllerEvent> = VecDeque::new();
    loop {
        let event = match pending.pop_front() {
            Some(e) => e,
            None => match rx.recv().await {
                Some(e) => e,
                None => break,
            },
        };
        if expiry_pending.load(Ordering::SeqCst) && !event.survives_expiry_purge() {
            tracing::debug!("Dropping {} queued before the session expiry", event.name());
            continue;
        }
        let stop = matches!(event, ControllerEvent::Shutdown(_));
        if matches!(event, ControllerEvent::Expire) {
            expiry_pending.store(false, Ordering::SeqCst);
            // Anything queued so far predates the new session, except the events about it.
            while let Ok(e) = rx.try_recv() {
                if e.survives_expiry_purge() {
                    pending.push_back(e);
                }
            }
        }
        tracing::trace!("Processing controller event {}", event.name());
        core.process(event).await;
        if stop {
            break;
        }
    }
    tracing::debug!("Controller event loop finished");
}
