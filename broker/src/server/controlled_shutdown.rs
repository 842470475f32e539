//! Controlled shutdown, broker side (spec §2.13): before stopping, ask the controller to move
//! every leader off this broker, so clients see leadership changes rather than an outage.
//!
//! Up to `controlled.shutdown.max.retries` attempts: find the controller (the last UpdateMetadata's
//! controller, else `/controller` in ZooKeeper) and its inter-broker endpoint (metadata cache, else
//! its registration), send `ControlledShutdown` v3 `{broker_id, broker_epoch}`; success is no error
//! and no remaining partitions; otherwise sleep `controlled.shutdown.retry.backoff.ms` and retry.
//! Shutdown proceeds either way. Requests keep being served meanwhile (the socket server is still up).

use std::time::Duration;

use wire::kafka_protocol::messages::{BrokerId, ControlledShutdownRequest, ControlledShutdownResponse};
use wire::{KafkaConnection, ResponseError};
use zk_schema::{paths, KafkaZkClient};

use crate::config::KafkaConfig;
use crate::metadata_cache::MetadataCache;

/// ControlledShutdown version sent (Kafka 2.8's, with the broker epoch).
pub const CONTROLLED_SHUTDOWN_VERSION: i16 = 3;

/// What one attempt found.
#[derive(Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The controller moved everything.
    Done,
    /// The controller answered, but not (yet) success.
    Incomplete(String),
}

/// Judge a ControlledShutdown response (success = no error and nothing remaining).
pub fn judge(resp: &ControlledShutdownResponse) -> AttemptOutcome {
    if resp.error_code != 0 {
        let e = ResponseError::try_from_code(resp.error_code).map(|e| format!("{e:?}")).unwrap_or(resp.error_code.to_string());
        return AttemptOutcome::Incomplete(format!("controller answered {e}"));
    }
    if !resp.remaining_partitions.is_empty() {
        let names: Vec<String> = resp
            .remaining_partitions
            .iter()
            .take(10)
            .map(|p| format!("{}-{}", p.topic_name.0, p.partition_index))
            .collect();
        return AttemptOutcome::Incomplete(format!(
            "{} partition(s) still led here: {}{}",
            resp.remaining_partitions.len(),
            names.join(","),
            if resp.remaining_partitions.len() > 10 { ",..." } else { "" }
        ));
    }
    AttemptOutcome::Done
}

async fn controller_endpoint(
    zk: &KafkaZkClient,
    cache: &MetadataCache,
    listener: &str,
) -> Result<(i32, String), String> {
    let id = match cache.controller_id() {
        Some(id) => id,
        None => zk
            .get_controller_id()
            .await
            .map_err(|e| format!("reading /controller: {e}"))?
            .ok_or("no controller elected")?,
    };
    if let Some((host, port)) = cache.alive_endpoint(id, listener) {
        return Ok((id, format!("{host}:{port}")));
    }
    let path = paths::broker_id(id);
    let brokers = zk.get_all_brokers().await.map_err(|e| format!("reading brokers: {e}"))?;
    let (reg, _) = brokers.get(&id).ok_or_else(|| format!("controller {id} is not registered"))?;
    let endpoints = reg.parsed_endpoints(&path).map_err(|e| e.to_string())?;
    let ep = endpoints
        .iter()
        .find(|e| e.listener == listener)
        .ok_or_else(|| format!("controller {id} has no endpoint for listener {listener}"))?;
    Ok((id, format!("{}:{}", ep.host, ep.port)))
}

async fn attempt(
    config: &KafkaConfig,
    zk: &KafkaZkClient,
    cache: &MetadataCache,
    broker_epoch: i64,
) -> Result<AttemptOutcome, String> {
    let listener = config.inter_broker_listener_name();
    let (controller, addr) = controller_endpoint(zk, cache, &listener).await?;
    let timeout = Duration::from_millis(config.controller_socket_timeout_ms.max(1) as u64);
    let mut conn = KafkaConnection::connect(&addr, &format!("broker-{}-controlled-shutdown", config.broker_id), timeout)
        .await
        .map_err(|e| format!("connecting to controller {controller} at {addr}: {e}"))?;
    conn.set_request_timeout(timeout);
    let req = ControlledShutdownRequest::default().with_broker_id(BrokerId(config.broker_id)).with_broker_epoch(broker_epoch);
    tracing::info!("Sending controlled shutdown request to controller {controller} at {addr}");
    let resp = conn
        .send(&req, CONTROLLED_SHUTDOWN_VERSION)
        .await
        .map_err(|e| format!("ControlledShutdown to controller {controller}: {e}"))?;
    Ok(judge(&resp))
}

/// Run controlled shutdown; returns whether the controller confirmed it.
pub async fn run(config: &KafkaConfig, zk: &KafkaZkClient, cache: &MetadataCache, broker_epoch: i64) -> bool {
    if !config.controlled_shutdown_enable {
        return false;
    }
    let id = config.broker_id;
    tracing::info!("[KafkaServer id={id}] Starting controlled shutdown");
    let retries = config.controlled_shutdown_max_retries.max(1);
    let backoff = Duration::from_millis(config.controlled_shutdown_retry_backoff_ms.max(0) as u64);
    for n in 1..=retries {
        match attempt(config, zk, cache, broker_epoch).await {
            Ok(AttemptOutcome::Done) => {
                tracing::info!("[KafkaServer id={id}] Controlled shutdown request returned successfully");
                return true;
            }
            Ok(AttemptOutcome::Incomplete(why)) => {
                tracing::info!("[KafkaServer id={id}] Remaining partitions to move or error ({why}), attempt {n}/{retries}");
            }
            Err(e) => {
                tracing::warn!("[KafkaServer id={id}] Error during controlled shutdown, possibly because leader movement took longer than the configured controller.socket.timeout.ms and/or request.timeout.ms: {e} (attempt {n}/{retries})");
            }
        }
        if n < retries {
            tokio::time::sleep(backoff).await;
        }
    }
    tracing::warn!("[KafkaServer id={id}] Proceeding to do an unclean shutdown as all the controlled shutdown attempts failed");
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::kafka_protocol::messages::controlled_shutdown_response::RemainingPartition;
    use wire::kafka_protocol::messages::TopicName;
    use wire::kafka_protocol::protocol::StrBytes;

    #[test]
    fn judging_responses() {
        assert_eq!(judge(&ControlledShutdownResponse::default()), AttemptOutcome::Done);
        let stale = ControlledShutdownResponse::default().with_error_code(ResponseError::StaleControllerEpoch.code());
        assert!(matches!(judge(&stale), AttemptOutcome::Incomplete(s) if s.contains("StaleControllerEpoch")));
        let remaining = ControlledShutdownResponse::default().with_remaining_partitions(vec![RemainingPartition::default()
            .with_topic_name(TopicName(StrBytes::from_static_str("t")))
            .with_partition_index(3)]);
        assert!(matches!(judge(&remaining), AttemptOutcome::Incomplete(s) if s.contains("t-3")));
    }
}
