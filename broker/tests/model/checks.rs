//! The model's invariants and the helpers that read a replica's log.

use std::io::Write;

use storage::record_batch::BatchIter;
use storage::Log;

use super::Model;

/// What identifies a batch across replicas: offsets, the epoch stamped by its leader, and the CRC
/// of its content (every batch the model produces has a unique timestamp, so a unique CRC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchId {
    /// First offset.
    pub base: i64,
    /// Last offset.
    pub last: i64,
    /// Partition leader epoch.
    pub epoch: i32,
    /// CRC-32C of the batch.
    pub crc: u32,
}

/// Every batch of `log`, in offset order (a read returns one segment at most, as in Kafka).
pub fn batch_ids(log: &Log) -> Vec<BatchId> {
    let (mut next, end) = (log.log_start_offset(), log.log_end_offset());
    let mut out = Vec::new();
    while next < end {
        let bytes = log.read(next, u32::MAX, end, true).expect("read log").records.read_to_vec().expect("read slice");
        let before = out.len();
        for (_, h) in BatchIter::new(&bytes) {
            if h.last_offset() >= next {
                out.push(BatchId { base: h.base_offset, last: h.last_offset(), epoch: h.partition_leader_epoch, crc: h.crc });
            }
        }
        match out.last() {
            Some(b) if out.len() > before => next = b.last + 1,
            _ => panic!("no batch at offset {next} of {} (log end {end})", log.topic_partition()),
        }
    }
    out
}

/// kill -9 in the middle of a write: half a batch after the last whole one, for recovery to cut.
pub fn tear_tail(log: &Log) {
    let Some(active) = log.segments().last().cloned() else { return };
    let mut f = std::fs::OpenOptions::new().append(true).open(active.log_path()).expect("open segment");
    let mut torn = Vec::new();
    torn.extend_from_slice(&log.log_end_offset().to_be_bytes());
    torn.extend_from_slice(&200i32.to_be_bytes());
    torn.extend_from_slice(&[0xab; 40]);
    f.write_all(&torn).expect("tear segment");
}

fn prefix_matches(ids: &[BatchId], below: i64, committed: &[BatchId], log_start: i64) -> Result<(), String> {
    let ours: Vec<&BatchId> = ids.iter().filter(|b| b.last < below).collect();
    let theirs: Vec<&BatchId> = committed.iter().filter(|b| b.last < below && b.base >= log_start).collect();
    if ours != theirs {
        return Err(format!("batches below {below} are {ours:?}, committed ones are {theirs:?}"));
    }
    Ok(())
}

impl Model {
    /// The invariants that hold after every step (see `replication_model.rs`).
    pub fn check_safety(&mut self) -> Result<(), String> {
        // Leaders first: what they expose below their high watermark is committed from now on.
        for r in &self.replicas {
            let Some(p) = r.partition.as_ref().filter(|p| p.is_leader()) else { continue };
            let log = p.log();
            let ids = batch_ids(log);
            let hw = log.high_watermark();
            // A leader the controller has replaced (a zombie cut off from it) may hold other data
            // than the committed log past its own high watermark, never below it. The controller's
            // current leader holds all of it.
            let current = p.leader_epoch() == self.ctl.epoch;
            let below = if current { self.committed_end } else { hw.min(self.committed_end) };
            prefix_matches(&ids, below, &self.committed, log.log_start_offset())
                .map_err(|e| format!("leader {} (epoch {}, HW {hw}) lost committed data: {e}", r.id, p.leader_epoch()))?;
            if hw > self.committed_end {
                let from = self.committed_end;
                for b in ids.iter().filter(|b| b.base >= from && b.last < hw) {
                    if b.base != self.committed_end {
                        return Err(format!("leader {}: committed batches are not contiguous at {}: {b:?}", r.id, self.committed_end));
                    }
                    self.committed.push(*b);
                    self.committed_end = b.last + 1;
                }
                if self.committed_end != hw {
                    return Err(format!("leader {}: high watermark {hw} is not at a batch boundary ({})", r.id, self.committed_end));
                }
            }
        }
        for r in &mut self.replicas {
            let Some(p) = &r.partition else { continue };
            let log = p.log();
            let hw = log.high_watermark();
            if hw < r.last_hw {
                return Err(format!("broker {}: high watermark moved back from {} to {hw}", r.id, r.last_hw));
            }
            r.last_hw = hw;
            let ids = batch_ids(log);
            prefix_matches(&ids, hw, &self.committed, log.log_start_offset())
                .map_err(|e| format!("broker {} (HW {hw}) disagrees with committed data: {e}", r.id))?;
            let cache = log.leader_epoch_cache();
            let entries = cache.entries();
            if entries.windows(2).any(|w| w[0].0 >= w[1].0 || w[0].1 >= w[1].1) {
                return Err(format!("broker {}: epoch cache not strictly increasing: {entries:?}", r.id));
            }
            for b in &ids {
                if cache.epoch_for_offset(b.base) != Some(b.epoch) {
                    return Err(format!("broker {}: batch {b:?} is in epoch {} by the cache {entries:?}", r.id, b.epoch));
                }
            }
            if self.ctl.isr.contains(&r.id) && !r.isolated {
                prefix_matches(&ids, self.committed_end, &self.committed, log.log_start_offset())
                    .map_err(|e| format!("broker {} is in the ISR {:?} without all committed data: {e}", r.id, self.ctl.isr))?;
            }
        }
        Ok(())
    }

    /// Whether every replica runs, knows the current leader epoch, is in the ISR, and holds the
    /// leader's log, epoch cache (but for an epoch the leader has not appended to yet) and HW.
    pub fn converged(&self) -> bool {
        if self.ctl.leader < 0 || self.ctl.isr.len() != self.replicas.len() {
            return false;
        }
        let Some(leader) = self.replicas.iter().find(|r| r.id == self.ctl.leader).and_then(|r| r.partition.clone()) else {
            return false;
        };
        let leader_log = leader.log();
        let leo = leader_log.log_end_offset();
        let want_batches = batch_ids(leader_log);
        let want_epochs: Vec<(i32, i64)> = leader_log.leader_epoch_cache().entries().into_iter().filter(|&(_, o)| o < leo).collect();
        for r in &self.replicas {
            let Some(p) = &r.partition else { return false };
            if r.isolated || r.pending.is_some() || p.leader_epoch() != self.ctl.epoch {
                return false;
            }
            let log = p.log();
            if log.log_end_offset() != leo || log.high_watermark() != leo || batch_ids(log) != want_batches {
                return false;
            }
            if r.id != self.ctl.leader {
                // A follower may still hold the entry of an epoch it led without appending, at its
                // log end: harmless (the next appended batch or its next leadership replaces it, as
                // in Kafka), and it has no records, so it is not part of what must converge.
                let epochs: Vec<(i32, i64)> = log.leader_epoch_cache().entries().into_iter().filter(|&(_, o)| o < leo).collect();
                if epochs != want_epochs {
                    return false;
                }
            }
        }
        true
    }
}
