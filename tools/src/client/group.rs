//! A consumer group member, as Kafka's `ConsumerCoordinator` runs it: find the coordinator,
//! JoinGroup (re-joining with the id a MEMBER_ID_REQUIRED answer carries), compute the
//! assignment when elected leader, SyncGroup, then heartbeat from a background task that
//! flags rebalances and fencing. Offsets are fetched for a new assignment and committed with
//! the member's generation; LeaveGroup on close lets the others rebalance at once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use wire::kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use wire::kafka_protocol::messages::leave_group_request::MemberIdentity;
use wire::kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use wire::kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, GroupId, JoinGroupRequest, LeaveGroupRequest,
    OffsetCommitRequest, OffsetFetchRequest, SyncGroupRequest,
};
use wire::kafka_protocol::protocol::StrBytes;
use wire::{KafkaConnection, ResponseError};

use super::cluster::Cluster;
use super::error::{error_name, ClientToolError};
use super::group_assignor::{Assignor, MemberSubscription};
use super::group_heartbeat::{
    reaction, spawn_heartbeat, HeartbeatTarget, Reaction, HB_COORDINATOR_LOST, HB_OK, HB_RESET,
};
use super::group_protocol::{
    decode_assignment, decode_subscription, offset_commit_topics, offset_fetch_topics, encode_assignment, encode_subscription, Assignment,
    Subscription, CONSUMER_PROTOCOL_TYPE, CONSUMER_PROTOCOL_VERSION,
};

/// A (topic, partition) pair.
pub type Tp = (String, i32);

/// Group settings (Kafka consumer configs of the same names).
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// `group.id`.
    pub group_id: String,
    /// `client.id`.
    pub client_id: String,
    /// `session.timeout.ms` (10000).
    pub session_timeout: Duration,
    /// `max.poll.interval.ms` (300000), sent as the rebalance timeout.
    pub rebalance_timeout: Duration,
    /// `heartbeat.interval.ms` (3000).
    pub heartbeat_interval: Duration,
    /// `partition.assignment.strategy`, in preference order.
    pub assignors: Vec<Assignor>,
    /// `retry.backoff.ms`.
    pub retry_backoff: Duration,
}

impl GroupConfig {
    /// Kafka's defaults for `group_id`/`client_id`.
    pub fn new(group_id: &str, client_id: &str) -> Self {
        GroupConfig {
            group_id: group_id.to_string(),
            client_id: client_id.to_string(),
            session_timeout: Duration::from_millis(10_000),
            rebalance_timeout: Duration::from_millis(300_000),
            heartbeat_interval: Duration::from_millis(3_000),
            assignors: vec![Assignor::Range],
            retry_backoff: Duration::from_millis(100),
        }
    }
}

/// The coordinator this member talks to.
struct Coordinator {
    addr: String,
    conn: KafkaConnection,
}

/// A member of one consumer group.
pub struct GroupMember {
    cfg: GroupConfig,
    coordinator: Option<Coordinator>,
    member_id: String,
    generation: i32,
    assignment: Vec<Tp>,
    needs_join: bool,
    heartbeat: Option<(JoinHandle<()>, Arc<AtomicU8>)>,
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn kafka_err(code: i16) -> Option<ResponseError> {
    ResponseError::try_from_code(code)
}

impl GroupMember {
    /// A member that has not joined yet.
    pub fn new(cfg: GroupConfig) -> Self {
        GroupMember {
            cfg,
            coordinator: None,
            member_id: String::new(),
            generation: -1,
            assignment: Vec::new(),
            needs_join: true,
            heartbeat: None,
        }
    }

    /// The group id.
    pub fn group_id(&self) -> &str {
        &self.cfg.group_id
    }

    /// The member id the coordinator gave (empty before joining).
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The current generation (-1 before joining).
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// Partitions of the current generation.
    pub fn assignment(&self) -> &[Tp] {
        &self.assignment
    }

    /// Whether a (re)join is due, also taking in what the heartbeat task saw.
    pub fn needs_join(&mut self) -> bool {
        if let Some((handle, flag)) = &self.heartbeat {
            let seen = flag.load(Ordering::Acquire);
            if seen != HB_OK || handle.is_finished() {
                tracing::debug!(group = %self.cfg.group_id, signal = seen, "heartbeat asks for a rejoin");
                match seen {
                    HB_RESET => self.reset_member(),
                    HB_COORDINATOR_LOST => self.coordinator = None,
                    _ => {}
                }
                self.stop_heartbeat();
                self.needs_join = true;
            }
        }
        self.needs_join
    }

