//! The model behind `replication_model.rs`: three brokers hosting one partition through the
//! broker's own `Partition`/`Log` code, plus a small model of the controller and of delivery.

mod checks;
mod controller;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use broker::partition::{AlterIsrSink, IsrProposal, LeadershipState, Partition};
use broker::replica_fetcher::{apply_to_follower, fetch_partition, resolve_out_of_range, Applied};
use broker::replica_manager::read::{read_from_leader, ReadParams};
use bytes::Bytes;
use storage::batch_builder::BatchBuilder;
use storage::{Log, LogConfig, LogLoadParams, TopicPartition};
use wire::kafka_protocol::messages::fetch_response::{EpochEndOffset, PartitionData};
use wire::ResponseError;

pub use controller::Controller;

/// Broker ids of the three replicas (index i has id i + 1); the first is the preferred leader.
pub const REPLICAS: [i32; 3] = [1, 2, 3];
/// `replica.lag.time.max.ms` of the model.
pub const LAG_MS: i64 = 10_000;

/// One step of a schedule.
#[derive(Debug, Clone)]
pub enum Step {
    /// A producer sends `batches` batches to replica `to` (appended only if it thinks it leads).
    Produce { to: usize, batches: u8 },
    /// Replica `follower` fetches once from the leader it knows (`small`: a 100-byte limit).
    Fetch { follower: usize, small: bool },
    /// The pending LeaderAndIsr for replica `to` arrives.
    Deliver { to: usize },
    /// The controller answers every queued AlterIsr.
    ProcessAlterIsr,
    /// Time passes.
    Tick { ms: i64 },
    /// Replica `at`, if it leads, runs its ISR shrink check.
    Shrink { at: usize },
    /// kill -9 of replica `r`; `torn_tail` leaves half a batch at the end of its log; its
    /// checkpointed high watermark lags its real one by up to `hw_lag` batches.
    Crash { r: usize, torn_tail: bool, hw_lag: u8 },
    /// Replica `r` starts again (recovering its log) if it was down.
    Restart { r: usize },
    /// Replica `r` loses its ZooKeeper session (the controller sees it die) but keeps running.
    Isolate { r: usize },
    /// Replica `r` reaches ZooKeeper again (the controller sees it start).
    Heal { r: usize },
    /// SIGTERM: leadership moves off `r`, which then closes its log cleanly and stops.
    ControlledShutdown { r: usize },
    /// The controller moves leadership to the preferred replica if it is in the ISR.
    PreferredElection,
}

/// AlterIsr proposals as the broker's `AlterIsrManager` would queue them: one per partition.
#[derive(Default)]
pub struct Sink {
    queued: Mutex<Vec<(Arc<Partition>, IsrProposal)>>,
}

impl AlterIsrSink for Sink {
    fn submit(&self, partition: Arc<Partition>, proposal: IsrProposal) -> bool {
        let mut q = self.queued.lock().unwrap();
        if q.iter().any(|(p, _)| Arc::ptr_eq(p, &partition)) {
            return false;
        }
        q.push((partition, proposal));
        true
    }
}

impl Sink {
    fn take(&self) -> Vec<(Arc<Partition>, IsrProposal)> {
        std::mem::take(&mut *self.queued.lock().unwrap())
    }
}

/// One broker's replica.
pub struct Replica {
    /// Broker id.
    pub id: i32,
    dir: PathBuf,
    /// The hosted partition; None while the broker is down.
    pub partition: Option<Arc<Partition>>,
    /// The high watermark a restart reads back from `replication-offset-checkpoint`.
    hw_checkpoint: i64,
    /// Last high watermark seen while running (it must never go back).
    pub last_hw: i64,
    /// Cut off from the controller (the controller thinks it is dead).
    pub isolated: bool,
    /// The latest LeaderAndIsr the controller sent it and it has not received yet.
    pub pending: Option<LeadershipState>,
}

/// The whole system.
pub struct Model {
    _root: tempfile::TempDir,
    /// The three replicas.
    pub replicas: Vec<Replica>,
    /// What ZooKeeper and the controller hold.
    pub ctl: Controller,
    sink: Arc<Sink>,
    /// The logical clock (ms).
    pub now: i64,
    next_timestamp: i64,
    /// Batches below the highest high watermark any leader ever had: (base, last, epoch, crc).
    pub committed: Vec<checks::BatchId>,
    /// Offset just past `committed`.
    pub committed_end: i64,
    /// Fetches whose answer changed nothing although the leader said the logs diverge.
    pub no_progress: usize,
    /// Fetch answers that truncated a follower (its log end or epoch cache went back).
    pub truncations: u64,
}

