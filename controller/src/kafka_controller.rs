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
        let core = ControllerCore::new(config, backend, Box::new(channel), registration, broker_epoch, state.clone());
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
