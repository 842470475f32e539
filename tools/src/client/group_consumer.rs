//! A consumer whose partitions and start positions come from a consumer group, as Kafka's
//! `KafkaConsumer.subscribe` with a `group.id`: it joins through a [`GroupMember`] (or, on the
//! legacy `--zookeeper` path, takes every partition and keeps offsets in ZooKeeper through
//! OffsetFetch/OffsetCommit v0), starts each assigned partition at its committed offset (else
//! `auto.offset.reset`), hands out records, and commits what was handed out every
//! `auto.commit.interval.ms`, before a rebalance and on close.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::consumer::{Consumer, OffsetSpec, Subscription};
use super::error::ClientToolError;
use super::group::GroupMember;
use super::group_legacy;
use super::log::{log, Level};
use super::records::ConsumedRecord;

/// A (topic, partition) pair.
pub type Tp = (String, i32);

/// Where the group's assignment and offsets live.
pub enum Coordination {
    /// A member of a coordinator-managed group.
    Member(Box<GroupMember>),
    /// The legacy ZooKeeper consumer path: all partitions, offsets through v0 requests.
    Legacy {
        /// The group id offsets are stored under.
        group_id: String,
    },
}

/// Group consumer settings.
#[derive(Debug, Clone)]
pub struct GroupConsumerConfig {
    /// `auto.offset.reset`; `None` = `none`.
    pub auto_offset_reset: Option<OffsetSpec>,
    /// `enable.auto.commit` (true).
    pub auto_commit: bool,
    /// `auto.commit.interval.ms` (5000).
    pub auto_commit_interval: Duration,
    /// `exclude.internal.topics` for pattern subscriptions.
    pub exclude_internal: bool,
    /// How often subscribed topics are checked for new partitions or matches.
    pub metadata_check_interval: Duration,
}

impl Default for GroupConsumerConfig {
    fn default() -> Self {
        GroupConsumerConfig {
            auto_offset_reset: Some(OffsetSpec::Latest),
            auto_commit: true,
            auto_commit_interval: Duration::from_millis(5000),
            exclude_internal: true,
            metadata_check_interval: Duration::from_millis(3000),
        }
    }
}

