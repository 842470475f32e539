//! The admin side of consumer groups, as Kafka's `AdminClient` does it for
//! `kafka-consumer-groups`: find a group's coordinator, then ListGroups (every broker),
//! DescribeGroups, OffsetFetch, OffsetCommit, DeleteGroups and OffsetDelete against it, plus
//! ListOffsets at partition leaders. Coordinator errors (not available, moved, loading) are
//! retried with backoff until the tool's `--timeout`, like the admin client's calls.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use wire::kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use wire::kafka_protocol::messages::{
    ApiKey, DeleteGroupsRequest, DescribeGroupsRequest, FindCoordinatorRequest, GroupId,
    ListGroupsRequest, OffsetCommitRequest, OffsetDeleteRequest, OffsetFetchRequest, TopicName,
};
use wire::kafka_protocol::protocol::StrBytes;
use wire::{KafkaConnection, ResponseError};

use super::cluster::Cluster;
use super::error::ClientToolError;
use super::group_protocol::{decode_assignment, offset_commit_topics, CONSUMER_PROTOCOL_TYPE};

/// A (topic, partition) pair.
pub type Tp = (String, i32);

/// A broker as the admin tool prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Broker id.
    pub id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
}

/// One group from ListGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    /// Group id.
    pub group_id: String,
    /// Embedded protocol type (`consumer`, or empty for offset-only groups).
    pub protocol_type: String,
    /// State name (ListGroups v4+; empty from older brokers).
    pub state: String,
}

/// One member from DescribeGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// Member id.
    pub member_id: String,
    /// Static member instance id.
    pub group_instance_id: Option<String>,
    /// Client id of the member's requests.
    pub client_id: String,
    /// The member's address as the broker saw it (`/127.0.0.1`).
    pub host: String,
    /// Assigned partitions (decoded from the consumer-protocol assignment), sorted.
    pub assignment: Vec<Tp>,
}

/// A group from DescribeGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// Group id.
    pub group_id: String,
    /// State name (`Dead` for an unknown group).
    pub state: String,
    /// Protocol type.
    pub protocol_type: String,
    /// Chosen assignor (only for Stable groups).
    pub assignor: String,
    /// Members.
    pub members: Vec<MemberDescription>,
    /// The coordinator that answered.
    pub coordinator: Node,
}

/// Errors that mean "ask FindCoordinator again and retry".
fn coordinator_retriable(e: &ClientToolError) -> bool {
    match e {
        ClientToolError::Kafka(k) => matches!(
            k,
            ResponseError::CoordinatorNotAvailable
                | ResponseError::NotCoordinator
                | ResponseError::CoordinatorLoadInProgress
        ),
        ClientToolError::Network(_) | ClientToolError::Timeout(_) => true,
        ClientToolError::MetadataTimeout { .. } | ClientToolError::Other(_) => false,
    }
}

fn check(code: i16) -> Result<(), ClientToolError> {
    match ResponseError::try_from_code(code) {
        None => Ok(()),
        Some(e) => Err(ClientToolError::Kafka(e)),
    }
}

