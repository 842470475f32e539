//! The model's controller: the partition state in ZooKeeper (leader, leader epoch, ISR, partition
//! epoch) and the decisions Kafka 2.8's controller makes for one partition with unclean leader
//! election off.

use broker::partition::{AlterIsrResult, IsrProposal, LeadershipState};
use wire::ResponseError;

use super::REPLICAS;

/// `/brokers/topics/model/partitions/0/state` and the controller's view of it.
#[derive(Debug, Clone)]
pub struct Controller {
    /// Leader, -1 for none (offline).
    pub leader: i32,
    /// Leader epoch.
    pub epoch: i32,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// zkVersion of the state znode.
    pub partition_epoch: i32,
}

impl Controller {
    /// The state right after topic creation: the preferred replica leads epoch 0, all in sync.
    pub fn new() -> Controller {
        Controller { leader: REPLICAS[0], epoch: 0, isr: REPLICAS.to_vec(), partition_epoch: 0 }
    }

    /// What a LeaderAndIsr carries now.
    pub fn leadership(&self) -> LeadershipState {
        LeadershipState {
            leader: self.leader,
            leader_epoch: self.epoch,
            isr: self.isr.clone(),
            replicas: REPLICAS.to_vec(),
            controller_epoch: 1,
            partition_epoch: self.partition_epoch,
        }
    }

    fn write(&mut self, leader: i32, isr: Vec<i32>) {
        self.leader = leader;
        self.isr = isr;
        self.epoch += 1;
        self.partition_epoch += 1;
    }

    /// A broker's session ended (crash, pause, partition from ZooKeeper, controlled shutdown):
    /// Kafka's OfflineReplica transition — it leaves the ISR (unless it is the last member) and, if
    /// it led, another live ISR member is elected. `live` are the registered brokers without it.
    /// Returns whether the state changed (LeaderAndIsr goes out).
    pub fn broker_failed(&mut self, id: i32, live: &[i32]) -> bool {
        let live: Vec<i32> = live.iter().copied().filter(|&b| b != id).collect();
        let isr: Vec<i32> = if self.isr.len() > 1 { self.isr.iter().copied().filter(|&b| b != id).collect() } else { self.isr.clone() };
        if self.leader == id {
            let leader = REPLICAS.iter().copied().find(|b| isr.contains(b) && live.contains(b) && *b != id).unwrap_or(-1);
            self.write(leader, isr);
            true
        } else if isr != self.isr {
            let leader = self.leader;
            self.write(leader, isr);
            true
        } else {
            false
        }
    }

    /// A broker registered (start, or a new session): an offline partition gets a leader again if
    /// a live ISR member exists. Returns whether the state changed.
    pub fn broker_started(&mut self, _id: i32, live: &[i32]) -> bool {
        if self.leader >= 0 {
            return false;
        }
        match REPLICAS.iter().copied().find(|b| self.isr.contains(b) && live.contains(b)) {
            Some(leader) => {
                let isr = self.isr.clone();
                self.write(leader, isr);
                true
            }
            None => false,
        }
    }

    /// Preferred leader election: the first assigned replica leads if it is live and in sync.
    pub fn preferred_election(&mut self, live: &[i32]) -> bool {
        let preferred = REPLICAS[0];
        if self.leader == preferred || !self.isr.contains(&preferred) || !live.contains(&preferred) {
            return false;
        }
        let isr = self.isr.clone();
        self.write(preferred, isr);
        true
    }

    /// AlterIsr from broker `from` (Kafka 2.8's controller checks): only the current leader, in
    /// the current leader epoch, from the current partition epoch.
    pub fn alter_isr(&mut self, from: i32, p: &IsrProposal) -> AlterIsrResult {
        if from != self.leader || p.leader_epoch != self.epoch {
            return AlterIsrResult::Failed(ResponseError::FencedLeaderEpoch);
        }
        if p.partition_epoch != self.partition_epoch {
            return AlterIsrResult::Failed(ResponseError::InvalidUpdateVersion);
        }
        if !p.new_isr.contains(&from) || p.new_isr.iter().any(|b| !REPLICAS.contains(b)) {
            return AlterIsrResult::Failed(ResponseError::InvalidRequest);
        }
        self.isr = p.new_isr.clone();
        self.partition_epoch += 1;
        AlterIsrResult::Committed { leader_epoch: self.epoch, isr: self.isr.clone(), partition_epoch: self.partition_epoch }
    }
}