fn tp() -> TopicPartition {
    TopicPartition::new("model", 0)
}

fn log_config() -> LogConfig {
    // Small segments so truncation and recovery cross segment boundaries.
    LogConfig { segment_bytes: 1024, ..LogConfig::default() }
}

/// A scratch directory on tmpfs where there is one: the model fsyncs epoch checkpoints often.
fn scratch() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().expect("temp dir")
}

impl Model {
    /// Three running replicas; replica 1 leads epoch 0 with everyone in the ISR, as after creation.
    pub fn new() -> Model {
        let root = scratch();
        let ctl = Controller::new();
        let sink = Arc::new(Sink::default());
        let mut replicas = Vec::new();
        for id in REPLICAS {
            let dir = root.path().join(format!("broker-{id}"));
            replicas.push(Replica { id, dir, partition: None, hw_checkpoint: 0, last_hw: 0, isolated: false, pending: None });
        }
        let mut m = Model {
            _root: root,
            replicas,
            ctl,
            sink,
            now: 1_000_000,
            next_timestamp: 1,
            committed: Vec::new(),
            committed_end: 0,
            no_progress: 0,
            truncations: 0,
        };
        for i in 0..3 {
            m.start(i);
        }
        m.send_leader_and_isr();
        for i in 0..3 {
            m.deliver(i);
        }
        m
    }

    fn start(&mut self, i: usize) {
        let r = &mut self.replicas[i];
        let log = Log::open(r.dir.join("model-0"), tp(), log_config(), LogLoadParams::new(false)).expect("open log");
        log.update_high_watermark(r.hw_checkpoint);
        r.last_hw = log.high_watermark();
        let unknown = LeadershipState { leader: -1, leader_epoch: -1, isr: vec![], replicas: REPLICAS.to_vec(), controller_epoch: 1, partition_epoch: -1 };
        r.partition = Some(Arc::new(Partition::new(tp(), r.id, Arc::new(log), None, unknown, LAG_MS)));
    }

    /// Queue the controller's current state for every broker it can reach.
    fn send_leader_and_isr(&mut self) {
        let state = self.ctl.leadership();
        for r in &mut self.replicas {
            if r.partition.is_some() && !r.isolated {
                r.pending = Some(state.clone());
            }
        }
    }

    fn registered(&self) -> Vec<i32> {
        self.replicas.iter().filter(|r| r.partition.is_some() && !r.isolated).map(|r| r.id).collect()
    }

    /// Apply one step.
    pub fn apply(&mut self, step: &Step) {
        match *step {
            Step::Produce { to, batches } => self.produce(to, batches),
            Step::Fetch { follower, small } => self.fetch(follower, if small { 100 } else { 1 << 20 }),
            Step::Deliver { to } => self.deliver(to),
            Step::ProcessAlterIsr => self.process_alter_isr(),
            Step::Tick { ms } => self.now += ms,
            Step::Shrink { at } => {
                if let Some(p) = self.leader_view(at) {
                    p.maybe_shrink_isr(self.now, self.sink.as_ref());
                }
            }
            Step::Crash { r, torn_tail, hw_lag } => self.crash(r, torn_tail, hw_lag),
            Step::Restart { r } => {
                if self.replicas[r].partition.is_none() {
                    self.start(r);
                    if !self.replicas[r].isolated && self.ctl.broker_started(self.replicas[r].id, &self.registered()) {
                        self.send_leader_and_isr();
                    } else if !self.replicas[r].isolated {
                        self.replicas[r].pending = Some(self.ctl.leadership());
                    }
                }
            }
            Step::Isolate { r } => {
                if self.replicas[r].partition.is_some() && !self.replicas[r].isolated {
                    self.replicas[r].isolated = true;
                    self.replicas[r].pending = None;
                    let id = self.replicas[r].id;
                    if self.ctl.broker_failed(id, &self.registered()) {
                        self.send_leader_and_isr();
                    }
                }
            }
            Step::Heal { r } => {
                if self.replicas[r].isolated {
                    self.replicas[r].isolated = false;
                    if self.replicas[r].partition.is_some() {
                        let id = self.replicas[r].id;
                        self.ctl.broker_started(id, &self.registered());
                        self.send_leader_and_isr();
                    }
                }
            }
            Step::ControlledShutdown { r } => self.controlled_shutdown(r),
            Step::PreferredElection => {
                if self.ctl.preferred_election(&self.registered()) {
                    self.send_leader_and_isr();
                }
            }
        }
    }

