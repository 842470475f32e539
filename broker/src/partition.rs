//! `Partition`: one topic-partition hosted on this broker — its log, its leadership state from the
//! last accepted LeaderAndIsr, the follower progress it tracks as leader, and the high watermark.
//!
//! Waiters (delayed fetch/produce) subscribe to [`Partition::subscribe`], a watch channel that ticks on
//! every append, high-watermark move and ISR change, so no wakeup is ever lost and only the
//! partitions concerned wake anybody up.
//!
//! ISR maintenance (spec §3.5) lives here: the leader tracks when each follower was last caught up,
//! proposes expansions after follower fetches and shrinks from the periodic task, and sends each
//! proposal through an [`AlterIsrSink`] (the `AlterIsrManager`). While a proposal is pending the
//! *maximal* ISR (committed ∪ proposed) counts for the high watermark and `acks=all`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use storage::{Log, TopicPartition};
use tokio::sync::watch;
use wire::ResponseError;

/// Why a leader append was refused.
#[derive(Debug)]
pub enum LeaderAppendError {
    /// This broker does not lead the partition (any more).
    NotLeader,
    /// `acks=all` and the ISR (given) is smaller than `min.insync.replicas`.
    NotEnoughReplicas(Vec<i32>),
    /// The log refused the records.
    Storage(storage::StorageError),
}

/// Leadership state from the controller (LeaderAndIsr), as this broker last accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadershipState {
    /// Current leader, -1 if none.
    pub leader: i32,
    /// Current leader epoch.
    pub leader_epoch: i32,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// Assigned replicas (preferred first).
    pub replicas: Vec<i32>,
    /// Epoch of the controller that sent it.
    pub controller_epoch: i32,
    /// zkVersion of the partition state znode ("partition epoch").
    pub partition_epoch: i32,
}

/// What the leader knows about a follower replica (spec §3.5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowerState {
    /// The follower's log end offset from its last fetch.
    pub log_end_offset: i64,
    /// The follower's log start offset.
    pub log_start_offset: i64,
    /// Last time the follower was caught up with the leader's LEO.
    pub last_caught_up_ms: i64,
    /// Leader LEO at the time of the follower's previous fetch.
    pub last_fetch_leader_leo: i64,
    /// Time of the follower's previous fetch.
    pub last_fetch_ms: i64,
    /// The controller refused to add this follower to the ISR (it is dead or shutting down,
    /// OPERATION_NOT_ATTEMPTED): no new proposal for it before this time.
    pub isr_join_refused_until_ms: i64,
    /// Consecutive refusals, so the refusal is logged once rather than every second.
    pub isr_join_refusals: u32,
}


/// How long a leader waits before proposing again a follower the controller refused to add to the
/// ISR because it is dead or shutting down (a restarting broker is re-admitted within this time).
pub const ISR_JOIN_REFUSED_BACKOFF_MS: i64 = 1_000;

/// Position snapshot published to waiters: (log end offset, high watermark).
pub type Progress = (i64, i64);

/// An ISR change this leader asks the controller for (one AlterIsr partition entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsrProposal {
    /// The partition.
    pub tp: TopicPartition,
    /// The leader epoch the proposal was made in.
    pub leader_epoch: i32,
    /// The ISR asked for.
    pub new_isr: Vec<i32>,
    /// Partition epoch (zkVersion of the state znode) the proposal is based on.
    pub partition_epoch: i32,
}

/// The controller's answer for one partition of an AlterIsr request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterIsrResult {
    /// The ISR now stored by the controller.
    Committed {
        /// Leader epoch in the stored state.
        leader_epoch: i32,
        /// Stored ISR.
        isr: Vec<i32>,
        /// New partition epoch (zkVersion).
        partition_epoch: i32,
    },
    /// A partition-level error.
    Failed(ResponseError),
}

/// Where a partition sends its ISR proposals (the `AlterIsrManager`, or a recorder in tests).
pub trait AlterIsrSink: Send + Sync {
    /// Queue a proposal; false if one for this partition is already queued or in flight.
    fn submit(&self, partition: Arc<Partition>, proposal: IsrProposal) -> bool;
}

