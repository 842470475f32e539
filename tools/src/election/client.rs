//! ElectLeaders through the controller, as the Java AdminClient does it: bootstrap, Metadata
//! for the controller id, ElectLeaders (v0–v2, negotiated through ApiVersions) to the controller,
//! retried on NOT_CONTROLLER or lost connections until the overall timeout.

use std::time::{Duration, Instant};

use wire::kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use wire::kafka_protocol::messages::{ApiKey, ElectLeadersRequest, MetadataRequest, TopicName};
use wire::kafka_protocol::protocol::StrBytes;
use wire::{KafkaConnection, ResponseError};

use crate::client::error::java_exception;
use crate::reassign::json::Tp;

/// Error code ELECTION_NOT_NEEDED.
pub const ELECTION_NOT_NEEDED: i16 = 84;
/// Error code NOT_CONTROLLER.
pub const NOT_CONTROLLER: i16 = 41;
const CLIENT_ID: &str = "adminclient-1";

/// `--election-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionType {
    /// Elect the preferred (first live, in-ISR) replica.
    Preferred,
    /// Elect any live replica when no ISR member is available.
    Unclean,
}

impl ElectionType {
    /// Wire value (0 preferred, 1 unclean).
    pub fn wire_value(self) -> i8 {
        match self {
            ElectionType::Preferred => 0,
            ElectionType::Unclean => 1,
        }
    }

    /// `PREFERRED` / `UNCLEAN`, as Java's enum prints.
    pub fn name(self) -> &'static str {
        match self {
            ElectionType::Preferred => "PREFERRED",
            ElectionType::Unclean => "UNCLEAN",
        }
    }

    /// Kafka's converter: the enum name in any case.
    pub fn parse(s: &str) -> Option<ElectionType> {
        match s.to_ascii_uppercase().as_str() {
            "PREFERRED" => Some(ElectionType::Preferred),
            "UNCLEAN" => Some(ElectionType::Unclean),
            _ => None,
        }
    }
}

/// One partition's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOutcome {
    /// Topic and partition.
    pub tp: Tp,
    /// Error code (0 = elected).
    pub error_code: i16,
    /// Broker-supplied message, if any.
    pub message: Option<String>,
}

/// Why the whole request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElectError {
    /// No answer within the timeout.
    Timeout,
    /// Anything else, as the line the JVM prints for the escaping exception.
    Other(String),
}

/// `org.apache.kafka.common.errors.XxxException: message` for an error code, with the broker's
/// message when it sent one (Java's `ApiError.exception()`).
pub fn exception_text(code: i16, message: Option<&str>) -> String {
    let known: Option<(&str, &str)> = match code {
        -1 => Some(("UnknownServerException", "The server experienced an unexpected error when processing the request.")),
        3 => Some(("UnknownTopicOrPartitionException", "This server does not host this topic-partition.")),
        7 => Some(("TimeoutException", "The request timed out.")),
        17 => Some(("InvalidTopicException", "The request attempted to perform an operation on an invalid topic.")),
        29 => Some(("TopicAuthorizationException", "Topic authorization failed.")),
        31 => Some(("ClusterAuthorizationException", "Cluster authorization failed.")),
        35 => Some(("UnsupportedVersionException", "The version of API is not supported.")),
        41 => Some(("NotControllerException", "This is not the correct controller for this cluster.")),
        42 => Some((
            "InvalidRequestException",
            "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.",
        )),
        80 => Some(("PreferredLeaderNotAvailableException", "The preferred leader was not available.")),
        83 => Some(("EligibleLeadersNotAvailableException", "Eligible topic partition leaders are not available.")),
        84 => Some(("ElectionNotNeededException", "Leader election not needed for topic partition.")),
        _ => None,
    };
    match known {
        Some((class, default)) => {
            format!("org.apache.kafka.common.errors.{class}: {}", message.filter(|m| !m.is_empty()).unwrap_or(default))
        }
        None => match ResponseError::try_from_code(code) {
            Some(e) => {
                let base = java_exception(e);
                match (message.filter(|m| !m.is_empty()), base.split_once(": ")) {
                    (Some(m), Some((class, _))) => format!("{class}: {m}"),
                    _ => base,
                }
            }
            None => format!("org.apache.kafka.common.errors.UnknownServerException: error code {code}"),
        },
    }
}