    /// The partition of replica `i` if it is running and believes it leads.
    fn leader_view(&self, i: usize) -> Option<Arc<Partition>> {
        self.replicas[i].partition.as_ref().filter(|p| p.is_leader()).cloned()
    }

    fn produce(&mut self, to: usize, batches: u8) {
        let Some(p) = self.leader_view(to) else { return };
        for _ in 0..batches {
            self.next_timestamp += 1;
            let batch = BatchBuilder::new(self.next_timestamp).records(1 + (self.next_timestamp % 3) as usize).build();
            // acks=1 so a zombie leader appends too (as it would for such producers).
            let _ = p.append_records_to_leader(&batch, 1, 1, self.now);
        }
    }

    fn deliver(&mut self, i: usize) {
        let Some(p) = self.replicas[i].partition.clone() else { return };
        let Some(state) = self.replicas[i].pending.take() else { return };
        // A broker accepts only a newer leader epoch (Kafka ignores the same or an older one).
        if state.leader_epoch <= p.leader_epoch() {
            return;
        }
        if state.leader == self.replicas[i].id {
            p.make_leader(state, self.now).expect("make leader");
        } else {
            p.make_follower(state);
            broker::replica_fetcher::truncate_without_epochs(p.log());
        }
    }

    fn fetch(&mut self, i: usize, max_bytes: i32) {
        let Some(follower) = self.replicas[i].partition.clone() else { return };
        let view = follower.leadership();
        if view.leader == self.replicas[i].id || view.leader < 0 {
            return;
        }
        let Some(li) = self.replicas.iter().position(|r| r.id == view.leader) else { return };
        let Some(leader) = self.replicas[li].partition.clone() else { return };
        let req = fetch_partition(follower.log(), view.leader_epoch, max_bytes);
        let data = match leader.check_leadership_for_read(self.replicas[li].id, req.current_leader_epoch) {
            Err(e) => error_data(e),
            Ok(()) => {
                let params = ReadParams {
                    fetch_offset: req.fetch_offset,
                    current_leader_epoch: req.current_leader_epoch,
                    max_bytes: max_bytes as u32,
                    min_one_message: true,
                    replica_id: self.replicas[i].id,
                    log_start_offset: req.log_start_offset,
                    last_fetched_epoch: req.last_fetched_epoch,
                };
                let read = read_from_leader(&leader, params, 0, self.sink.as_ref(), self.now);
                let records = match &read.records {
                    Some(slice) => Bytes::from(slice.read_to_vec().expect("read leader log")),
                    None => Bytes::new(),
                };
                let (epoch, end_offset) = read.diverging_epoch.unwrap_or((-1, -1));
                PartitionData::default()
                    .with_partition_index(0)
                    .with_error_code(read.error.map_or(0, |e| e.code()))
                    .with_high_watermark(read.high_watermark)
                    .with_last_stable_offset(read.last_stable_offset)
                    .with_log_start_offset(read.log_start_offset)
                    .with_diverging_epoch(EpochEndOffset::default().with_epoch(epoch).with_end_offset(end_offset))
                    .with_records(Some(records))
            }
        };
        let before = (follower.log().log_end_offset(), follower.log().leader_epoch_cache().entries());
        let applied = apply_to_follower(&follower, req.fetch_offset, &data);
        let after = (follower.log().log_end_offset(), follower.log().leader_epoch_cache().entries());
        if after.0 < before.0 || (after.1.len() < before.1.len()) {
            self.truncations += 1;
        }
        match applied {
            Ok(Applied::Progress) => {}
            Ok(Applied::NoProgress(_)) => self.no_progress += 1,
            Err(ResponseError::OffsetOutOfRange) => {
                let log = leader.log();
                resolve_out_of_range(&follower, log.log_end_offset(), log.log_start_offset()).expect("resolve out of range");
            }
            Err(_) => {}
        }
    }