/// Leader-only state guarded together with the leadership state.
#[derive(Debug, Clone)]
struct PartitionState {
    leadership: LeadershipState,
    /// ISR proposed to the controller and not yet answered.
    pending_isr: Option<Vec<i32>>,
    /// LEO when this broker became leader in the current epoch (-1 when not leader).
    leader_epoch_start_offset: i64,
}

impl PartitionState {
    fn maximal_isr(&self) -> Vec<i32> {
        maximal_isr(&self.leadership.isr, self.pending_isr.as_deref())
    }
}

/// Committed ISR ∪ pending proposal: what counts for the HW and `acks=all` while a change is in flight.
pub fn maximal_isr(committed: &[i32], pending: Option<&[i32]>) -> Vec<i32> {
    let mut out = committed.to_vec();
    for r in pending.unwrap_or(&[]) {
        if !out.contains(r) {
            out.push(*r);
        }
    }
    out
}

/// The leader's HW candidate (spec §3.5): min of the leader LEO and the LEO of every follower that
/// is in the maximal ISR or was caught up within `lag_ms`. Unknown follower LEOs (-1) hold it back.
pub fn high_watermark_candidate(
    leader_leo: i64,
    followers: &HashMap<i32, FollowerState>,
    maximal_isr: &[i32],
    now_ms: i64,
    lag_ms: i64,
) -> i64 {
    let mut hw = leader_leo;
    for (id, f) in followers {
        if maximal_isr.contains(id) || now_ms - f.last_caught_up_ms <= lag_ms {
            hw = hw.min(f.log_end_offset);
        }
    }
    hw
}

/// ISR members (other than the leader) that are behind the leader's LEO and have not been caught
/// up for more than `lag_ms` (spec §3.5 shrink rule).
pub fn out_of_sync_replicas(
    leader_id: i32,
    isr: &[i32],
    followers: &HashMap<i32, FollowerState>,
    leader_leo: i64,
    now_ms: i64,
    lag_ms: i64,
) -> Vec<i32> {
    isr.iter()
        .copied()
        .filter(|&r| r != leader_id)
        .filter(|r| match followers.get(r) {
            Some(f) => f.log_end_offset != leader_leo && now_ms - f.last_caught_up_ms > lag_ms,
            None => true,
        })
        .collect()
}

/// Whether a follower may join the ISR (spec §3.5 expand rule): not in it, no change in flight, its
/// LEO at or past the HW and past the start of the leader's current epoch.
pub fn can_expand_isr(
    follower: i32,
    isr: &[i32],
    pending: bool,
    follower_leo: i64,
    high_watermark: i64,
    leader_epoch_start_offset: i64,
) -> bool {
    !pending
        && !isr.contains(&follower)
        && follower_leo >= high_watermark
        && leader_epoch_start_offset >= 0
        && follower_leo >= leader_epoch_start_offset
}

/// A partition hosted by this broker.
pub struct Partition {
    tp: TopicPartition,
    broker_id: i32,
    log: Arc<Log>,
    topic_id: Option<String>,
    replica_lag_time_max_ms: i64,
    state: RwLock<PartitionState>,
    followers: Mutex<HashMap<i32, FollowerState>>,
    progress: watch::Sender<Progress>,
}

impl Partition {
    /// A partition over its log with initial leadership state.
    pub fn new(
        tp: TopicPartition,
        broker_id: i32,
        log: Arc<Log>,
        topic_id: Option<String>,
        state: LeadershipState,
        replica_lag_time_max_ms: i64,
    ) -> Self {
        let (progress, _) = watch::channel((log.log_end_offset(), log.high_watermark()));
        Partition {
            tp,
            broker_id,
            log,
            topic_id,
            replica_lag_time_max_ms,
            state: RwLock::new(PartitionState { leadership: state, pending_isr: None, leader_epoch_start_offset: -1 }),
            followers: Mutex::new(HashMap::new()),
            progress,
        }
    }

