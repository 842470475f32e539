//! LeaderAndIsr (key 4): the controller assigns leadership; see `ReplicaManager::become_leader_or_follower`.

use std::collections::BTreeSet;

use wire::kafka_protocol::messages::{LeaderAndIsrRequest, LeaderAndIsrResponse};
use wire::ResponseError;

use super::{KafkaApis, RequestContext};

/// Handle a LeaderAndIsr request from the controller.
///
/// Before creating logs for topics this broker does not host yet, their overrides are read from
/// `/config/topics/<T>` (as Kafka does when it creates a log): a topic created with `--config` on
/// another broker sends no change notification, so the local `TopicConfigs` may not know it yet.
/// The request itself is applied on a blocking thread.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: LeaderAndIsrRequest) -> LeaderAndIsrResponse {
    let version = ctx.header.api_version;
    let mut new_topics: BTreeSet<String> = BTreeSet::new();
    let names = req
        .ungrouped_partition_states
        .iter()
        .map(|s| (s.topic_name.0.as_str(), s.partition_index))
        .chain(req.topic_states.iter().flat_map(|t| {
            t.partition_states.iter().map(move |s| (t.topic_name.0.as_str(), s.partition_index))
        }));
    for (topic, partition) in names {
        if apis.replica_manager.get_partition(topic, partition).is_none() {
            new_topics.insert(topic.to_string());
        }
    }
    if !new_topics.is_empty() {
        apis.topic_configs.refresh_from_zk(&apis.zk, new_topics.iter().map(String::as_str)).await;
    }
    // Applying a batch creates logs and fsyncs files (seconds for 10,000 partitions): off the async
    // workers, so Metadata, Produce and Fetch keep being served meanwhile.
    let rm = apis.replica_manager.clone();
    let response = match tokio::task::spawn_blocking(move || rm.become_leader_or_follower(&req, version)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!("LeaderAndIsr handling failed: {e}");
            LeaderAndIsrResponse::default().with_error_code(ResponseError::KafkaStorageError.code())
        }
    };
    apis.group_coordinator.on_leadership_change(&apis.replica_manager);
    response
}