    /// Ask for a rejoin at the next poll (subscription or partition count changed).
    pub fn request_rejoin(&mut self) {
        self.needs_join = true;
    }

    fn reset_member(&mut self) {
        self.member_id.clear();
        self.generation = -1;
    }

    fn stop_heartbeat(&mut self) {
        if let Some((handle, _)) = self.heartbeat.take() {
            handle.abort();
        }
    }

    async fn ensure_coordinator(&mut self, cluster: &mut Cluster) -> Result<(), ClientToolError> {
        if self
            .coordinator
            .as_ref()
            .is_some_and(|c| !c.conn.is_broken())
        {
            return Ok(());
        }
        self.coordinator = None;
        if cluster.broker_ids().is_empty() {
            cluster.refresh(Some(&[]), false).await?;
        }
        let ids = cluster.broker_ids();
        let Some(&any) = ids.first() else {
            return Err(ClientToolError::Network("no broker known".into()));
        };
        let conn = cluster.connection(any).await?;
        let version = conn.require_version(ApiKey::FindCoordinator as i16, 0, 3)?;
        let req = FindCoordinatorRequest::default().with_key(s(&self.cfg.group_id));
        let resp = match conn.send(&req, version).await {
            Ok(r) => r,
            Err(e) => {
                cluster.disconnect(any);
                return Err(e.into());
            }
        };
        if let Some(e) = kafka_err(resp.error_code) {
            return Err(ClientToolError::Kafka(e));
        }
        let addr = format!("{}:{}", resp.host.as_str(), resp.port);
        let mut conn =
            KafkaConnection::connect(&addr, &self.cfg.client_id, Duration::from_secs(10)).await?;
        // A JoinGroup may be parked for the whole rebalance timeout.
        conn.set_request_timeout(self.cfg.rebalance_timeout + Duration::from_secs(5));
        conn.negotiate().await?;
        self.coordinator = Some(Coordinator { addr, conn });
        Ok(())
    }

    fn conn(&mut self) -> Result<&mut KafkaConnection, ClientToolError> {
        self.coordinator
            .as_mut()
            .map(|c| &mut c.conn)
            .ok_or_else(|| ClientToolError::Network("coordinator unknown".into()))
    }

    /// Join (or rejoin) the group for `topics` and return the new assignment. Gives up with
    /// `Ok(None)` once `deadline` has passed between steps (the next call starts over).
    pub async fn join(
        &mut self,
        cluster: &mut Cluster,
        topics: &[String],
        deadline: Instant,
    ) -> Result<Option<Vec<Tp>>, ClientToolError> {
        self.stop_heartbeat();
        loop {
            if Instant::now() >= deadline {
                return Ok(None);
            }
            match self.join_once(cluster, topics).await {
                Ok(a) => {
                    self.assignment = a.clone();
                    self.needs_join = false;
                    self.start_heartbeat().await;
                    return Ok(Some(a));
                }
                Err(ClientToolError::Kafka(e)) => match reaction(e) {
                    Reaction::FindCoordinator => self.coordinator = None,
                    Reaction::Retry | Reaction::Rejoin => {}
                    Reaction::ResetAndRejoin => self.reset_member(),
                    Reaction::Fatal => return Err(ClientToolError::Kafka(e)),
                },
                Err(ClientToolError::Network(m)) | Err(ClientToolError::Timeout(m)) => {
                    tracing::debug!(error = %m, "group coordinator unreachable");
                    self.coordinator = None;
                }
                Err(e) => return Err(e),
            }
            tokio::time::sleep(self.cfg.retry_backoff).await;
        }
    }

