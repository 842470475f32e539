//! `ControllerCore`: the body of Kafka's `KafkaController` — election, failover, resignation and the
//! dispatch of every event — run by the single event-loop task of [`crate::KafkaController`].
//!
//! It is generic over [`ControllerZk`] and [`BrokerRequestSink`] so the whole controller (not just
//! the pure decisions) runs in unit tests against an in-memory ZooKeeper and a recording sink.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};
use std::sync::Arc;

use zk_schema::client::ZkOp;
use zk_schema::model::{BrokerRegistration, FeatureZNode};
use zk_schema::{paths, ZkError};

use crate::channel_manager::BrokerRequestSink;
use crate::config::ControllerConfig;
use crate::context::{ControllerContext, LiveBroker, TopicPartition};
use crate::error::{ControllerError, Result};
use crate::event::ControllerEvent;
use crate::partition_state_machine::PartitionStateMachine;
use crate::request_batch::ControllerBrokerRequestBatch;
use crate::zk_backend::{ControllerZk, WatchTarget};
use crate::zk_executor;

/// What the public handle can see of the loop's state, published after every change.
#[derive(Debug)]
pub struct SharedControllerState {
    /// Broker id named by `/controller` as last read (-1 = none).
    pub active_controller_id: AtomicI32,
    /// Epoch of this controller while active (last won epoch otherwise).
    pub epoch: AtomicI32,
}

impl Default for SharedControllerState {
    fn default() -> Self {
        SharedControllerState { active_controller_id: AtomicI32::new(-1), epoch: AtomicI32::new(0) }
    }
}

/// The controller's state and logic, owned by the event loop.
pub struct ControllerCore<Z> {
    pub(crate) config: ControllerConfig,
    pub(crate) ctx: ControllerContext,
    pub(crate) zk: Z,
    pub(crate) channel: Box<dyn BrokerRequestSink>,
    pub(crate) batch: ControllerBrokerRequestBatch,
    active_controller_id: i32,
    shared: Arc<SharedControllerState>,
    registration: BrokerRegistration,
    broker_epoch: Arc<AtomicI64>,
    /// Queue of the event loop, for events the controller schedules itself (auto rebalance,
    /// re-checks); `None` in unit tests, where such events are recorded in `self_events`.
    events: Option<tokio::sync::mpsc::UnboundedSender<ControllerEvent>>,
    /// Events the controller queued for itself when no loop queue is attached (tests).
    pub(crate) self_events: Vec<&'static str>,
    rebalance_task: Option<tokio::task::JoinHandle<()>>,
}

impl<Z: ControllerZk> ControllerCore<Z> {
    /// A core for this broker; inactive until an election is won.
    pub fn new(
        config: ControllerConfig,
        zk: Z,
        channel: Box<dyn BrokerRequestSink>,
        registration: BrokerRegistration,
        broker_epoch: Arc<AtomicI64>,
        shared: Arc<SharedControllerState>,
    ) -> Self {
        let batch = ControllerBrokerRequestBatch::new(config.broker_id, &config.inter_broker_listener_name);
        ControllerCore {
            config,
            ctx: ControllerContext::default(),
            zk,
            channel,
            batch,
            active_controller_id: -1,
            shared,
            registration,
            broker_epoch,
            events: None,
            self_events: Vec::new(),
            rebalance_task: None,
        }
    }

    /// Attach the event loop's queue (for self-scheduled events).
    pub fn set_event_sender(&mut self, events: tokio::sync::mpsc::UnboundedSender<ControllerEvent>) {
        self.events = Some(events);
    }

    /// Queue an event for the loop (after the current one).
    pub(crate) fn enqueue(&mut self, event: ControllerEvent) {
        match &self.events {
            Some(tx) => {
                let _ = tx.send(event);
            }
            None => self.self_events.push(event.name()),
        }
    }

