//! `KafkaApis`: decodes each request, routes it to its handler module, encodes the answer.
//!
//! One module per API (Redpanda's `handlers/` layout). Handlers take the decoded request and return
//! the response body; the few that need more control over what goes on the wire (Produce with
//! `acks=0`, zero-copy Fetch) return a [`Response`] themselves.

use std::sync::Arc;

use bytes::Bytes;
use controller::KafkaController;
use wire::kafka_protocol::messages::ApiKey;
use wire::kafka_protocol::protocol::{Decodable, Encodable, Message};
use wire::RequestHeader;
use zk_schema::admin::AdminZkClient;
use zk_schema::KafkaZkClient;

use crate::config::KafkaConfig;
use crate::coordinator::group::GroupCoordinator;
use crate::metadata_cache::MetadataCache;
use crate::network::response::Response;
use crate::replica_manager::ReplicaManager;
use crate::topic_configs::TopicConfigs;

pub mod admin_errors;
pub mod alter_configs;
pub mod alter_isr;
pub mod alter_partition_reassignments;
pub mod api_versions;
pub mod controlled_shutdown;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_topics;
pub mod describe_configs;
pub mod describe_groups;
pub mod elect_leaders;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod join_group;
pub mod leader_and_isr;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod list_partition_reassignments;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod stop_replica;
pub mod sync_group;
pub mod update_metadata;

/// Where a request came from; handlers need the listener (Metadata answers with that listener's
/// endpoints) and the client address.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The parsed request header.
    pub header: RequestHeader,
    /// Name of the listener the connection arrived on (e.g. `PLAINTEXT`).
    pub listener: String,
    /// Client IP address as text.
    pub client_host: String,
}

/// Everything request handlers need, shared by all connections.
pub struct KafkaApis {
    /// Static broker configuration.
    pub config: Arc<KafkaConfig>,
    /// ZooKeeper client (admin writes, legacy offsets).
    pub zk: KafkaZkClient,
    /// Topic administration (CreateTopics, DeleteTopics, CreatePartitions, AlterConfigs).
    pub admin: AdminZkClient,
    /// Partitions hosted here and the data path.
    pub replica_manager: Arc<ReplicaManager>,
    /// Cluster view from UpdateMetadata.
    pub metadata_cache: Arc<MetadataCache>,
    /// The controller running inside this broker (active or not).
    pub controller: KafkaController,
    /// Topic config overrides from ZooKeeper.
    pub topic_configs: Arc<TopicConfigs>,
    /// The cluster id from `/cluster/id`.
    pub cluster_id: String,
    /// Consumer groups and committed offsets.
    pub group_coordinator: Arc<GroupCoordinator>,
}

/// The `(api key, min version, max version)` this broker serves; ApiVersions answers with it and
/// requests outside it close the connection, as Kafka does.
pub const SUPPORTED_APIS: &[(ApiKey, i16, i16)] = &[
    // Kafka 2.8's ranges. Produce v0-2 carry magic 0/1 message sets, which storage refuses with
    // UNSUPPORTED_FOR_MESSAGE_FORMAT; Fetch v0-3 would need down-conversion and is answered with
    // UNSUPPORTED_VERSION per partition. Advertising them matters: librdkafka derives features
    // (e.g. compression support, "MsgVer1") from these ranges.
    (ApiKey::Produce, 0, 9),
    (ApiKey::Fetch, 0, 12),
    (ApiKey::ListOffsets, 0, 6),
    (ApiKey::Metadata, 0, 11),
    (ApiKey::LeaderAndIsr, 0, 5),
    (ApiKey::StopReplica, 0, 3),
    (ApiKey::UpdateMetadata, 0, 7),
    (ApiKey::OffsetCommit, 0, 8),
    (ApiKey::OffsetFetch, 0, 7),
    // v4 (batched keys, KIP-699) is newer than 2.8; the issue asks for it and clients use it.
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::JoinGroup, 0, 7),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 0, 7),
    (ApiKey::DeleteTopics, 0, 6),
    (ApiKey::DescribeConfigs, 0, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::ControlledShutdown, 0, 3),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::ElectLeaders, 0, 2),
    (ApiKey::AlterPartitionReassignments, 0, 0),
    (ApiKey::ListPartitionReassignments, 0, 0),
    // Kafka 2.8's AlterIsr is v0 of this key.
    (ApiKey::AlterPartition, 0, 0),
    (ApiKey::OffsetForLeaderEpoch, 0, 4),
    (ApiKey::OffsetDelete, 0, 0),
];

/// The supported version range of an API key, if it is served at all.
pub fn supported_range(api_key: i16) -> Option<(i16, i16)> {
    SUPPORTED_APIS.iter().find(|(k, _, _)| *k as i16 == api_key).map(|(_, lo, hi)| (*lo, *hi))
}