pub(crate) async fn open(addr: &str, request_timeout: Duration) -> Result<KafkaConnection, String> {
    let mut conn = KafkaConnection::connect(addr, CLIENT_ID, Duration::from_secs(10)).await.map_err(|e| e.to_string())?;
    conn.set_request_timeout(request_timeout);
    conn.negotiate().await.map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Controller id and address from the first answering bootstrap server.
pub(crate) async fn find_controller(bootstrap: &[String], request_timeout: Duration) -> Result<(i32, String), String> {
    let mut last = "no bootstrap servers given".to_string();
    for addr in bootstrap {
        let mut conn = match open(addr, request_timeout).await {
            Ok(c) => c,
            Err(e) => {
                last = e;
                continue;
            }
        };
        let version = conn.require_version(ApiKey::Metadata as i16, 1, 11).map_err(|e| e.to_string())?;
        let req = MetadataRequest::default().with_topics(Some(Vec::new()));
        match conn.send(&req, version).await {
            Ok(resp) => {
                let id = resp.controller_id.0;
                if id < 0 {
                    last = "no controller in metadata yet".into();
                    continue;
                }
                return match resp.brokers.iter().find(|b| b.node_id.0 == id) {
                    Some(b) => Ok((id, format!("{}:{}", b.host.as_str(), b.port))),
                    None => Err(format!("controller {id} is not among the brokers in metadata")),
                };
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

fn build_request(election: ElectionType, partitions: &Option<Vec<Tp>>, timeout_ms: i32) -> ElectLeadersRequest {
    let topic_partitions = partitions.as_ref().map(|tps| {
        let mut by_topic: std::collections::BTreeMap<&str, Vec<i32>> = Default::default();
        for (t, p) in tps {
            by_topic.entry(t.as_str()).or_default().push(*p);
        }
        by_topic
            .into_iter()
            .map(|(t, ps)| {
                TopicPartitions::default().with_topic(TopicName(StrBytes::from_string(t.to_string()))).with_partitions(ps)
            })
            .collect()
    });
    ElectLeadersRequest::default()
        .with_election_type(election.wire_value())
        .with_topic_partitions(topic_partitions)
        .with_timeout_ms(timeout_ms)
}

/// Run an election; `partitions` None = every partition of the cluster.
pub async fn elect_leaders(
    bootstrap: &str,
    election: ElectionType,
    partitions: Option<Vec<Tp>>,
    timeout: Duration,
) -> Result<Vec<PartitionOutcome>, ElectError> {
    let servers: Vec<String> =
        bootstrap.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    if servers.is_empty() {
        return Err(ElectError::Other(
            "Exception in thread \"main\" org.apache.kafka.common.config.ConfigException: No resolvable bootstrap urls given in bootstrap.servers".into(),
        ));
    }
    // An explicit empty set asks for nothing: the Java client answers without a request.
    if partitions.as_ref().is_some_and(|p| p.is_empty()) {
        return Ok(Vec::new());
    }
    let deadline = Instant::now() + timeout;
    let request_timeout = timeout / 2;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(ElectError::Timeout);
        }
        let attempt = tokio::time::timeout(remaining, async {
            let (_, addr) = find_controller(&servers, request_timeout).await.map_err(Attempt::Retry)?;
            let mut conn = open(&addr, request_timeout).await.map_err(Attempt::Retry)?;
            let Some(version) = conn.version_in(ApiKey::ElectLeaders as i16, 0, 2) else {
                return Err(Attempt::Fatal(
                    "org.apache.kafka.common.errors.UnsupportedVersionException: The broker does not support ELECT_LEADERS"
                        .into(),
                ));
            };
            if version == 0 && election == ElectionType::Unclean {
                return Err(Attempt::Fatal(format!(
                    "org.apache.kafka.common.errors.UnsupportedVersionException: Attempted to write a non-default electionType at version {version}"
                )));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let req = build_request(election, &partitions, left.as_millis().min(i32::MAX as u128) as i32);
            conn.send(&req, version).await.map_err(|e| Attempt::Retry(e.to_string()))
        })
        .await;
        let resp = match attempt {
            Err(_) => return Err(ElectError::Timeout),
            Ok(Err(Attempt::Retry(reason))) => {
                tracing::debug!(%reason, "ElectLeaders attempt failed; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Ok(Err(Attempt::Fatal(text))) => {
                return Err(ElectError::Other(format!(
                    "Exception in thread \"main\" java.util.concurrent.ExecutionException: {text}"
                )))
            }
            Ok(Ok(resp)) => resp,
        };
        if resp.error_code == NOT_CONTROLLER {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        if resp.error_code == 7 {
            return Err(ElectError::Timeout);
        }
        if resp.error_code != 0 {
            return Err(ElectError::Other(format!(
                "Exception in thread \"main\" java.util.concurrent.ExecutionException: {}",
                exception_text(resp.error_code, None)
            )));
        }
        let mut out = Vec::new();
        for topic in resp.replica_election_results {
            for p in topic.partition_result {
                out.push(PartitionOutcome {
                    tp: (topic.topic.0.to_string(), p.partition_id),
                    error_code: p.error_code,
                    message: p.error_message.map(|m| m.to_string()),
                });
            }
        }
        out.sort_by(|a, b| a.tp.cmp(&b.tp));
        return Ok(out);
    }
}

enum Attempt {
    Retry(String),
    Fatal(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_texts() {
        assert_eq!(
            exception_text(3, None),
            "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition."
        );
        assert_eq!(
            exception_text(80, Some("Failed to elect leader for partition t-0 under strategy PreferredReplicaPartitionLeaderElectionStrategy")),
            "org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: Failed to elect leader for partition t-0 under strategy PreferredReplicaPartitionLeaderElectionStrategy"
        );
        assert_eq!(
            exception_text(6, Some("x")),
            "org.apache.kafka.common.errors.NotLeaderOrFollowerException: x"
        );
        assert!(exception_text(9999, None).contains("9999"));
    }

    #[test]
    fn election_types() {
        assert_eq!(ElectionType::parse("preferred"), Some(ElectionType::Preferred));
        assert_eq!(ElectionType::parse("UNCLEAN"), Some(ElectionType::Unclean));
        assert_eq!(ElectionType::parse("clean"), None);
        let req = build_request(
            ElectionType::Unclean,
            &Some(vec![("b".into(), 1), ("a".into(), 0), ("b".into(), 0)]),
            1000,
        );
        assert_eq!(req.election_type, 1);
        let tps = req.topic_partitions.unwrap();
        assert_eq!(tps.len(), 2);
        assert_eq!(tps[0].topic.0.as_str(), "a");
        assert_eq!(tps[1].partitions, vec![1, 0]);
        assert!(build_request(ElectionType::Preferred, &None, 1).topic_partitions.is_none());
    }
}
