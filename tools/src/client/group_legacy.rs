//! Offsets of the legacy (pre-0.9, ZooKeeper-based) consumer path: OffsetFetch and
//! OffsetCommit **v0**, which a 2.8 broker serves from and writes to ZooKeeper
//! (`/consumers/<group>/offsets/<topic>/<partition>`) without involving the group
//! coordinator. Any broker can answer, so the request goes to the first known one.

use std::collections::BTreeMap;

use wire::kafka_protocol::messages::{
    ApiKey, GroupId, OffsetCommitRequest, OffsetFetchRequest,
};
use wire::kafka_protocol::protocol::StrBytes;
use wire::ResponseError;

use super::cluster::Cluster;
use super::error::ClientToolError;
use super::group_protocol::{offset_commit_topics, offset_fetch_topics};

/// A (topic, partition) pair.
pub type Tp = (String, i32);

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

async fn any_broker(cluster: &mut Cluster) -> Result<i32, ClientToolError> {
    if cluster.broker_ids().is_empty() {
        cluster.refresh(Some(&[]), false).await?;
    }
    cluster
        .broker_ids()
        .first()
        .copied()
        .ok_or_else(|| ClientToolError::Network("no broker known".into()))
}

/// Committed offsets stored in ZooKeeper for `tps`; partitions without a node are left out.
pub async fn fetch_v0(
    cluster: &mut Cluster,
    group: &str,
    tps: &[Tp],
) -> Result<BTreeMap<Tp, i64>, ClientToolError> {
    let id = any_broker(cluster).await?;
    let conn = cluster.connection(id).await?;
    conn.require_version(ApiKey::OffsetFetch as i16, 0, 0)?;
    let req = OffsetFetchRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_topics(Some(offset_fetch_topics(tps)));
    let resp = match conn.send(&req, 0).await {
        Ok(r) => r,
        Err(e) => {
            cluster.disconnect(id);
            return Err(e.into());
        }
    };
    let mut out = BTreeMap::new();
    for t in resp.topics {
        for p in t.partitions {
            match ResponseError::try_from_code(p.error_code) {
                // v0: a missing znode reads as UNKNOWN_TOPIC_OR_PARTITION with offset -1.
                None | Some(ResponseError::UnknownTopicOrPartition) => {
                    if p.committed_offset >= 0 {
                        out.insert(
                            (t.name.0.to_string(), p.partition_index),
                            p.committed_offset,
                        );
                    }
                }
                Some(e) => return Err(ClientToolError::Kafka(e)),
            }
        }
    }
    Ok(out)
}

/// Store `offsets` in ZooKeeper through OffsetCommit v0.
pub async fn commit_v0(
    cluster: &mut Cluster,
    group: &str,
    offsets: &BTreeMap<Tp, i64>,
) -> Result<(), ClientToolError> {
    if offsets.is_empty() {
        return Ok(());
    }
    let id = any_broker(cluster).await?;
    let conn = cluster.connection(id).await?;
    conn.require_version(ApiKey::OffsetCommit as i16, 0, 0)?;
    let topics = offset_commit_topics(offsets);
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_topics(topics);
    let resp = match conn.send(&req, 0).await {
        Ok(r) => r,
        Err(e) => {
            cluster.disconnect(id);
            return Err(e.into());
        }
    };
    match resp
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .find_map(|p| ResponseError::try_from_code(p.error_code))
    {
        Some(e) => Err(ClientToolError::Kafka(e)),
        None => Ok(()),
    }
}

/// The PLAINTEXT address of a registered broker (`host:port`), as the legacy consumer
/// connected to brokers it found in ZooKeeper.
pub fn plaintext_address(path: &str, reg: &zk_schema::model::BrokerRegistration) -> Option<String> {
    let endpoints = reg.parsed_endpoints(path).ok()?;
    endpoints
        .iter()
        .find(|e| e.security_protocol == "PLAINTEXT")
        .map(|e| format!("{}:{}", e.host, e.port))
        .or_else(|| {
            reg.host
                .as_ref()
                .filter(|_| reg.port > 0)
                .map(|h| format!("{h}:{}", reg.port))
        })
}

/// Bootstrap servers from ZooKeeper's `/brokers/ids` (comma-separated), for `--zookeeper`.
pub async fn bootstrap_from_zookeeper(connect: &str) -> Result<String, String> {
    let zk = zk_schema::KafkaZkClient::connect(
        connect,
        std::time::Duration::from_secs(30),
        std::time::Duration::from_secs(30),
    )
    .await
    .map_err(|e| e.to_string())?;
    let brokers = zk.get_all_brokers().await.map_err(|e| e.to_string());
    drop(zk);
    let addrs: Vec<String> = brokers?
        .iter()
        .filter_map(|(id, (reg, _))| plaintext_address(&zk_schema::paths::broker_id(*id), reg))
        .collect();
    if addrs.is_empty() {
        return Err(format!(
            "No brokers found in ZooKeeper at {connect} (/brokers/ids is empty)"
        ));
    }
    Ok(addrs.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_schema::model::{BrokerEndpoint, BrokerRegistration};

    #[test]
    fn address_from_registration() {
        let ep = |l: &str, p: &str, port| BrokerEndpoint {
            listener: l.into(),
            security_protocol: p.into(),
            host: "h".into(),
            port,
        };
        let reg = BrokerRegistration::new(
            &[ep("SSL", "SSL", 1), ep("PLAINTEXT", "PLAINTEXT", 9092)],
            None,
            -1,
            0,
        );
        assert_eq!(
            plaintext_address("/brokers/ids/1", &reg).as_deref(),
            Some("h:9092")
        );
        let reg = BrokerRegistration::new(&[ep("SSL", "SSL", 1)], None, -1, 0);
        assert_eq!(plaintext_address("/brokers/ids/1", &reg), None);
    }
}