    /// Run the auto leader rebalance check after `delay` (replacing any scheduled one).
    pub(crate) fn schedule_auto_leader_rebalance(&mut self, delay: std::time::Duration) {
        if let Some(t) = self.rebalance_task.take() {
            t.abort();
        }
        match &self.events {
            Some(tx) => {
                let tx = tx.clone();
                self.rebalance_task = Some(tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send(ControllerEvent::AutoPreferredReplicaLeaderElection);
                }));
            }
            None => self.self_events.push("ScheduledAutoPreferredReplicaLeaderElection"),
        }
    }

    /// Whether this broker is the active controller.
    pub fn is_active(&self) -> bool {
        self.active_controller_id == self.config.broker_id
    }

    /// The controller context (read-only, for tests and diagnostics).
    pub fn context(&self) -> &ControllerContext {
        &self.ctx
    }

    fn set_active_controller_id(&mut self, id: i32) {
        self.active_controller_id = id;
        self.shared.active_controller_id.store(id, Ordering::SeqCst);
    }

    /// Process one event. `ControllerMoved` from any handler leads to `maybe_resign`; other errors
    /// are logged (the controller keeps running, as Kafka's event thread does).
    pub async fn process(&mut self, event: ControllerEvent) {
        let name = event.name();
        let result = match event {
            ControllerEvent::Startup => self.process_startup().await,
            ControllerEvent::ControllerChange => self.maybe_resign().await,
            ControllerEvent::Reelect => self.process_reelect().await,
            ControllerEvent::Expire => {
                self.process_expire();
                Ok(())
            }
            ControllerEvent::RegisterBrokerAndReelect => self.process_register_broker_and_reelect().await,
            ControllerEvent::BrokerChange => self.process_broker_change().await,
            ControllerEvent::BrokerModifications(id) => self.process_broker_modifications(id).await,
            ControllerEvent::TopicChange => self.process_topic_change().await,
            ControllerEvent::PartitionModifications(topic) => self.process_partition_modifications(&topic).await,
            ControllerEvent::TopicDeletion => self.process_topic_deletion().await,
            ControllerEvent::LeaderAndIsrResponseReceived { broker_id, error_code, partition_errors } => {
                self.process_leader_and_isr_response(broker_id, error_code, partition_errors).await
            }
            ControllerEvent::UpdateMetadataResponseReceived { broker_id, error_code } => {
                self.process_update_metadata_response(broker_id, error_code);
                Ok(())
            }
            ControllerEvent::TopicDeletionStopReplicaResponseReceived { broker_id, error_code, partition_errors } => {
                self.process_topic_deletion_stop_replica_response(broker_id, error_code, partition_errors).await
            }
            ControllerEvent::ControlledShutdown { broker_id, broker_epoch, reply } => {
                let r = self.process_controlled_shutdown(broker_id, broker_epoch).await;
                let _ = reply.send(r);
                Ok(())
            }
            ControllerEvent::AlterIsrReceived { request, reply } => {
                let (response, changed) = self.process_alter_isr(&request).await;
                let _ = reply.send(response);
                self.maybe_complete_reassignments(&changed).await
            }
            ControllerEvent::IsrChangeNotification => self.process_isr_change_notification().await,
            ControllerEvent::LogDirEventNotification => self.process_log_dir_event_notification().await,
            ControllerEvent::ReplicaLeaderElection { partitions, election_type, trigger, reply } => {
                match self.process_replica_leader_election(partitions.clone(), election_type, trigger).await {
                    Ok(results) => {
                        if let Some(reply) = reply {
                            let _ = reply.send(results);
                        }
                        Ok(())
                    }
                    Err(e) => {
                        if let Some(reply) = reply {
                            let code = match e {
                                ControllerError::ControllerMoved => crate::requests_api::codes::NOT_CONTROLLER,
                                _ => crate::requests_api::codes::UNKNOWN_SERVER_ERROR,
                            };
                            let err = crate::requests_api::ApiError::with_message(code, e.to_string());
                            let _ = reply.send(partitions.unwrap_or_default().into_iter().map(|tp| (tp, Err(err.clone()))).collect());
                        }
                        Err(e)
                    }
                }
            }
            ControllerEvent::AutoPreferredReplicaLeaderElection => self.process_auto_preferred_replica_leader_election().await,
            ControllerEvent::ZkPartitionReassignment => self.process_zk_partition_reassignment().await.map(|_| ()),
            ControllerEvent::ApiPartitionReassignment { reassignments, reply } => {
                match self.process_api_partition_reassignment(reassignments).await {
                    Ok(r) => {
                        let _ = reply.send(r);
                        Ok(())
                    }
                    Err(e) => {
                        let code = match e {
                            ControllerError::ControllerMoved => crate::requests_api::codes::NOT_CONTROLLER,
                            _ => crate::requests_api::codes::UNKNOWN_SERVER_ERROR,
                        };
                        let _ = reply.send(Err(crate::requests_api::ApiError::with_message(code, e.to_string())));
                        Err(e)
                    }
                }
            }
            ControllerEvent::ListPartitionReassignments { partitions, reply } => {
                let _ = reply.send(self.process_list_partition_reassignments(partitions));
                Ok(())
            }
            ControllerEvent::Shutdown(done) => {
                self.shutdown().await;
                if let Some(done) = done {
                    let _ = done.send(());
                }
                Ok(())
            }
        };
        match result {
            Ok(()) => {}
            Err(ControllerError::ControllerMoved) => {
                tracing::info!("Controller moved to another broker when processing {name}");
                if let Err(e) = self.maybe_resign().await {
                    tracing::error!("Error re-reading /controller after {name}: {e}");
                }
            }
            Err(e) => tracing::error!("Error processing event {name}: {e}"),
        }
    }

    async fn process_startup(&mut self) -> Result<()> {
        self.zk.watch(WatchTarget::Controller).await?;
        self.elect().await
    }

    async fn process_reelect(&mut self) -> Result<()> {
        self.maybe_resign().await?;
        self.elect().await
    }

    fn process_expire(&mut self) {
        let was_active = self.is_active();
        self.set_active_controller_id(-1);
        if was_active {
            self.on_controller_resignation();
        }
    }

    async fn process_register_broker_and_reelect(&mut self) -> Result<()> {
        let epoch = self.zk.register_broker(self.config.broker_id, &self.registration).await?;
        self.broker_epoch.store(epoch, Ordering::SeqCst);
        tracing::info!("Re-registered broker {} with broker epoch {epoch}", self.config.broker_id);
        self.process_reelect().await
    }

    /// Re-arm the `/controller` watch, re-read it, and resign if we were active and no longer are.
    pub async fn maybe_resign(&mut self) -> Result<()> {
        let was_active = self.is_active();
        self.zk.watch(WatchTarget::Controller).await?;
        let id = self.zk.get_controller_id().await?.unwrap_or(-1);
        self.set_active_controller_id(id);
        if was_active && !self.is_active() {
            self.on_controller_resignation();
        }
        Ok(())
    }

    /// Try to become the controller (spec §2.2).
    async fn elect(&mut self) -> Result<()> {
        let current = self.zk.get_controller_id().await?.unwrap_or(-1);
        self.set_active_controller_id(current);
        if current != -1 {
            tracing::debug!("Broker {current} has been elected as the controller, so stopping the election process.");
            return Ok(());
        }
        let outcome = async {
            let epoch = self.zk.register_controller_and_increment_epoch(self.config.broker_id).await?;
            self.ctx.epoch = epoch.epoch;
            self.ctx.epoch_zk_version = epoch.zk_version;
            self.shared.epoch.store(epoch.epoch, Ordering::SeqCst);
            self.set_active_controller_id(self.config.broker_id);
            tracing::info!(
                "{} successfully elected as the controller. Epoch incremented to {} and epoch zk version is now {}",
                self.config.broker_id,
                epoch.epoch,
                epoch.zk_version
            );
            self.on_controller_failover().await
        }
        .await;
        match outcome {
            Ok(()) => Ok(()),
            Err(ControllerError::ControllerMoved) => {
                self.maybe_resign().await?;
                if self.active_controller_id != -1 {
                    tracing::debug!("Broker {} was elected as controller instead of broker {}", self.active_controller_id, self.config.broker_id);
                } else {
                    tracing::warn!("A controller has been elected but just resigned, this will result in another round of election");
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!("Error while electing or becoming controller on broker {}: {e}", self.config.broker_id);
                self.trigger_controller_move().await
            }
        }
    }

    /// Give up after an unexpected failure: resign and delete `/controller` (fenced) so that a new
    /// election runs.
    async fn trigger_controller_move(&mut self) -> Result<()> {
        let id = self.zk.get_controller_id().await?.unwrap_or(-1);
        self.set_active_controller_id(id);
        if !self.is_active() {
            tracing::warn!("Controller has already moved when trying to trigger controller movement");
            return Ok(());
        }
        let expected = self.ctx.epoch_zk_version;
        self.set_active_controller_id(-1);
        self.on_controller_resignation();
        match self.zk.fenced_multi(expected, &[ZkOp::Delete { path: paths::CONTROLLER.to_string(), version: None }]).await {
            Ok(_) | Err(ZkError::NoNode(_)) => Ok(()),
            Err(ZkError::ControllerMoved) => {
                tracing::warn!("Controller has already moved when trying to delete /controller");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Spec §2.3, the steps that apply to this controller.
    async fn on_controller_failover(&mut self) -> Result<()> {
        self.setup_feature_versioning().await?;
        let start = std::time::Instant::now();
        for target in [
            WatchTarget::BrokerIds,
            WatchTarget::Topics,
            WatchTarget::TopicDeletions,
            WatchTarget::IsrChangeNotifications,
            WatchTarget::LogDirEventNotifications,
            WatchTarget::ReassignPartitions,
            WatchTarget::PreferredReplicaElection,
        ] {
            self.zk.watch(target).await?;
        }
        for parent in [paths::LOG_DIR_EVENT_NOTIFICATION, paths::ISR_CHANGE_NOTIFICATION] {
            let children: Vec<String> =
                self.zk.get_children(parent).await?.into_iter().map(|c| format!("{parent}/{c}")).collect();
            zk_executor::delete_fenced(&self.zk, self.ctx.epoch_zk_version, &children).await?;
        }
        self.initialize_controller_context().await?;
        tracing::info!("Failover step: controller context initialized in {} ms", start.elapsed().as_millis());
        let (to_delete, ineligible) = self.fetch_topic_deletions_in_progress().await?;
        self.topic_deletion_manager_init(to_delete, ineligible).await?;
        let all: Vec<i32> = self.ctx.live_or_shutting_down_broker_ids().into_iter().collect();
        self.send_update_metadata_request(&all, &[]);
        let step = std::time::Instant::now();
        self.replica_state_machine_startup().await?;
        tracing::info!("Failover step: replica state machine started in {} ms", step.elapsed().as_millis());
        let step = std::time::Instant::now();
        PartitionStateMachine::initialize_partition_states(&mut self.ctx);
        self.trigger_online_partition_state_change().await?;
        tracing::info!("Failover step: partition state machine started in {} ms", step.elapsed().as_millis());
        tracing::info!("Ready to serve as the new controller with epoch {}", self.ctx.epoch);
        self.initialize_partition_reassignments().await?;
        self.resume_deletions().await?;
        self.process_pending_preferred_replica_elections().await?;
        if self.config.auto_leader_rebalance_enable {
            self.schedule_auto_leader_rebalance(crate::leader_election::AUTO_REBALANCE_FIRST_DELAY);
        }
        tracing::info!(
            "Controller {} completed failover for epoch {} in {} ms ({} partitions)",
            self.config.broker_id,
            self.ctx.epoch,
            start.elapsed().as_millis(),
            self.ctx.all_partitions().len()
        );
        Ok(())
    }

    /// Create `/feature` (enabled, no finalized features) if missing.
    async fn setup_feature_versioning(&mut self) -> Result<()> {
        let existing = self.zk.get_data_many(&[paths::FEATURE.to_string()]).await?;
        if existing.first().is_some_and(Option::is_some) {
            return Ok(());
        }
        let op = ZkOp::Create { path: paths::FEATURE.to_string(), data: FeatureZNode::enabled_empty().encode() };
        match self.zk.fenced_multi(self.ctx.epoch_zk_version, &[op]).await {
            Ok(_) | Err(ZkError::NodeExists(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Read every registered broker (malformed registrations are skipped with an error).
    pub(crate) async fn read_live_brokers(&self) -> Result<Vec<LiveBroker>> {
        let ids: Vec<i32> =
            self.zk.get_children(paths::BROKER_IDS).await?.iter().filter_map(|c| c.parse().ok()).collect();
        let node_paths: Vec<String> = ids.iter().map(|id| paths::broker_id(*id)).collect();
        let mut out = Vec::new();
        for ((id, path), d) in ids.iter().zip(&node_paths).zip(self.zk.get_data_many(&node_paths).await?) {
            let Some((bytes, stat)) = d else { continue };
            let parsed = BrokerRegistration::decode(path, &bytes).and_then(|r| Ok((r.parsed_endpoints(path)?, r.rack)));
            match parsed {
                Ok((endpoints, rack)) => out.push(LiveBroker { id: *id, epoch: stat.czxid, endpoints, rack }),
                Err(e) => tracing::error!("Ignoring broker {id} with an unreadable registration: {e}"),
            }
        }
        Ok(out)
    }

    /// Failover step 4: brokers, topics (with watches and topic ids), assignments, leadership cache,
    /// channel manager.
    async fn initialize_controller_context(&mut self) -> Result<()> {
        let brokers = self.read_live_brokers().await?;
        self.ctx.set_live_brokers(brokers);
        let topics: BTreeSet<String> = self.zk.get_children(paths::BROKER_TOPICS).await?.into_iter().collect();
        self.ctx.set_all_topics(topics.clone());
        let topics: Vec<String> = topics.into_iter().collect();
        self.watch_all(topics.iter().map(|t| WatchTarget::Topic(t.clone()))).await?;
        self.load_topic_assignments(&topics).await?;
        self.ctx.clear_partition_leadership_info();
        self.ctx.shutting_down_broker_ids.clear();
        let broker_ids = self.ctx.live_or_shutting_down_broker_ids();
        self.watch_all(broker_ids.iter().map(|id| WatchTarget::Broker(*id))).await?;
        let partitions = self.ctx.all_partitions();
        for (tp, state) in zk_executor::read_partition_states(&self.zk, &partitions).await? {
            if let Some(state) = state {
                self.ctx.put_partition_leadership_info(tp, state);
            }
        }
        let brokers: Vec<LiveBroker> = self.ctx.live_or_shutting_down_brokers().cloned().collect();
        for b in &brokers {
            self.channel.add_broker(b);
        }
        tracing::info!(
            "Initialized controller context: live brokers {:?}, {} topics, {} partitions",
            broker_ids,
            self.ctx.all_topics().len(),
            partitions.len()
        );
        Ok(())
    }

    /// Arm several watches in one go (pipelined).
    pub(crate) async fn watch_all(&self, targets: impl Iterator<Item = WatchTarget>) -> Result<()> {
        let results = futures::future::join_all(targets.map(|t| self.zk.watch(t))).await;
        for r in results {
            r?;
        }
        Ok(())
    }

    /// Read the assignments of `topics`, give missing topic ids, and store both in the context.
    /// Returns the partitions read.
    pub(crate) async fn load_topic_assignments(&mut self, topics: &[String]) -> Result<Vec<TopicPartition>> {
        let mut assignments = zk_executor::read_topic_assignments(&self.zk, topics).await?;
        zk_executor::assign_missing_topic_ids(&self.zk, self.ctx.epoch_zk_version, &mut assignments).await?;
        let mut partitions = Vec::new();
        for a in assignments {
            if let Some(id) = a.topic_id {
                self.ctx.set_topic_id(&a.topic, id);
            }
            for (p, ra) in a.partitions {
                let tp = TopicPartition::new(a.topic.clone(), p);
                if ra.is_being_reassigned() {
                    self.ctx.partitions_being_reassigned.insert(tp.clone());
                }
                self.ctx.update_partition_full_replica_assignment(&tp, ra);
                partitions.push(tp);
            }
        }
        Ok(partitions)
    }

    /// Tear down everything the active controller had (Kafka's `onControllerResignation`).
    fn on_controller_resignation(&mut self) {
        tracing::info!("Resigning as controller (broker {}, epoch {})", self.config.broker_id, self.ctx.epoch);
        self.zk.unwatch_all_but_controller();
        if let Some(t) = self.rebalance_task.take() {
            t.abort();
        }
        self.channel.shutdown();
        self.batch.clear();
        let epoch = self.ctx.epoch;
        self.ctx = ControllerContext::default();
        self.ctx.epoch = epoch;
    }

    /// Graceful stop: resign if active and release `/controller` so that another broker takes over
    /// at once (what closing the ZooKeeper session does in Kafka).
    pub async fn shutdown(&mut self) {
        if self.is_active() {
            self.set_active_controller_id(-1);
            self.on_controller_resignation();
            if let Err(e) = self.zk.delete_controller_if_owner(self.config.broker_id).await {
                tracing::warn!("Could not release /controller on shutdown: {e}");
            }
        }
        self.zk.unwatch(&WatchTarget::Controller);
        self.zk.unwatch_all_but_controller();
        self.channel.shutdown();
        tracing::info!("Controller of broker {} shut down", self.config.broker_id);
    }

    /// Start a request batch; a leftover batch is a bug, logged and discarded.
    pub(crate) fn new_batch(&mut self) {
        if let Err(e) = self.batch.new_batch() {
            tracing::error!("{e}");
            self.batch.clear();
        }
    }

    /// Flush the batch to the channel manager.
    pub(crate) fn send_requests_to_brokers(&mut self) {
        for (broker, request) in self.batch.take_requests(&self.ctx) {
            tracing::debug!(target: crate::partition_state_machine::STATE_CHANGE_LOG, "Sending {} to broker {broker}", request.name());
            self.channel.send(broker, request);
        }
    }

    /// UpdateMetadata with `partitions` (possibly none) to `brokers`, in its own batch.
    pub(crate) fn send_update_metadata_request(&mut self, brokers: &[i32], partitions: &[TopicPartition]) {
        self.new_batch();
        self.batch.add_update_metadata_request_for_brokers(&self.ctx, brokers, partitions);
        self.send_requests_to_brokers();
    }
}

#[cfg(test)]
#[path = "controller_core_tests.rs"]
mod tests;