    fn process_alter_isr(&mut self) {
        for (partition, proposal) in self.sink.take() {
            let from = partition.topic_partition().clone();
            let sender = self.replicas.iter().find(|r| r.partition.as_ref().is_some_and(|p| Arc::ptr_eq(p, &partition)));
            let Some(sender) = sender else { continue }; // restarted since: the answer is lost
            let result = self.ctl.alter_isr(sender.id, &proposal);
            debug_assert_eq!(from, tp());
            partition.handle_alter_isr_result(&proposal, result, self.now, self.sink.as_ref());
        }
    }

    fn crash(&mut self, i: usize, torn_tail: bool, hw_lag: u8) {
        let Some(p) = self.replicas[i].partition.take() else { return };
        let log = p.log().clone();
        // The checkpoint is written every few seconds: it may be behind by a few batches.
        let hw = log.high_watermark();
        let starts: Vec<i64> = checks::batch_ids(&log).iter().map(|b| b.base).filter(|&b| b <= hw).collect();
        let lagged = starts.len().saturating_sub(hw_lag as usize).min(starts.len());
        self.replicas[i].hw_checkpoint = if hw_lag == 0 { hw } else { starts.get(lagged).copied().unwrap_or(hw).min(hw) };
        if torn_tail {
            checks::tear_tail(&log);
        }
        drop(p);
        drop(log);
        self.replicas[i].pending = None;
        if !self.replicas[i].isolated {
            let id = self.replicas[i].id;
            if self.ctl.broker_failed(id, &self.registered()) {
                self.send_leader_and_isr();
            }
        }
    }

    fn controlled_shutdown(&mut self, i: usize) {
        if self.replicas[i].partition.is_none() || self.replicas[i].isolated {
            return;
        }
        let id = self.replicas[i].id;
        // The controller moves leadership and shrinks the ISR, and the broker waits for it.
        let remaining: Vec<i32> = self.registered().into_iter().filter(|&b| b != id).collect();
        if self.ctl.broker_failed(id, &remaining) {
            self.send_leader_and_isr();
            for j in 0..3 {
                self.deliver(j);
            }
        }
        let Some(p) = self.replicas[i].partition.take() else { return };
        p.log().close().expect("clean close");
        self.replicas[i].hw_checkpoint = p.log().high_watermark();
        self.replicas[i].pending = None;
    }

    /// Heal every fault, then run fetch rounds until the replicas agree; fails if they do not
    /// within a bounded number of rounds or a follower makes no progress.
    pub fn heal_and_converge(&mut self) -> Result<(), String> {
        for i in 0..3 {
            self.apply(&Step::Heal { r: i });
            self.apply(&Step::Restart { r: i });
        }
        let before = self.no_progress;
        for round in 0..200 {
            for i in 0..3 {
                self.deliver(i);
            }
            self.process_alter_isr();
            self.now += 100;
            for i in 0..3 {
                self.fetch(i, 1 << 20);
            }
            self.check_safety().map_err(|e| format!("healing round {round}: {e}"))?;
            if self.no_progress > before {
                return Err(format!("a follower made no progress in healing round {round}"));
            }
            if self.converged() {
                return Ok(());
            }
        }
        Err("not converged after 200 fetch rounds".into())
    }

    /// A readable state of every replica and of the controller, for failure messages.
    pub fn dump(&self) -> String {
        let mut out = format!("controller: {:?}\ncommitted end: {}\n", self.ctl, self.committed_end);
        for r in &self.replicas {
            match &r.partition {
                None => out.push_str(&format!("broker {}: down (hw checkpoint {})\n", r.id, r.hw_checkpoint)),
                Some(p) => {
                    let log = p.log();
                    out.push_str(&format!(
                        "broker {}{}: view {:?}; LEO {} HW {} epochs {:?}; batches {:?}\n",
                        r.id,
                        if r.isolated { " (isolated)" } else { "" },
                        p.leadership(),
                        log.log_end_offset(),
                        log.high_watermark(),
                        log.leader_epoch_cache().entries(),
                        checks::batch_ids(log).iter().map(|b| (b.base, b.last, b.epoch)).collect::<Vec<_>>()
                    ));
                }
            }
        }
        out
    }
}

fn error_data(e: ResponseError) -> PartitionData {
    PartitionData::default()
        .with_partition_index(0)
        .with_error_code(e.code())
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_records(Some(Bytes::new()))
}