fn name(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// Retry a coordinator call until the admin deadline: `$call` is an expression evaluated
/// anew each round (it finds the coordinator itself).
macro_rules! with_retry {
    ($admin:expr, $group:expr, $what:expr, $call:expr) => {{
        let deadline = Instant::now() + $admin.timeout;
        let mut tries = 0u32;
        loop {
            tries += 1;
            match $call {
                Err(e) if coordinator_retriable(&e) => {
                    $admin.coordinators.remove($group);
                    if Instant::now() + $admin.retry_backoff >= deadline {
                        break Err(ClientToolError::Timeout(format!(
                            "Call(callName={}) timed out after {} attempt(s) (last error: {})",
                            $what, tries, e
                        )));
                    }
                    tokio::time::sleep($admin.retry_backoff).await;
                }
                other => break other,
            }
        }
    }};
}

/// Admin connection to a cluster for group operations.
pub struct GroupAdmin {
    cluster: Cluster,
    timeout: Duration,
    retry_backoff: Duration,
    coordinators: HashMap<String, Node>,
}

impl GroupAdmin {
    /// An admin over `bootstrap` whose calls give up after `timeout` (`--timeout`).
    pub fn new(bootstrap: &str, timeout: Duration) -> Self {
        let mut cluster = Cluster::new(bootstrap, "adminclient-1", Duration::from_secs(30));
        cluster.set_log_prefix("AdminClient clientId=adminclient-1".to_string());
        GroupAdmin {
            cluster,
            timeout,
            retry_backoff: Duration::from_millis(100),
            coordinators: HashMap::new(),
        }
    }

    /// The underlying cluster view (metadata for topic lookups).
    pub fn cluster(&mut self) -> &mut Cluster {
        &mut self.cluster
    }

    /// Learn the brokers (and optionally topics) from a Metadata request.
    pub async fn refresh(&mut self, topics: Option<&[String]>) -> Result<(), ClientToolError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.cluster.refresh(topics.or(Some(&[])), false).await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() + self.retry_backoff < deadline => {
                    tracing::debug!(error = %e, "metadata failed; retrying");
                    tokio::time::sleep(self.retry_backoff).await;
                }
                // No broker answered in time: what the admin client reports then.
                Err(ClientToolError::Network(_)) => {
                    return Err(ClientToolError::Timeout(
                        "Timed out waiting for a node assignment.".into(),
                    ))
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn try_find_coordinator(&mut self, group: &str) -> Result<Node, ClientToolError> {
        if let Some(n) = self.coordinators.get(group) {
            return Ok(n.clone());
        }
        if self.cluster.broker_ids().is_empty() {
            self.cluster.refresh(Some(&[]), false).await?;
        }
        let ids = self.cluster.broker_ids();
        let Some(&any) = ids.first() else {
            return Err(ClientToolError::Network("no broker known".into()));
        };
        let conn = self.cluster.connection(any).await?;
        let version = conn.require_version(ApiKey::FindCoordinator as i16, 0, 3)?;
        let mut req = FindCoordinatorRequest::default().with_key(name(group));
        if version >= 1 {
            req.key_type = 0;
        }
        let resp = match conn.send(&req, version).await {
            Ok(r) => r,
            Err(e) => {
                self.cluster.disconnect(any);
                return Err(e.into());
            }
        };
        check(resp.error_code)?;
        let node = Node {
            id: resp.node_id.0,
            host: resp.host.to_string(),
            port: resp.port,
        };
        if !self.cluster.broker_ids().contains(&node.id) {
            self.cluster.refresh(Some(&[]), false).await?;
        }
        self.coordinators.insert(group.to_string(), node.clone());
        Ok(node)
    }

    /// The coordinator of `group`, retrying COORDINATOR_NOT_AVAILABLE until the deadline.
    pub async fn find_coordinator(&mut self, group: &str) -> Result<Node, ClientToolError> {
        with_retry!(
            self,
            group,
            "findCoordinator",
            self.try_find_coordinator(group).await
        )
    }

    async fn coordinator_conn(
        &mut self,
        group: &str,
    ) -> Result<(Node, &mut KafkaConnection), ClientToolError> {
        let node = self.try_find_coordinator(group).await?;
        let conn = self.cluster.connection(node.id).await?;
        Ok((node, conn))
    }

    /// Every group any broker coordinates whose protocol type is `consumer` or empty (as
    /// `Admin.listConsumerGroups`), filtered to `states` when non-empty; sorted by id.
    pub async fn list_groups(
        &mut self,
        states: &[String],
    ) -> Result<Vec<GroupListing>, ClientToolError> {
        self.refresh(None).await?;
        let mut out: BTreeMap<String, GroupListing> = BTreeMap::new();
        for id in self.cluster.broker_ids() {
            let deadline = Instant::now() + self.timeout;
            let groups = loop {
                match self.list_groups_at(id, states).await {
                    Err(e)
                        if coordinator_retriable(&e)
                            && Instant::now() + self.retry_backoff < deadline =>
                    {
                        tokio::time::sleep(self.retry_backoff).await;
                    }
                    other => break other?,
                }
            };
            for g in groups {
                out.insert(g.group_id.clone(), g);
            }
        }
        Ok(out.into_values().collect())
    }

    async fn list_groups_at(
        &mut self,
        id: i32,
        states: &[String],
    ) -> Result<Vec<GroupListing>, ClientToolError> {
        let conn = self.cluster.connection(id).await?;
        let version = conn.require_version(ApiKey::ListGroups as i16, 0, 4)?;
        let mut req = ListGroupsRequest::default();
        if version >= 4 {
            req.states_filter = states.iter().map(|s| name(s)).collect();
        }
        let resp = match conn.send(&req, version).await {
            Ok(r) => r,
            Err(e) => {
                self.cluster.disconnect(id);
                return Err(e.into());
            }
        };
        check(resp.error_code)?;
        Ok(resp
            .groups
            .into_iter()
            .map(|g| GroupListing {
                group_id: g.group_id.0.to_string(),
                protocol_type: g.protocol_type.to_string(),
                state: g.group_state.to_string(),
            })
            .filter(|g| g.protocol_type.is_empty() || g.protocol_type == CONSUMER_PROTOCOL_TYPE)
            .filter(|g| {
                states.is_empty()
                    || g.state.is_empty()
                    || states.iter().any(|s| s.eq_ignore_ascii_case(&g.state))
            })
            .collect())
    }

    async fn try_describe(&mut self, group: &str) -> Result<GroupDescription, ClientToolError> {
        let (node, conn) = self.coordinator_conn(group).await?;
        let version = conn.require_version(ApiKey::DescribeGroups as i16, 0, 5)?;
        let req = DescribeGroupsRequest::default().with_groups(vec![GroupId(name(group))]);
        let resp = conn.send(&req, version).await?;
        let g = resp
            .groups
            .into_iter()
            .find(|g| g.group_id.0.as_str() == group)
            .ok_or_else(|| {
                ClientToolError::Other(format!("DescribeGroups answer lacks group {group}"))
            })?;
        check(g.error_code)?;
        let protocol_type = g.protocol_type.to_string();
        if !protocol_type.is_empty() && protocol_type != CONSUMER_PROTOCOL_TYPE {
            return Err(ClientToolError::Other(format!(
                "GroupId {group} is not a consumer group ({protocol_type})."
            )));
        }
        let mut members = Vec::new();
        for m in g.members {
            let assignment = decode_assignment(&m.member_assignment)
                .map_err(|e| ClientToolError::Other(e.to_string()))?
                .topic_partitions();
            members.push(MemberDescription {
                member_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.map(|s| s.to_string()),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                assignment,
            });
        }
        Ok(GroupDescription {
            group_id: group.to_string(),
            state: g.group_state.to_string(),
            protocol_type,
            assignor: g.protocol_data.to_string(),
            members,
            coordinator: node,
        })
    }

    /// DescribeGroups for one group at its coordinator.
    pub async fn describe_group(
        &mut self,
        group: &str,
    ) -> Result<GroupDescription, ClientToolError> {
        with_retry!(
            self,
            group,
            "describeGroups",
            self.try_describe(group).await
        )
    }

    async fn try_fetch_offsets(
        &mut self,
        group: &str,
    ) -> Result<BTreeMap<Tp, i64>, ClientToolError> {
        let (_, conn) = self.coordinator_conn(group).await?;
        let version = conn.require_version(ApiKey::OffsetFetch as i16, 2, 7)?;
        let req = OffsetFetchRequest::default()
            .with_group_id(GroupId(name(group)))
            .with_topics(None);
        let resp = conn.send(&req, version).await?;
        check(resp.error_code)?;
        let mut out = BTreeMap::new();
        for t in resp.topics {
            for p in t.partitions {
                if p.error_code == 0 && p.committed_offset >= 0 {
                    out.insert(
                        (t.name.0.to_string(), p.partition_index),
                        p.committed_offset,
                    );
                }
            }
        }
        Ok(out)
    }

    /// Every committed offset of `group` (OffsetFetch for all partitions).
    pub async fn fetch_offsets(
        &mut self,
        group: &str,
    ) -> Result<BTreeMap<Tp, i64>, ClientToolError> {
        with_retry!(
            self,
            group,
            "listConsumerGroupOffsets",
            self.try_fetch_offsets(group).await
        )
    }

    async fn try_commit(
        &mut self,
        group: &str,
        offsets: &BTreeMap<Tp, i64>,
    ) -> Result<BTreeMap<Tp, Option<ResponseError>>, ClientToolError> {
        let (_, conn) = self.coordinator_conn(group).await?;
        let version = conn.require_version(ApiKey::OffsetCommit as i16, 2, 8)?;
        let topics = offset_commit_topics(offsets);
        let req = OffsetCommitRequest::default()
            .with_group_id(GroupId(name(group)))
            .with_generation_id_or_member_epoch(-1)
            .with_topics(topics);
        let resp = conn.send(&req, version).await?;
        let mut out = BTreeMap::new();
        for t in resp.topics {
            for p in t.partitions {
                let err = ResponseError::try_from_code(p.error_code);
                if let Some(e) = err {
                    let as_err = ClientToolError::Kafka(e);
                    if coordinator_retriable(&as_err) {
                        return Err(as_err);
                    }
                }
                out.insert((t.name.0.to_string(), p.partition_index), err);
            }
        }
        Ok(out)
    }

    /// OffsetCommit with generation -1 (an admin commit, allowed only while the group is
    /// Empty); per-partition errors.
    pub async fn commit_offsets(
        &mut self,
        group: &str,
        offsets: &BTreeMap<Tp, i64>,
    ) -> Result<BTreeMap<Tp, Option<ResponseError>>, ClientToolError> {
        with_retry!(
            self,
            group,
            "alterConsumerGroupOffsets",
            self.try_commit(group, offsets).await
        )
    }

    async fn try_delete_group(&mut self, group: &str) -> Result<(), ClientToolError> {
        let (_, conn) = self.coordinator_conn(group).await?;
        let version = conn.require_version(ApiKey::DeleteGroups as i16, 0, 2)?;
        let req = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(name(group))]);
        let resp = conn.send(&req, version).await?;
        match resp.results.iter().find(|r| r.group_id.0.as_str() == group) {
            Some(r) => check(r.error_code),
            None => Err(ClientToolError::Other(format!(
                "DeleteGroups answer lacks group {group}"
            ))),
        }
    }

    /// DeleteGroups for one group.
    pub async fn delete_group(&mut self, group: &str) -> Result<(), ClientToolError> {
        with_retry!(
            self,
            group,
            "deleteConsumerGroups",
            self.try_delete_group(group).await
        )
    }

    async fn try_delete_offsets(
        &mut self,
        group: &str,
        tps: &[Tp],
    ) -> Result<BTreeMap<Tp, Option<ResponseError>>, ClientToolError> {
        let (_, conn) = self.coordinator_conn(group).await?;
        let version = conn.require_version(ApiKey::OffsetDelete as i16, 0, 0)?;
        let mut topics: Vec<OffsetDeleteRequestTopic> = Vec::new();
        for (t, p) in tps {
            let part = OffsetDeleteRequestPartition::default().with_partition_index(*p);
            match topics.iter_mut().find(|x| x.name.0.as_str() == t) {
                Some(x) => x.partitions.push(part),
                None => topics.push(
                    OffsetDeleteRequestTopic::default()
                        .with_name(TopicName(name(t)))
                        .with_partitions(vec![part]),
                ),
            }
        }
        let req = OffsetDeleteRequest::default()
            .with_group_id(GroupId(name(group)))
            .with_topics(topics);
        let resp = conn.send(&req, version).await?;
        check(resp.error_code)?;
        let mut out = BTreeMap::new();
        for t in resp.topics {
            for p in t.partitions {
                out.insert(
                    (t.name.0.to_string(), p.partition_index),
                    ResponseError::try_from_code(p.error_code),
                );
            }
        }
        Ok(out)
    }

    /// OffsetDelete: a top-level error, or per-partition outcomes.
    pub async fn delete_offsets(
        &mut self,
        group: &str,
        tps: &[Tp],
    ) -> Result<BTreeMap<Tp, Option<ResponseError>>, ClientToolError> {
        with_retry!(
            self,
            group,
            "deleteConsumerGroupOffsets",
            self.try_delete_offsets(group, tps).await
        )
    }

    /// ListOffsets at each partition's leader: `timestamp` -2 = log start, -1 = log end, else
    /// the first offset with a timestamp at or after it (`None` when there is none).
    pub async fn list_offsets(
        &mut self,
        tps: &[Tp],
        timestamp: i64,
    ) -> Result<BTreeMap<Tp, Option<i64>>, ClientToolError> {
        super::group_list_offsets::list_offsets(
            &mut self.cluster,
            tps,
            timestamp,
            self.timeout,
            self.retry_backoff,
        )
        .await
    }

    /// Partitions of `topic` from metadata (`None` if the topic does not exist).
    pub async fn partitions_of(
        &mut self,
        topic: &str,
    ) -> Result<Option<Vec<i32>>, ClientToolError> {
        self.refresh(Some(&[topic.to_string()])).await?;
        Ok(self
            .cluster
            .topic(topic)
            .filter(|t| {
                t.error != ResponseError::UnknownTopicOrPartition.code()
                    && t.error != ResponseError::InvalidTopicException.code()
            })
            .map(|t| t.partitions.keys().copied().collect()))
    }
}
