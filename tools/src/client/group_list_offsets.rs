//! ListOffsets at partition leaders for the group tool (log start, log end, offset for a
//! timestamp), retrying partitions whose leader is unknown or moving until the tool's timeout.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use wire::kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsTopic,
};
use wire::kafka_protocol::messages::{ApiKey, BrokerId, ListOffsetsRequest, TopicName};
use wire::kafka_protocol::protocol::StrBytes;
use wire::ResponseError;

use super::cluster::Cluster;
use super::error::ClientToolError;

/// A (topic, partition) pair.
pub type Tp = (String, i32);

/// ListOffsets at each partition's leader: `timestamp` -2 = log start, -1 = log end, else
/// the first offset with a timestamp at or after it (`None` when there is none).
pub async fn list_offsets(
    cluster: &mut Cluster,
    tps: &[Tp],
    timestamp: i64,
    timeout: Duration,
    retry_backoff: Duration,
) -> Result<BTreeMap<Tp, Option<i64>>, ClientToolError> {
    let mut topics: Vec<String> = tps.iter().map(|(t, _)| t.clone()).collect();
    topics.sort();
    topics.dedup();
    let deadline = Instant::now() + timeout;
    let mut out: BTreeMap<Tp, Option<i64>> = BTreeMap::new();
    let mut todo: Vec<Tp> = tps.to_vec();
    loop {
        if let Err(e) = cluster.refresh(Some(&topics), false).await {
            if Instant::now() + retry_backoff >= deadline {
                return Err(e);
            }
        }
        let mut by_leader: BTreeMap<i32, Vec<Tp>> = BTreeMap::new();
        let mut retry: Vec<Tp> = Vec::new();
        for tp in todo.drain(..) {
            match cluster.leader(&tp.0, tp.1) {
                Some(l) => by_leader.entry(l).or_default().push(tp),
                None => retry.push(tp),
            }
        }
        for (leader, items) in by_leader {
            match list_offsets_at(cluster, leader, &items, timestamp).await {
                Ok(found) => {
                    for (tp, r) in items.into_iter().zip(found) {
                        match r {
                            Ok(off) => {
                                out.insert(tp, (off >= 0).then_some(off));
                            }
                            Err(e) if e.is_retriable() => retry.push(tp),
                            Err(e) => return Err(ClientToolError::Kafka(e)),
                        }
                    }
                }
                Err(_) => {
                    cluster.disconnect(leader);
                    retry.extend(items);
                }
            }
        }
        if retry.is_empty() {
            return Ok(out);
        }
        if Instant::now() + retry_backoff >= deadline {
            let (t, p) = &retry[0];
            return Err(ClientToolError::Timeout(format!(
                "Call(callName=listOffsets on broker) timed out: no usable leader for {t}-{p}"
            )));
        }
        todo = retry;
        tokio::time::sleep(retry_backoff).await;
    }
}

async fn list_offsets_at(
    cluster: &mut Cluster,
    leader: i32,
    items: &[Tp],
    timestamp: i64,
) -> Result<Vec<Result<i64, ResponseError>>, ClientToolError> {
    let conn = cluster.connection(leader).await?;
    let version = conn.require_version(ApiKey::ListOffsets as i16, 1, 6)?;
    let mut topics: Vec<ListOffsetsTopic> = Vec::new();
    for (t, p) in items {
        let part = ListOffsetsPartition::default()
            .with_partition_index(*p)
            .with_timestamp(timestamp);
        match topics.iter_mut().find(|x| x.name.0.as_str() == t) {
            Some(x) => x.partitions.push(part),
            None => topics.push(
                ListOffsetsTopic::default()
                    .with_name(TopicName(StrBytes::from_string(t.clone())))
                    .with_partitions(vec![part]),
            ),
        }
    }
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(topics);
    let resp = conn.send(&req, version).await?;
    Ok(items
        .iter()
        .map(|(t, p)| {
            let found = resp
                .topics
                .iter()
                .filter(|x| x.name.0.as_str() == t)
                .flat_map(|x| x.partitions.iter())
                .find(|x| x.partition_index == *p);
            match found {
                Some(x) => match ResponseError::try_from_code(x.error_code) {
                    None => Ok(x.offset),
                    Some(e) => Err(e),
                },
                None => Err(ResponseError::UnknownServerError),
            }
        })
        .collect())
}