    async fn join_once(
        &mut self,
        cluster: &mut Cluster,
        topics: &[String],
    ) -> Result<Vec<Tp>, ClientToolError> {
        self.ensure_coordinator(cluster).await?;
        let owned = Assignment::from_partitions(&self.assignment).partitions;
        let metadata = encode_subscription(
            &Subscription {
                topics: topics.to_vec(),
                user_data: None,
                owned_partitions: owned,
            },
            CONSUMER_PROTOCOL_VERSION,
        );
        let protocols: Vec<JoinGroupRequestProtocol> = self
            .cfg
            .assignors
            .iter()
            .map(|a| {
                JoinGroupRequestProtocol::default()
                    .with_name(s(a.name()))
                    .with_metadata(metadata.clone().into())
            })
            .collect();
        let cfg = self.cfg.clone();
        let mut member_id = self.member_id.clone();
        let resp = loop {
            let conn = self.conn()?;
            let version = conn.require_version(ApiKey::JoinGroup as i16, 0, 7)?;
            let mut req = JoinGroupRequest::default()
                .with_group_id(GroupId(s(&cfg.group_id)))
                .with_session_timeout_ms(cfg.session_timeout.as_millis() as i32)
                .with_member_id(s(&member_id))
                .with_protocol_type(s(CONSUMER_PROTOCOL_TYPE))
                .with_protocols(protocols.clone());
            if version >= 1 {
                req.rebalance_timeout_ms = cfg.rebalance_timeout.as_millis() as i32;
            }
            let resp = conn.send(&req, version).await?;
            match kafka_err(resp.error_code) {
                // KIP-394: the coordinator hands out the id first; join again with it.
                Some(ResponseError::MemberIdRequired) => {
                    member_id = resp.member_id.to_string();
                    self.member_id = member_id.clone();
                }
                Some(e) => return Err(ClientToolError::Kafka(e)),
                None => break resp,
            }
        };
        self.member_id = resp.member_id.to_string();
        self.generation = resp.generation_id;
        let protocol = resp
            .protocol_name
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default();
        let mut assignments: Vec<SyncGroupRequestAssignment> = Vec::new();
        if resp.leader.as_str() == self.member_id {
            let assignor = Assignor::from_name(&protocol).ok_or_else(|| {
                ClientToolError::Other(format!(
                    "Coordinator selected invalid assignment protocol: {protocol}"
                ))
            })?;
            let mut members = Vec::new();
            for m in &resp.members {
                let sub = decode_subscription(&m.metadata)
                    .map_err(|e| ClientToolError::Other(e.to_string()))?;
                members.push(MemberSubscription {
                    member_id: m.member_id.to_string(),
                    group_instance_id: m.group_instance_id.as_ref().map(|i| i.to_string()),
                    topics: sub.topics,
                });
            }
            let mut all_topics: Vec<String> = members
                .iter()
                .flat_map(|m| m.topics.iter().cloned())
                .collect();
            all_topics.sort();
            all_topics.dedup();
            cluster.refresh(Some(&all_topics), false).await?;
            let counts: BTreeMap<String, i32> = all_topics
                .iter()
                .filter_map(|t| {
                    let info = cluster.topic(t).filter(|i| i.error == 0)?;
                    Some((t.clone(), info.partitions.len() as i32))
                })
                .collect();
            for (member, tps) in assignor.assign(&counts, &members) {
                let bytes = encode_assignment(
                    &Assignment::from_partitions(&tps),
                    CONSUMER_PROTOCOL_VERSION,
                );
                assignments.push(
                    SyncGroupRequestAssignment::default()
                        .with_member_id(s(&member))
                        .with_assignment(bytes.into()),
                );
            }
        }
        let (generation, member) = (self.generation, self.member_id.clone());
        let conn = self.conn()?;
        let version = conn.require_version(ApiKey::SyncGroup as i16, 0, 5)?;
        let mut req = SyncGroupRequest::default()
            .with_group_id(GroupId(s(&cfg.group_id)))
            .with_generation_id(generation)
            .with_member_id(s(&member))
            .with_assignments(assignments);
        if version >= 5 {
            req.protocol_type = Some(s(CONSUMER_PROTOCOL_TYPE));
            req.protocol_name = Some(s(&protocol));
        }
        let resp = conn.send(&req, version).await?;
        if let Some(e) = kafka_err(resp.error_code) {
            return Err(ClientToolError::Kafka(e));
        }
        let assignment = decode_assignment(&resp.assignment)
            .map_err(|e| ClientToolError::Other(e.to_string()))?;
        Ok(assignment.topic_partitions())
    }

    async fn start_heartbeat(&mut self) {
        let Some(addr) = self.coordinator.as_ref().map(|c| c.addr.clone()) else {
            return;
        };
        self.heartbeat = Some(spawn_heartbeat(HeartbeatTarget {
            addr,
            client_id: self.cfg.client_id.clone(),
            group_id: self.cfg.group_id.clone(),
            member_id: self.member_id.clone(),
            generation: self.generation,
            interval: self.cfg.heartbeat_interval,
            session_timeout: self.cfg.session_timeout,
        }));
    }

