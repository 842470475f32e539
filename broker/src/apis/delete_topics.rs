//! DeleteTopics (key 20, v0-6). Only the active controller accepts it. Each topic is marked for
//! deletion (`/admin/delete_topics/<T>`); the controller deletes it and tells every broker with
//! UpdateMetadata (leader -2). The answer waits, up to the request timeout, until the topic is gone
//! from the metadata cache.

use std::collections::HashMap;
use std::time::Duration;

use uuid::Uuid;
use wire::kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use wire::kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use wire::kafka_protocol::protocol::StrBytes;
use zk_schema::ZkError;

use super::admin_errors::AdminError;
use super::create_topics::wait_until;
use super::{KafkaApis, RequestContext};

fn result(name: Option<&str>, id: Uuid, e: Option<&AdminError>) -> DeletableTopicResult {
    let r = DeletableTopicResult::default()
        .with_name(name.map(|n| TopicName(StrBytes::from_string(n.to_string()))))
        .with_topic_id(id);
    match e {
        None => r.with_error_code(0).with_error_message(None),
        Some(e) => r.with_error_code(e.code().code()).with_error_message(e.message().map(StrBytes::from_string)),
    }
}

/// Handle a DeleteTopics request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let version = ctx.header.api_version;
    // (name if known, topic id as given)
    let requested: Vec<(Option<String>, Uuid)> = if version >= 6 {
        req.topics.iter().map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id)).collect()
    } else {
        req.topic_names.iter().map(|n| (Some(n.0.to_string()), Uuid::nil())).collect()
    };
    if !apis.controller.is_active() {
        let responses =
            requested.iter().map(|(n, id)| result(n.as_deref(), *id, Some(&AdminError::NotController))).collect();
        return DeleteTopicsResponse::default().with_responses(responses);
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (n, _) in &requested {
        if let Some(n) = n {
            *counts.entry(n.clone()).or_default() += 1;
        }
    }
    let mut responses = Vec::new();
    let mut pending: Vec<(usize, String)> = Vec::new();
    for (name, id) in &requested {
        let name = match name {
            Some(n) => n.clone(),
            None => match apis.metadata_cache.topic_name(id) {
                Some(n) if !id.is_nil() => n,
                _ => {
                    let e = if id.is_nil() {
                        AdminError::InvalidRequest("Topic name or topic id must be set.".into())
                    } else {
                        AdminError::UnknownTopicId(format!("Topic id {id} does not exist."))
                    };
                    responses.push(result(None, *id, Some(&e)));
                    continue;
                }
            },
        };
        let topic_id = apis.metadata_cache.topic_id(&name);
        let outcome: Result<(), AdminError> = if counts.get(&name).copied().unwrap_or(0) > 1 {
            Err(AdminError::InvalidRequest("Duplicate topic name.".into()))
        } else if !apis.config.delete_topic_enable {
            Err(if version < 3 {
                AdminError::InvalidRequest("Topic deletion is disabled.".into())
            } else {
                AdminError::TopicDeletionDisabled
            })
        } else if !apis.metadata_cache.contains_topic(&name) {
            Err(AdminError::UnknownTopicOrPartition("This server does not host this topic-partition.".into()))
        } else {
            match apis.admin.delete_topic(&name).await {
                // Already marked: wait for the deletion like the first caller.
                Ok(()) | Err(ZkError::NodeExists(_)) => Ok(()),
                Err(e) => Err(AdminError::from_zk(&e)),
            }
        };
        match outcome {
            Ok(()) => {
                tracing::info!("Marked topic {name} for deletion");
                pending.push((responses.len(), name.clone()));
                responses.push(result(Some(&name), topic_id, None));
            }
            Err(e) => responses.push(result(Some(&name), topic_id, Some(&e))),
        }
    }
    // A non-positive timeout answers at once (the deletion proceeds in the background), as Kafka does.
    if !pending.is_empty() && req.timeout_ms > 0 {
        let cache = &apis.metadata_cache;
        let timeout = Duration::from_millis(req.timeout_ms as u64);
        wait_until(timeout, || pending.iter().all(|(_, t)| !cache.contains_topic(t))).await;
        for (idx, topic) in &pending {
            if cache.contains_topic(topic) {
                responses[*idx].error_code = wire::ResponseError::RequestTimedOut.code();
                responses[*idx].error_message = None;
            }
        }
    }
    if version < 6 {
        for r in responses.iter_mut() {
            r.topic_id = Uuid::nil();
        }
    }
    DeleteTopicsResponse::default().with_responses(responses)
}