    /// Topic and partition.
    pub fn topic_partition(&self) -> &TopicPartition {
        &self.tp
    }

    /// The topic id this partition was created with.
    pub fn topic_id(&self) -> Option<&str> {
        self.topic_id.as_deref()
    }

    /// The local log.
    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, PartitionState> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, PartitionState> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_followers(&self) -> std::sync::MutexGuard<'_, HashMap<i32, FollowerState>> {
        self.followers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of the leadership state.
    pub fn leadership(&self) -> LeadershipState {
        self.read_state().leadership.clone()
    }

    /// Whether this broker currently leads the partition.
    pub fn is_leader(&self) -> bool {
        self.read_state().leadership.leader == self.broker_id
    }

    /// Current leader epoch.
    pub fn leader_epoch(&self) -> i32 {
        self.read_state().leadership.leader_epoch
    }

    /// Committed ISR ∪ pending proposal.
    pub fn maximal_isr(&self) -> Vec<i32> {
        self.read_state().maximal_isr()
    }

    /// The ISR proposal awaiting the controller, if any.
    pub fn pending_isr(&self) -> Option<Vec<i32>> {
        self.read_state().pending_isr.clone()
    }

    /// LEO at which this broker's current leader epoch started (-1 when not leader).
    pub fn leader_epoch_start_offset(&self) -> i64 {
        self.read_state().leader_epoch_start_offset
    }

    /// What the leader knows about a follower (tests and tools).
    pub fn follower_state(&self, replica: i32) -> Option<FollowerState> {
        self.lock_followers().get(&replica).copied()
    }

