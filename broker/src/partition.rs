//! `Partition`: one topic-partition hosted on this broker — its log, its leadership state from the
//! last accepted LeaderAndIsr, the follower progress it tracks as leader, and the high watermark.
//!
//! Waiters (delayed fetch/produce) subscribe to [`Partition::subscribe`], a watch channel that ticks on
//! every append and high-watermark move, so no wakeup is ever lost and only the partitions
//! concerned wake anybody up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use storage::{Log, TopicPartition};
use tokio::sync::watch;

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
}

/// Position snapshot published to waiters: (log end offset, high watermark).
pub type Progress = (i64, i64);

/// A partition hosted by this broker.
pub struct Partition {
    tp: TopicPartition,
    broker_id: i32,
    log: Arc<Log>,
    topic_id: Option<String>,
    state: RwLock<LeadershipState>,
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
    ) -> Self {
        let (progress, _) = watch::channel((log.log_end_offset(), log.high_watermark()));
        Partition {
            tp,
            broker_id,
            log,
            topic_id,
            state: RwLock::new(state),
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

    /// A copy of the leadership state.
    pub fn leadership(&self) -> LeadershipState {
        self.state.read().map(|s| s.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Whether this broker currently leads the partition.
    pub fn is_leader(&self) -> bool {
        self.leadership().leader == self.broker_id
    }

    /// Current leader epoch.
    pub fn leader_epoch(&self) -> i32 {
        self.leadership().leader_epoch
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

    /// Become leader (spec §3.1 LeaderAndIsr step 4): record the new state, start a leader epoch at
    /// the current LEO, reset follower tracking, and try to advance the high watermark.
    pub fn make_leader(&self, new_state: LeadershipState, now_ms: i64) -> Result<(), storage::StorageError> {
        let leo = self.log.log_end_offset();
        self.log.leader_epoch_cache().assign(new_state.leader_epoch, leo)?;
        {
            let mut followers = self.followers.lock().unwrap_or_else(|p| p.into_inner());
            followers.clear();
            for &r in new_state.replicas.iter().filter(|&&r| r != self.broker_id) {
                let in_isr = new_state.isr.contains(&r);
                followers.insert(
                    r,
                    FollowerState {
                        log_end_offset: -1,
                        log_start_offset: -1,
                        last_caught_up_ms: if in_isr { now_ms } else { 0 },
                        last_fetch_leader_leo: -1,
                        last_fetch_ms: 0,
                    },
                );
            }
        }
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = new_state;
        self.maybe_increment_high_watermark(now_ms);
        self.publish();
        Ok(())
    }

    /// Become follower: record the new leader and epoch. The ISR is only the leader's business.
    pub fn make_follower(&self, new_state: LeadershipState) {
        self.followers.lock().unwrap_or_else(|p| p.into_inner()).clear();
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = new_state;
        self.publish();
    }

    /// Record a follower fetch on the leader (spec §3.5 caught-up rule) and advance the high watermark.
    pub fn update_follower_fetch_state(&self, replica: i32, fetch_offset: i64, log_start_offset: i64, now_ms: i64) {
        let leo = self.log.log_end_offset();
        {
            let mut followers = self.followers.lock().unwrap_or_else(|p| p.into_inner());
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
        self.maybe_increment_high_watermark(now_ms);
    }

    /// Leader: HW = min LEO over the leader and every follower that is in the ISR or caught up within
    /// `replica.lag.time.max.ms` (approximated here by ISR membership; the lag rule arrives with ISR
    /// maintenance). Only moves forward. Returns true if it moved.
    pub fn maybe_increment_high_watermark(&self, _now_ms: i64) -> bool {
        let state = self.leadership();
        if state.leader != self.broker_id {
            return false;
        }
        let mut new_hw = self.log.log_end_offset();
        {
            let followers = self.followers.lock().unwrap_or_else(|p| p.into_inner());
            for r in state.isr.iter().filter(|&&r| r != self.broker_id) {
                let leo = followers.get(r).map(|f| f.log_end_offset).unwrap_or(-1);
                new_hw = new_hw.min(leo.max(0));
            }
        }
        if new_hw > self.log.high_watermark() {
            self.log.update_high_watermark(new_hw);
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