    /// Committed offsets of `tps` (OffsetFetch at the coordinator); partitions without a
    /// commit are left out.
    pub async fn fetch_committed(
        &mut self,
        cluster: &mut Cluster,
        tps: &[Tp],
    ) -> Result<BTreeMap<Tp, i64>, ClientToolError> {
        self.ensure_coordinator(cluster).await?;
        let group = self.cfg.group_id.clone();
        let conn = self.conn()?;
        let version = conn.require_version(ApiKey::OffsetFetch as i16, 1, 7)?;
        let req = OffsetFetchRequest::default()
            .with_group_id(GroupId(s(&group)))
            .with_topics(Some(offset_fetch_topics(tps)));
        let resp = conn.send(&req, version).await?;
        if let Some(e) = kafka_err(resp.error_code) {
            return Err(ClientToolError::Kafka(e));
        }
        let mut out = BTreeMap::new();
        for t in resp.topics {
            for p in t.partitions {
                if let Some(e) = kafka_err(p.error_code) {
                    return Err(ClientToolError::Kafka(e));
                }
                if p.committed_offset >= 0 {
                    out.insert(
                        (t.name.0.to_string(), p.partition_index),
                        p.committed_offset,
                    );
                }
            }
        }
        Ok(out)
    }

    /// Commit `offsets` with this member's generation. A rebalance or fencing error marks
    /// the member for rejoining and is returned.
    pub async fn commit(
        &mut self,
        cluster: &mut Cluster,
        offsets: &BTreeMap<Tp, i64>,
    ) -> Result<(), ClientToolError> {
        if offsets.is_empty() {
            return Ok(());
        }
        self.ensure_coordinator(cluster).await?;
        let (group, generation, member) = (
            self.cfg.group_id.clone(),
            self.generation,
            self.member_id.clone(),
        );
        let conn = self.conn()?;
        let version = conn.require_version(ApiKey::OffsetCommit as i16, 2, 8)?;
        let topics = offset_commit_topics(offsets);
        let req = OffsetCommitRequest::default()
            .with_group_id(GroupId(s(&group)))
            .with_generation_id_or_member_epoch(generation)
            .with_member_id(s(&member))
            .with_topics(topics);
        let resp = match conn.send(&req, version).await {
            Ok(r) => r,
            Err(e) => {
                self.coordinator = None;
                return Err(e.into());
            }
        };
        let first = resp
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .find_map(|p| kafka_err(p.error_code));
        if let Some(e) = first {
            match reaction(e) {
                Reaction::FindCoordinator => self.coordinator = None,
                Reaction::Rejoin => self.needs_join = true,
                Reaction::ResetAndRejoin => {
                    self.reset_member();
                    self.needs_join = true;
                }
                Reaction::Retry | Reaction::Fatal => {}
            }
            tracing::debug!(error = %error_name(e), "offset commit failed");
            return Err(ClientToolError::Kafka(e));
        }
        Ok(())
    }

    /// LeaveGroup (best effort) and stop heartbeating.
    pub async fn leave(&mut self) {
        self.stop_heartbeat();
        if self.member_id.is_empty() {
            return;
        }
        let (group, member) = (self.cfg.group_id.clone(), self.member_id.clone());
        if let Ok(conn) = self.conn() {
            if let Some(version) = conn.version_in(ApiKey::LeaveGroup as i16, 0, 4) {
                let mut req = LeaveGroupRequest::default().with_group_id(GroupId(s(&group)));
                if version >= 3 {
                    req.members = vec![MemberIdentity::default().with_member_id(s(&member))];
                } else {
                    req.member_id = s(&member);
                }
                let _ = conn.send(&req, version).await;
            }
        }
        self.reset_member();
        self.needs_join = true;
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        self.stop_heartbeat();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = GroupConfig::new("g", "c");
        assert_eq!(c.session_timeout, Duration::from_secs(10));
        assert_eq!(c.heartbeat_interval, Duration::from_secs(3));
        assert_eq!(c.assignors, vec![Assignor::Range]);
        let mut m = GroupMember::new(c);
        assert!(m.needs_join());
        assert_eq!(m.generation(), -1);
        assert_eq!(m.member_id(), "");
    }
}
