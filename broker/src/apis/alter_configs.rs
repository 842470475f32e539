//! AlterConfigs (key 33, v0-2): replaces a topic's whole override set (this legacy API is not
//! incremental: keys left out are removed). The overrides are validated against the topic config
//! rules and written to `/config/topics/<T>` with a change notification; every broker (this one
//! included) applies them through its DynamicConfigManager. Broker resources are not supported yet.

use std::collections::BTreeMap;

use wire::kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use wire::kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use wire::kafka_protocol::protocol::StrBytes;
use zk_schema::admin::validate_topic_name;
use zk_schema::ZkError;

use super::admin_errors::AdminError;
use super::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::{KafkaApis, RequestContext};

async fn alter_topic(
    apis: &KafkaApis,
    topic: &str,
    configs: BTreeMap<String, String>,
    validate_only: bool,
) -> Result<(), AdminError> {
    validate_topic_name(topic).map_err(|e| AdminError::InvalidTopic(e.to_string()))?;
    if !apis.metadata_cache.contains_topic(topic)
        && apis.admin.zk().get_topic(topic).await.map_err(|e| AdminError::from_zk(&e))?.is_none()
    {
        return Err(AdminError::UnknownTopicOrPartition(format!("Topic {topic} does not exist")));
    }
    apis.topic_configs.defaults().with_overrides(&configs).map_err(|e| AdminError::from_config(&e))?;
    if validate_only {
        return Ok(());
    }
    match apis.admin.change_topic_config(topic, &configs).await {
        Ok(()) => {
            tracing::info!("Updated config overrides of topic {topic}: {configs:?}");
            Ok(())
        }
        Err(ZkError::NoNode(m)) => Err(AdminError::UnknownTopicOrPartition(m)),
        Err(e) => Err(AdminError::from_zk(&e)),
    }
}

/// Handle an AlterConfigs request.
pub async fn handle(apis: &KafkaApis, _ctx: &RequestContext, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut responses = Vec::new();
    for res in &req.resources {
        let name = res.resource_name.to_string();
        let outcome = match res.resource_type {
            RESOURCE_TOPIC => {
                // Null values are dropped, as Kafka does for this API.
                let configs: BTreeMap<String, String> = res
                    .configs
                    .iter()
                    .filter_map(|c| c.value.as_ref().map(|v| (c.name.to_string(), v.to_string())))
                    .collect();
                alter_topic(apis, &name, configs, req.validate_only).await
            }
            RESOURCE_BROKER => Err(AdminError::InvalidRequest(
                "Altering broker configs is not supported yet by this broker".into(),
            )),
            other => Err(AdminError::InvalidRequest(format!("Unsupported resource type {other}"))),
        };
        let r = AlterConfigsResourceResponse::default()
            .with_resource_type(res.resource_type)
            .with_resource_name(res.resource_name.clone());
        responses.push(match outcome {
            Ok(()) => r.with_error_code(0).with_error_message(None),
            Err(e) => {
                tracing::info!("Error processing alter configs request for resource {name}: {e}");
                r.with_error_code(e.code().code()).with_error_message(e.message().map(StrBytes::from_string))
            }
        });
    }
    AlterConfigsResponse::default().with_responses(responses)
}