/// Start positions for a new assignment: the committed offset, else the reset policy
/// (`Err` lists the partitions that have neither, as Kafka's `NoOffsetForPartitionException`).
pub fn start_positions(
    assignment: &[Tp],
    committed: &BTreeMap<Tp, i64>,
    reset: Option<OffsetSpec>,
) -> Result<Vec<(Tp, OffsetSpec)>, ClientToolError> {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for tp in assignment {
        match (committed.get(tp), reset) {
            (Some(off), _) => out.push((tp.clone(), OffsetSpec::Offset(*off))),
            (None, Some(spec)) => out.push((tp.clone(), spec)),
            (None, None) => missing.push(format!("{}-{}", tp.0, tp.1)),
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(ClientToolError::Other(format!(
            "org.apache.kafka.clients.consumer.NoOffsetForPartitionException: Undefined offset with no reset policy for partitions: [{}]",
            missing.join(", ")
        )))
    }
}

/// The consumer.
pub struct GroupConsumer {
    consumer: Consumer,
    coordination: Coordination,
    subscription: Subscription,
    cfg: GroupConsumerConfig,
    legacy_assigned: bool,
    joined_topics: Vec<String>,
    joined_counts: BTreeMap<String, usize>,
    next_metadata_check: Instant,
    consumed: BTreeMap<Tp, i64>,
    committed: BTreeMap<Tp, i64>,
    next_commit: Instant,
    pending: VecDeque<(String, ConsumedRecord)>,
}

impl GroupConsumer {
    /// Wrap `consumer` (its cluster is reused); `subscription` is a topic or a pattern.
    pub fn new(
        consumer: Consumer,
        coordination: Coordination,
        subscription: Subscription,
        cfg: GroupConsumerConfig,
    ) -> Self {
        let now = Instant::now();
        GroupConsumer {
            consumer,
            coordination,
            subscription,
            next_commit: now + cfg.auto_commit_interval,
            next_metadata_check: now + cfg.metadata_check_interval,
            cfg,
            legacy_assigned: false,
            joined_topics: Vec::new(),
            joined_counts: BTreeMap::new(),
            consumed: BTreeMap::new(),
            committed: BTreeMap::new(),
            pending: VecDeque::new(),
        }
    }

    /// The group id.
    pub fn group_id(&self) -> &str {
        match &self.coordination {
            Coordination::Member(m) => m.group_id(),
            Coordination::Legacy { group_id } => group_id,
        }
    }

    /// Topics the subscription currently covers, and their partition counts.
    async fn subscribed_topics(&mut self) -> Result<BTreeMap<String, usize>, ClientToolError> {
        let cluster = self.consumer.cluster_mut();
        match &self.subscription {
            Subscription::Topic(t) => {
                cluster.refresh(Some(std::slice::from_ref(t)), true).await?;
                let n = cluster
                    .topic(t)
                    .filter(|i| i.error == 0)
                    .map(|i| i.partitions.len())
                    .unwrap_or(0);
                Ok(BTreeMap::from([(t.clone(), n)]))
            }
            Subscription::Pattern(re) => {
                cluster.refresh(None, false).await?;
                Ok(cluster
                    .topics()
                    .iter()
                    .filter(|(name, info)| {
                        info.error == 0
                            && !(self.cfg.exclude_internal && info.internal)
                            && re.is_match(name)
                    })
                    .map(|(name, info)| (name.clone(), info.partitions.len()))
                    .collect())
            }
            Subscription::Partition { topic, .. } => Ok(BTreeMap::from([(topic.clone(), 0)])),
            Subscription::Assigned(tps) => Ok(tps.iter().map(|(t, _)| (t.clone(), 0)).collect()),
        }
    }

    fn needs_join(&mut self) -> bool {
        match &mut self.coordination {
            Coordination::Member(m) => m.needs_join(),
            Coordination::Legacy { .. } => !self.legacy_assigned,
        }
    }

    /// Join (or take all partitions on the legacy path) and position the consumer; `false`
    /// when the deadline passed first.
    async fn rejoin(&mut self, deadline: Instant) -> Result<bool, ClientToolError> {
        // Commit what was handed out before giving partitions up (Kafka's onJoinPrepare).
        if self.cfg.auto_commit {
            if let Err(e) = self.commit().await {
                tracing::debug!(error = %e, "commit before rebalance failed");
            }
        }
        let counts = self.subscribed_topics().await?;
        let topics: Vec<String> = counts.keys().cloned().collect();
        let assignment: Vec<Tp> = match &mut self.coordination {
            Coordination::Member(m) => {
                match m
                    .join(self.consumer.cluster_mut(), &topics, deadline)
                    .await?
                {
                    Some(a) => a,
                    None => return Ok(false),
                }
            }
            Coordination::Legacy { .. } => {
                let cluster = self.consumer.cluster_mut();
                let mut all = Vec::new();
                for t in &topics {
                    if let Some(info) = cluster.topic(t) {
                        all.extend(info.partitions.keys().map(|p| (t.clone(), *p)));
                    }
                }
                all
            }
        };
        self.joined_topics = topics;
        self.joined_counts = counts;
        let committed = match &mut self.coordination {
            Coordination::Member(m) => {
                m.fetch_committed(self.consumer.cluster_mut(), &assignment)
                    .await?
            }
            Coordination::Legacy { group_id } => {
                let g = group_id.clone();
                group_legacy::fetch_v0(self.consumer.cluster_mut(), &g, &assignment).await?
            }
        };
        let starts = start_positions(&assignment, &committed, self.cfg.auto_offset_reset)?;
        self.consumed.retain(|tp, _| assignment.contains(tp));
        self.committed = committed;
        // Every partition restarts at its committed offset (Kafka's eager rebalance), so
        // records fetched but not handed out would come again: drop them.
        self.pending.clear();
        self.consumer.assign(starts);
        if matches!(self.coordination, Coordination::Legacy { .. }) {
            self.legacy_assigned = true;
        }
        Ok(true)
    }

    /// Whether the subscribed topics or their partition counts changed since the join (a new
    /// pattern match, partitions added); the member then rejoins so the leader reassigns.
    async fn metadata_changed(&mut self) -> bool {
        if Instant::now() < self.next_metadata_check {
            return false;
        }
        self.next_metadata_check = Instant::now() + self.cfg.metadata_check_interval;
        match self.subscribed_topics().await {
            Ok(now) => now != self.joined_counts,
            Err(_) => false,
        }
    }

    /// Commit the positions of the records handed out since the last commit.
    pub async fn commit(&mut self) -> Result<(), ClientToolError> {
        let todo: BTreeMap<Tp, i64> = self
            .consumed
            .iter()
            .filter(|(tp, off)| self.committed.get(*tp) != Some(off))
            .map(|(tp, off)| (tp.clone(), *off))
            .collect();
        if todo.is_empty() {
            return Ok(());
        }
        match &mut self.coordination {
            Coordination::Member(m) => m.commit(self.consumer.cluster_mut(), &todo).await?,
            Coordination::Legacy { group_id } => {
                let g = group_id.clone();
                group_legacy::commit_v0(self.consumer.cluster_mut(), &g, &todo).await?
            }
        }
        self.committed.extend(todo);
        Ok(())
    }

    async fn maybe_auto_commit(&mut self) {
        if !self.cfg.auto_commit || Instant::now() < self.next_commit {
            return;
        }
        self.next_commit = Instant::now() + self.cfg.auto_commit_interval;
        if let Err(e) = self.commit().await {
            log(
                Level::Warn,
                &format!(
                    "[Consumer groupId={}] Asynchronous auto-commit of offsets failed: {e}",
                    self.group_id()
                ),
                "org.apache.kafka.clients.consumer.internals.ConsumerCoordinator",
            );
        }
    }

    fn take(&mut self, max_records: usize) -> Vec<(String, ConsumedRecord)> {
        let n = self.pending.len().min(max_records.max(1));
        let out: Vec<(String, ConsumedRecord)> = self.pending.drain(..n).collect();
        for (t, r) in &out {
            self.consumed.insert((t.clone(), r.partition), r.offset + 1);
        }
        out
    }

    /// Wait up to `timeout` for at most `max_records` records of the assigned partitions.
    pub async fn poll(
        &mut self,
        timeout: Duration,
        max_records: usize,
    ) -> Result<Vec<(String, ConsumedRecord)>, ClientToolError> {
        let deadline = Instant::now() + timeout;
        loop {
            if !self.pending.is_empty() {
                return Ok(self.take(max_records));
            }
            self.maybe_auto_commit().await;
            if !self.needs_join() && self.metadata_changed().await {
                if let Coordination::Member(m) = &mut self.coordination {
                    m.request_rejoin();
                } else {
                    self.legacy_assigned = false;
                }
            }
            if self.needs_join() && !self.rejoin(deadline).await? {
                return Ok(Vec::new());
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            // Short slices, so rebalances and commits are noticed while waiting.
            let slice = (deadline - now).min(Duration::from_millis(1000));
            let records = self.consumer.poll(slice).await?;
            self.pending.extend(records);
        }
    }

    /// Commit what was handed out, then leave the group.
    pub async fn close(&mut self) {
        if self.cfg.auto_commit {
            // A second try reconnects when an interrupted poll left the connection unusable.
            let first = self.commit().await;
            if let Err(e) = if first.is_err() {
                self.commit().await
            } else {
                first
            } {
                log(
                    Level::Warn,
                    &format!(
                        "[Consumer groupId={}] Synchronous auto-commit of offsets failed: {e}",
                        self.group_id()
                    ),
                    "org.apache.kafka.clients.consumer.internals.ConsumerCoordinator",
                );
            }
        }
        if let Coordination::Member(m) = &mut self.coordination {
            m.leave().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_from_commits_then_policy() {
        let a = vec![("t".to_string(), 0), ("t".to_string(), 1)];
        let committed = BTreeMap::from([(("t".to_string(), 1), 7)]);
        let s = start_positions(&a, &committed, Some(OffsetSpec::Earliest)).unwrap();
        assert_eq!(
            s,
            vec![
                (("t".to_string(), 0), OffsetSpec::Earliest),
                (("t".to_string(), 1), OffsetSpec::Offset(7))
            ]
        );
        let e = start_positions(&a, &committed, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("Undefined offset with no reset policy for partitions: [t-0]"),
            "{e}"
        );
    }
}