/// Why a request could not even be decoded; the connection is closed, as Kafka does.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Key not served here.
    #[error("Received request api key {0} which is not enabled")]
    NotEnabled(i16),
    /// Version outside the served range.
    #[error("Unsupported version {version} of api key {api_key}")]
    UnsupportedVersion { api_key: i16, version: i16 },
    /// Body did not parse.
    #[error("Error getting request for apiKey {api_key} and apiVersion {version}: {reason}")]
    Malformed { api_key: i16, version: i16, reason: String },
}

/// Decode a request body of type `R` at the header's version.
pub fn decode<R: Decodable + Message>(ctx: &RequestContext, mut body: Bytes) -> Result<R, DecodeError> {
    let (api_key, version) = (ctx.header.api_key, ctx.header.api_version);
    let decoded = R::decode(&mut body, version)
        .map_err(|e| DecodeError::Malformed { api_key, version, reason: e.to_string() })?;
    Ok(decoded)
}

/// Encode a response body into a complete frame for this request.
pub fn respond<M: Encodable>(ctx: &RequestContext, body: &M) -> Response {
    match wire::encode_response(ctx.header.correlation_id, ctx.header.api_key, ctx.header.api_version, body) {
        Ok(frame) => Response::Frame(frame),
        Err(e) => {
            tracing::error!("could not encode response to api key {}: {e}", ctx.header.api_key);
            Response::Close
        }
    }
}

impl KafkaApis {
    /// Handle one request. Protocol violations (key not enabled, version out of range, malformed body)
    /// close the connection after a log line naming the client, as Kafka does.
    pub async fn handle(&self, ctx: &RequestContext, body: Bytes) -> Response {
        let (api_key, version) = (ctx.header.api_key, ctx.header.api_version);
        if api_key == ApiKey::ApiVersions as i16 {
            return api_versions::handle(self, ctx, body);
        }
        let result = match supported_range(api_key) {
            None => Err(DecodeError::NotEnabled(api_key)),
            Some((lo, hi)) if version < lo || version > hi => Err(DecodeError::UnsupportedVersion { api_key, version }),
            Some(_) => self.dispatch(ctx, body).await,
        };
        match result {
            Ok(response) => response,
            Err(e) => {
                tracing::warn!(
                    "closing connection from {} (client id {:?}): {e}",
                    ctx.client_host,
                    ctx.header.client_id
                );
                Response::Close
            }
        }
    }

    async fn dispatch(&self, ctx: &RequestContext, body: Bytes) -> Result<Response, DecodeError> {
        let key = ApiKey::try_from(ctx.header.api_key).map_err(|_| DecodeError::NotEnabled(ctx.header.api_key))?;
        Ok(match key {
            ApiKey::Produce => produce::handle(self, ctx, decode(ctx, body)?).await,
            ApiKey::Fetch => fetch::handle(self, ctx, decode(ctx, body)?).await,
            ApiKey::ListOffsets => respond(ctx, &list_offsets::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::Metadata => respond(ctx, &metadata::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::LeaderAndIsr => respond(ctx, &leader_and_isr::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::StopReplica => respond(ctx, &stop_replica::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::UpdateMetadata => respond(ctx, &update_metadata::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::FindCoordinator => respond(ctx, &find_coordinator::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::JoinGroup => respond(ctx, &join_group::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::SyncGroup => respond(ctx, &sync_group::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::Heartbeat => respond(ctx, &heartbeat::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::LeaveGroup => respond(ctx, &leave_group::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::OffsetCommit => respond(ctx, &offset_commit::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::OffsetFetch => respond(ctx, &offset_fetch::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::ListGroups => respond(ctx, &list_groups::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::DescribeGroups => respond(ctx, &describe_groups::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::DeleteGroups => respond(ctx, &delete_groups::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::OffsetDelete => respond(ctx, &offset_delete::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::CreateTopics => respond(ctx, &create_topics::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::DeleteTopics => respond(ctx, &delete_topics::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::DescribeConfigs => respond(ctx, &describe_configs::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::AlterConfigs => respond(ctx, &alter_configs::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::CreatePartitions => {
                respond(ctx, &create_partitions::handle(self, ctx, decode(ctx, body)?).await)
            }
            ApiKey::OffsetForLeaderEpoch => {
                respond(ctx, &offset_for_leader_epoch::handle(self, ctx, decode(ctx, body)?).await)
            }
            ApiKey::ControlledShutdown => {
                respond(ctx, &controlled_shutdown::handle(self, ctx, decode(ctx, body)?).await)
            }
            ApiKey::AlterPartition => respond(ctx, &alter_isr::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::ElectLeaders => respond(ctx, &elect_leaders::handle(self, ctx, decode(ctx, body)?).await),
            ApiKey::AlterPartitionReassignments => {
                respond(ctx, &alter_partition_reassignments::handle(self, ctx, decode(ctx, body)?).await)
            }
            ApiKey::ListPartitionReassignments => {
                respond(ctx, &list_partition_reassignments::handle(self, ctx, decode(ctx, body)?).await)
            }
            _ => return Err(DecodeError::NotEnabled(ctx.header.api_key)),
        })
    }
}