    /// Watch the partition's (LEO, HW); ticks on every append and high-watermark change.
    pub fn subscribe(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    fn publish(&self) {
        self.progress.send_replace((self.log.log_end_offset(), self.log.high_watermark()));
    }

    /// Wake every waiter (used when leadership changes or the partition goes away, so delayed
    /// operations re-check and answer with the right error).
    pub fn wake_waiters(&self) {
        self.publish();
    }

    /// The leadership checks of a leader-only read (Fetch, ListOffsets, OffsetsForLeaderEpoch):
    /// the client's `current_leader_epoch` (-1 = don't check) against ours, then whether
    /// `broker_id` (this broker) leads.
    pub fn check_leadership_for_read(&self, broker_id: i32, current_leader_epoch: i32) -> Result<(), ResponseError> {
        let st = self.read_state();
        if current_leader_epoch >= 0 {
            if current_leader_epoch < st.leadership.leader_epoch {
                return Err(ResponseError::FencedLeaderEpoch);
            }
            if current_leader_epoch > st.leadership.leader_epoch {
                return Err(ResponseError::UnknownLeaderEpoch);
            }
        }
        if st.leadership.leader != broker_id {
            return Err(ResponseError::NotLeaderOrFollower);
        }
        Ok(())
    }

    /// Become leader (spec §3.1 LeaderAndIsr step 4): record the new state, start a leader epoch at
    /// the current LEO, reset follower tracking, drop any pending ISR proposal, and try to advance
    /// the high watermark. A broker that already led keeps its followers' known LEOs.
    pub fn make_leader(&self, new_state: LeadershipState, now_ms: i64) -> Result<(), storage::StorageError> {
        {
            // Under the write lock: no leader append (which holds the read lock) can land between
            // reading the LEO and starting the new epoch there, so no batch of the old epoch ever
            // follows the new epoch's start offset (that would make followers truncate forever).
            let mut st = self.write_state();
            let leo = self.log.log_end_offset();
            self.log.assign_epoch_start_offset(new_state.leader_epoch, leo)?;
            let was_leader = st.leadership.leader == self.broker_id;
            let mut followers = self.lock_followers();
            let old = std::mem::take(&mut *followers);
            for &r in new_state.replicas.iter().filter(|&&r| r != self.broker_id) {
                let in_isr = new_state.isr.contains(&r);
                let kept = if was_leader { old.get(&r).copied() } else { None };
                followers.insert(
                    r,
                    FollowerState {
                        log_end_offset: kept.map_or(-1, |f| f.log_end_offset),
                        log_start_offset: kept.map_or(-1, |f| f.log_start_offset),
                        last_caught_up_ms: if in_isr { now_ms } else { 0 },
                        last_fetch_leader_leo: leo,
                        last_fetch_ms: now_ms,
                        ..FollowerState::default()
                    },
                );
            }
            st.leadership = new_state;
            st.pending_isr = None;
            st.leader_epoch_start_offset = leo;
        }
        self.maybe_increment_high_watermark(now_ms);
        self.publish();
        Ok(())
    }

    /// Append as leader under the leadership read lock (Kafka's `leaderIsrUpdateLock`): the
    /// leadership and `min.insync.replicas` checks and the write see the same leader epoch, because
    /// a LeaderAndIsr ([`Partition::make_leader`]/[`Partition::make_follower`]) takes the write lock.
    pub fn append_records_to_leader(
        &self,
        records: &[u8],
        acks: i16,
        min_isr: i32,
        now_ms: i64,
    ) -> Result<storage::LogAppendInfo, LeaderAppendError> {
        let info = {
            let st = self.read_state();
            if st.leadership.leader != self.broker_id {
                return Err(LeaderAppendError::NotLeader);
            }
            if acks == -1 && (st.leadership.isr.len() as i32) < min_isr {
                return Err(LeaderAppendError::NotEnoughReplicas(st.leadership.isr.clone()));
            }
            self.log.append_as_leader(records, st.leadership.leader_epoch, now_ms).map_err(LeaderAppendError::Storage)?
        };
        self.after_leader_append(now_ms);
        Ok(info)
    }

    /// Become follower: record the new leader and epoch, forget leader-only state.
    pub fn make_follower(&self, new_state: LeadershipState) {
        {
            let mut st = self.write_state();
            self.lock_followers().clear();
            st.leadership = new_state;
            st.pending_isr = None;
            st.leader_epoch_start_offset = -1;
        }
        self.publish();
    }

    /// Record a follower fetch on the leader (spec §3.5 caught-up rule), maybe propose adding it to
    /// the ISR, and advance the high watermark. Fetches from non-replicas are ignored.
    pub fn update_follower_fetch_state(
        self: &Arc<Self>,
        replica: i32,
        fetch_offset: i64,
        log_start_offset: i64,
        now_ms: i64,
        sink: &dyn AlterIsrSink,
    ) {
        let leo = self.log.log_end_offset();
        {
            let mut followers = self.lock_followers();
            let Some(f) = followers.get_mut(&replica) else { return };
            if fetch_offset >= leo {
                f.last_caught_up_ms = now_ms;
            } else if fetch_offset >= f.last_fetch_leader_leo {
                f.last_caught_up_ms = f.last_caught_up_ms.max(f.last_fetch_ms);
            }
            f.log_end_offset = fetch_offset;
            f.log_start_offset = log_start_offset;
            f.last_fetch_leader_leo = leo;
            f.last_fetch_ms = now_ms;
        }
        self.maybe_expand_isr(replica, now_ms, sink);
        self.maybe_increment_high_watermark(now_ms);
    }

    /// Propose adding `replica` to the ISR if it qualifies (spec §3.5).
    pub fn maybe_expand_isr(self: &Arc<Self>, replica: i32, now_ms: i64, sink: &dyn AlterIsrSink) {
        let Some(f) = self.follower_state(replica) else { return };
        let mut st = self.write_state();
        if st.leadership.leader != self.broker_id || now_ms < f.isr_join_refused_until_ms {
            return;
        }
        let hw = self.log.high_watermark();
        if !can_expand_isr(
            replica,
            &st.leadership.isr,
            st.pending_isr.is_some(),
            f.log_end_offset,
            hw,
            st.leader_epoch_start_offset,
        ) {
            return;
        }
        let mut new_isr = st.leadership.isr.clone();
        new_isr.push(replica);
        if f.isr_join_refusals > 0 {
            tracing::debug!("Expanding ISR of {} from {:?} to {new_isr:?} again", self.tp, st.leadership.isr);
            self.propose_locked(&mut st, new_isr, sink);
            return;
        }
        tracing::info!(
            "Expanding ISR of {} from {:?} to {:?} (follower LEO {}, HW {hw})",
            self.tp,
            st.leadership.isr,
            new_isr,
            f.log_end_offset
        );
        self.propose_locked(&mut st, new_isr, sink);
    }

    /// Shrink task (spec §3.5): propose removing ISR members out of sync for longer than
    /// `replica.lag.time.max.ms`. Nothing while another change is pending. Returns true if proposed.
    pub fn maybe_shrink_isr(self: &Arc<Self>, now_ms: i64, sink: &dyn AlterIsrSink) -> bool {
        let mut st = self.write_state();
        if st.leadership.leader != self.broker_id || st.pending_isr.is_some() {
            return false;
        }
        let leo = self.log.log_end_offset();
        let out = {
            let followers = self.lock_followers();
            out_of_sync_replicas(self.broker_id, &st.leadership.isr, &followers, leo, now_ms, self.replica_lag_time_max_ms)
        };
        if out.is_empty() {
            return false;
        }
        let new_isr: Vec<i32> = st.leadership.isr.iter().copied().filter(|r| !out.contains(r)).collect();
        {
            let followers = self.lock_followers();
            let detail: Vec<String> = out
                .iter()
                .map(|r| match followers.get(r) {
                    Some(f) => format!("{r} (LEO {}, last caught up {} ms ago)", f.log_end_offset, now_ms - f.last_caught_up_ms),
                    None => format!("{r} (no state)"),
                })
                .collect();
            tracing::info!(
                "Shrinking ISR of {} from {:?} to {:?}: out of sync {}; leader LEO {leo}, HW {}",
                self.tp,
                st.leadership.isr,
                new_isr,
                detail.join(", "),
                self.log.high_watermark()
            );
        }
        self.propose_locked(&mut st, new_isr, sink);
        true
    }

    fn propose_locked(self: &Arc<Self>, st: &mut PartitionState, new_isr: Vec<i32>, sink: &dyn AlterIsrSink) {
        let proposal = IsrProposal {
            tp: self.tp.clone(),
            leader_epoch: st.leadership.leader_epoch,
            new_isr: new_isr.clone(),
            partition_epoch: st.leadership.partition_epoch,
        };
        st.pending_isr = Some(new_isr);
        if !sink.submit(self.clone(), proposal) {
            tracing::warn!("ISR change for {} not queued: another one is still in flight", self.tp);
            st.pending_isr = None;
        }
    }

    /// Apply the controller's answer to `proposal` (spec §3.5): ignored if the partition moved on
    /// (different pending state, other leader epoch, older partition epoch); committed ISRs replace
    /// ours; unexpected errors re-send the same proposal; UNKNOWN_TOPIC_OR_PARTITION,
    /// FENCED_LEADER_EPOCH and INVALID_UPDATE_VERSION leave it pending until the next LeaderAndIsr;
    /// OPERATION_NOT_ATTEMPTED (a joining replica is dead or shutting down) drops the proposal and
    /// holds back new proposals for the joining replicas for [`ISR_JOIN_REFUSED_BACKOFF_MS`].
    pub fn handle_alter_isr_result(
        self: &Arc<Self>,
        proposal: &IsrProposal,
        result: AlterIsrResult,
        now_ms: i64,
        sink: &dyn AlterIsrSink,
    ) {
        {
            let mut st = self.write_state();
            if st.pending_isr.as_ref() != Some(&proposal.new_isr)
                || st.leadership.leader_epoch != proposal.leader_epoch
                || st.leadership.leader != self.broker_id
            {
                tracing::debug!("ignoring outdated AlterIsr answer for {}: {result:?}", self.tp);
                return;
            }
            match result {
                AlterIsrResult::Failed(e @ (ResponseError::UnknownTopicOrPartition
                | ResponseError::FencedLeaderEpoch
                | ResponseError::InvalidUpdateVersion)) => {
                    tracing::info!(
                        "controller refused ISR {:?} for {}: {e:?}; waiting for the next LeaderAndIsr",
                        proposal.new_isr,
                        self.tp
                    );
                    return;
                }
                AlterIsrResult::Failed(ResponseError::OperationNotAttempted) => {
                    st.pending_isr = None;
                    let mut followers = self.lock_followers();
                    for r in proposal.new_isr.iter().filter(|r| !st.leadership.isr.contains(r)) {
                        let Some(f) = followers.get_mut(r) else { continue };
                        if f.isr_join_refusals == 0 {
                            tracing::info!(
                                "controller refused to add replica {r} to the ISR of {}: it is not a live broker or is shutting down; retrying every {ISR_JOIN_REFUSED_BACKOFF_MS} ms",
                                self.tp
                            );
                        }
                        f.isr_join_refusals = f.isr_join_refusals.saturating_add(1);
                        f.isr_join_refused_until_ms = now_ms + ISR_JOIN_REFUSED_BACKOFF_MS;
                    }
                    return;
                }
                AlterIsrResult::Failed(e) => {
                    tracing::warn!("failed to update ISR of {} to {:?}: {e:?}; retrying", self.tp, proposal.new_isr);
                    if !sink.submit(self.clone(), proposal.clone()) {
                        st.pending_isr = None;
                    }
                    return;
                }
                AlterIsrResult::Committed { leader_epoch, isr, partition_epoch } => {
                    if leader_epoch != st.leadership.leader_epoch {
                        tracing::debug!("ignoring ISR {isr:?} for {}: leader epoch {leader_epoch} is not ours", self.tp);
                        return;
                    }
                    if partition_epoch < st.leadership.partition_epoch {
                        tracing::debug!("ignoring ISR {isr:?} for {}: partition epoch {partition_epoch} is older", self.tp);
                        return;
                    }
                    tracing::info!(
                        "ISR of {} updated to {:?} and partition epoch to {partition_epoch}",
                        self.tp,
                        isr
                    );
                    let mut followers = self.lock_followers();
                    for r in &isr {
                        if let Some(f) = followers.get_mut(r) {
                            if f.isr_join_refusals > 0 {
                                tracing::info!("replica {r} joined the ISR of {} after {} refusals", self.tp, f.isr_join_refusals);
                            }
                            f.isr_join_refusals = 0;
                            f.isr_join_refused_until_ms = 0;
                        }
                    }
                    drop(followers);
                    st.leadership.isr = isr;
                    st.leadership.partition_epoch = partition_epoch;
                    st.pending_isr = None;
                }
            }
        }
        self.maybe_increment_high_watermark(now_ms);
        self.publish();
    }

    /// Leader: move the HW to the candidate of [`high_watermark_candidate`] if that is higher.
    /// Returns true if it moved.
    pub fn maybe_increment_high_watermark(&self, now_ms: i64) -> bool {
        let candidate = {
            let st = self.read_state();
            if st.leadership.leader != self.broker_id {
                return false;
            }
            let followers = self.lock_followers();
            high_watermark_candidate(
                self.log.log_end_offset(),
                &followers,
                &st.maximal_isr(),
                now_ms,
                self.replica_lag_time_max_ms,
            )
        };
        if candidate > self.log.high_watermark() {
            self.log.update_high_watermark(candidate);
            self.publish();
            true
        } else {
            false
        }
    }

    /// After a leader append: publish the new LEO and move the HW if the ISR allows.
    pub fn after_leader_append(&self, now_ms: i64) {
        if !self.maybe_increment_high_watermark(now_ms) {
            self.publish();
        }
    }
}

#[cfg(test)]
#[path = "partition_tests.rs"]
mod tests;
