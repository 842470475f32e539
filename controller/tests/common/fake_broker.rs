//! A fake broker for the real-ZooKeeper test: answers ApiVersions, LeaderAndIsr, UpdateMetadata and
//! StopReplica with success and records what it received.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use wire::kafka_protocol::messages::api_versions_response::ApiVersion;
use wire::kafka_protocol::messages::leader_and_isr_response::{LeaderAndIsrPartitionError, LeaderAndIsrTopicError};
use wire::kafka_protocol::messages::stop_replica_response::StopReplicaPartitionError;
use wire::kafka_protocol::messages::{
    ApiVersionsResponse, LeaderAndIsrRequest, LeaderAndIsrResponse, StopReplicaRequest, StopReplicaResponse,
    UpdateMetadataRequest, UpdateMetadataResponse,
};
use wire::kafka_protocol::protocol::{Decodable, Encodable};

/// A partition in a request: (topic, partition, leader, leader epoch, flag) where flag is `isNew`
/// for LeaderAndIsr and `deletePartition` for StopReplica (leader is 0 in StopReplica).
pub type PartitionEntry = (String, i32, i32, i32, bool);

/// One request as the fake broker saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub api_key: i16,
    pub api_version: i16,
    pub client_id: Option<String>,
    pub controller_epoch: i32,
    pub partitions: Vec<PartitionEntry>,
}

pub struct FakeBroker {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeBroker {
    pub async fn start() -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, log.clone()));
            }
        });
        FakeBroker { port, received, task }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

fn respond<M: Encodable>(correlation_id: i32, key: i16, version: i16, body: &M) -> bytes::BytesMut {
    wire::encode_response(correlation_id, key, version, body).expect("encodable response")
}

async fn serve(mut stream: TcpStream, log: Arc<Mutex<Vec<Received>>>) {
    while let Ok(Some(frame)) = wire::read_frame(&mut stream, 1 << 24).await {
        let (header, mut body): (wire::RequestHeader, Bytes) = wire::parse_request_header(frame).expect("header");
        let (key, v, cid) = (header.api_key, header.api_version, header.correlation_id);
        let mut seen = Received {
            api_key: key,
            api_version: v,
            client_id: header.client_id.clone(),
            controller_epoch: 0,
            partitions: Vec::new(),
        };
        let out = match key {
            18 => {
                let keys = [(4, 0, 5), (5, 0, 3), (6, 0, 7), (18, 0, 3)];
                let resp = ApiVersionsResponse::default().with_api_keys(
                    keys.iter()
                        .map(|(k, min, max)| ApiVersion::default().with_api_key(*k).with_min_version(*min).with_max_version(*max))
                        .collect(),
                );
                respond(cid, key, v, &resp)
            }
            4 => {
                let req = LeaderAndIsrRequest::decode(&mut body, v).expect("LeaderAndIsr");
                seen.controller_epoch = req.controller_epoch;
                let mut topics = Vec::new();
                for ts in &req.topic_states {
                    let mut errors = Vec::new();
                    for ps in &ts.partition_states {
                        let t = ts.topic_name.0.as_str().to_string();
                        seen.partitions.push((t, ps.partition_index, ps.leader.0, ps.leader_epoch, ps.is_new));
                        errors.push(LeaderAndIsrPartitionError::default().with_partition_index(ps.partition_index));
                    }
                    topics.push(LeaderAndIsrTopicError::default().with_topic_id(ts.topic_id).with_partition_errors(errors));
                }
                respond(cid, key, v, &LeaderAndIsrResponse::default().with_topics(topics))
            }
            6 => {
                let req = UpdateMetadataRequest::decode(&mut body, v).expect("UpdateMetadata");
                seen.controller_epoch = req.controller_epoch;
                for ts in &req.topic_states {
                    for ps in &ts.partition_states {
                        let t = ts.topic_name.0.as_str().to_string();
                        seen.partitions.push((t, ps.partition_index, ps.leader.0, ps.leader_epoch, false));
                    }
                }
                respond(cid, key, v, &UpdateMetadataResponse::default())
            }
            5 => {
                let req = StopReplicaRequest::decode(&mut body, v).expect("StopReplica");
                seen.controller_epoch = req.controller_epoch;
                let mut errors = Vec::new();
                for ts in &req.topic_states {
                    for ps in &ts.partition_states {
                        let t = ts.topic_name.0.as_str().to_string();
                        seen.partitions.push((t, ps.partition_index, 0, ps.leader_epoch, ps.delete_partition));
                        errors.push(
                            StopReplicaPartitionError::default()
                                .with_topic_name(ts.topic_name.clone())
                                .with_partition_index(ps.partition_index),
                        );
                    }
                }
                respond(cid, key, v, &StopReplicaResponse::default().with_partition_errors(errors))
            }
            other => panic!("fake broker got unexpected api key {other}"),
        };
        log.lock().expect("lock").push(seen);
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}
