//! A minimal in-memory single-node "broker" for end-to-end tests of the console tools
//! while the real broker is being built: ApiVersions, Metadata (with Kafka-like
//! auto-creation), Produce (assigns offsets), ListOffsets and Fetch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use wire::kafka_protocol::messages::api_versions_response::ApiVersion;
use wire::kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use wire::kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use wire::kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use wire::kafka_protocol::messages::produce_response::{
    PartitionProduceResponse, TopicProduceResponse,
};
use wire::kafka_protocol::messages::*;
use wire::kafka_protocol::protocol::{Decodable, StrBytes};
use wire::kafka_protocol::records::RecordBatchDecoder;

/// One stored batch: base offset, last offset, bytes (base offset already patched).
type StoredBatch = (i64, i64, Bytes);

#[derive(Default)]
pub struct State {
    pub topics: HashMap<String, Vec<Vec<StoredBatch>>>,
    /// Topics that answered LEADER_NOT_AVAILABLE once (auto-creation in progress).
    creating: HashMap<String, bool>,
    pub auto_create_partitions: usize,
}

#[derive(Clone)]
pub struct FakeBroker {
    pub addr: String,
    pub state: Arc<Mutex<State>>,
}

impl FakeBroker {
    pub async fn start(topics: &[(&str, usize)]) -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let mut st = State {
            auto_create_partitions: 1,
            ..Default::default()
        };
        for (t, n) in topics {
            st.topics.insert(t.to_string(), vec![Vec::new(); *n]);
        }
        let broker = FakeBroker {
            addr,
            state: Arc::new(Mutex::new(st)),
        };
        let b = broker.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let b = b.clone();
                tokio::spawn(async move { b.serve(sock).await });
            }
        });
        broker
    }

    pub fn port(&self) -> i32 {
        self.addr.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// (partition, key, value) of every stored record of `topic`, by partition and offset.
    pub fn records(&self, topic: &str) -> Vec<(i32, i64, Option<Bytes>, Option<Bytes>)> {
        let st = self.state.lock().unwrap();
        let mut out = Vec::new();
        if let Some(parts) = st.topics.get(topic) {
            for (p, batches) in parts.iter().enumerate() {
                for (_, _, data) in batches {
                    let mut b = data.clone();
                    let set = RecordBatchDecoder::decode_with_custom_compression(
                        &mut b,
                        Some(wire::compression::decompress),
                    )
                    .unwrap();
                    for r in set.records {
                        out.push((p as i32, r.offset, r.key, r.value));
                    }
                }
            }
        }
        out
    }

    async fn serve(self, mut sock: TcpStream) {
        while let Ok(Some(frame)) = wire::read_frame(&mut sock, 100 << 20).await {
            let Ok((h, mut body)) = wire::parse_request_header(frame) else { return };
            let v = h.api_version;
            let out = match h.api_key {
                18 => {
                    if !(0..=3).contains(&v) {
                        let resp = ApiVersionsResponse::default()
                            .with_error_code(35)
                            .with_api_keys(vec![api(18, 0, 3)]);
                        wire::encode_response(h.correlation_id, 18, 0, &resp)
                    } else {
                        let resp = ApiVersionsResponse::default().with_api_keys(vec![
                            api(0, 3, 9),
                            api(1, 4, 12),
                            api(2, 1, 6),
                            api(3, 1, 11),
                            api(18, 0, 3),
                        ]);
                        wire::encode_response(h.correlation_id, 18, v, &resp)
                    }
                }
                3 => {
                    let req = MetadataRequest::decode(&mut body, v).unwrap();
                    let resp = self.metadata(req, v);
                    wire::encode_response(h.correlation_id, 3, v, &resp)
                }
                0 => {
                    let req = ProduceRequest::decode(&mut body, v).unwrap();
                    let acks = req.acks;
                    let resp = self.produce(req);
                    if acks == 0 {
                        continue;
                    }
                    wire::encode_response(h.correlation_id, 0, v, &resp)
                }
                2 => {
                    let req = ListOffsetsRequest::decode(&mut body, v).unwrap();
                    let resp = self.list_offsets(req);
                    wire::encode_response(h.correlation_id, 2, v, &resp)
                }
                1 => {
                    let req = FetchRequest::decode(&mut body, v).unwrap();
                    let mut resp = self.fetch(&req);
                    let empty = resp
                        .responses
                        .iter()
                        .all(|t| t.partitions.iter().all(|p| p.records.as_ref().map(|r| r.is_empty()).unwrap_or(true)));
                    if empty {
                        tokio::time::sleep(Duration::from_millis(req.max_wait_ms.clamp(0, 200) as u64)).await;
                        resp = self.fetch(&req);
                    }
                    wire::encode_response(h.correlation_id, 1, v, &resp)
                }
                _ => return,
            };
            let Ok(out) = out else { return };
            if sock.write_all(&out).await.is_err() {
                return;
            }
        }
    }

    fn metadata(&self, req: MetadataRequest, _v: i16) -> MetadataResponse {
        let mut st = self.state.lock().unwrap();
        let names: Vec<String> = match &req.topics {
            Some(ts) => ts.iter().filter_map(|t| t.name.as_ref().map(|n| n.0.to_string())).collect(),
            None => st.topics.keys().cloned().collect(),
        };
        let mut topics = Vec::new();
        for name in names {
            let mut t = MetadataResponseTopic::default()
                .with_name(Some(TopicName(StrBytes::from_string(name.clone()))));
            match st.topics.get(&name) {
                Some(parts) => {
                    t.partitions = (0..parts.len())
                        .map(|p| {
                            MetadataResponsePartition::default()
                                .with_partition_index(p as i32)
                                .with_leader_id(BrokerId(1))
                                .with_replica_nodes(vec![BrokerId(1)])
                                .with_isr_nodes(vec![BrokerId(1)])
                        })
                        .collect();
                }
                None if req.allow_auto_topic_creation => {
                    // First answer LEADER_NOT_AVAILABLE, then the topic exists (like Kafka).
                    if st.creating.insert(name.clone(), true).is_none() {
                        t.error_code = 5;
                    } else {
                        let n = st.auto_create_partitions;
                        st.topics.insert(name.clone(), vec![Vec::new(); n]);
                        t.error_code = 5;
                    }
                }
                None => t.error_code = 3,
            }
            topics.push(t);
        }
        let port = self.port();
        MetadataResponse::default()
            .with_brokers(vec![MetadataResponseBroker::default()
                .with_node_id(BrokerId(1))
                .with_host(StrBytes::from_static_str("127.0.0.1"))
                .with_port(port)])
            .with_controller_id(BrokerId(1))
            .with_topics(topics)
    }

    fn produce(&self, req: ProduceRequest) -> ProduceResponse {
        let mut st = self.state.lock().unwrap();
        let mut responses = Vec::new();
        for t in req.topic_data {
            let name = t.name.0.to_string();
            let mut prs = Vec::new();
            for p in t.partition_data {
                let mut pr = PartitionProduceResponse::default().with_index(p.index);
                match st.topics.get_mut(&name).and_then(|parts| parts.get_mut(p.index as usize)) {
                    Some(log) => {
                        let mut next = log.last().map(|b| b.1 + 1).unwrap_or(0);
                        pr.base_offset = next;
                        let data = p.records.unwrap_or_default();
                        let mut rest = data.clone();
                        while rest.len() >= 61 {
                            let len = i32::from_be_bytes(rest[8..12].try_into().unwrap()) as usize;
                            let batch = rest.split_to(12 + len);
                            let delta = i32::from_be_bytes(batch[23..27].try_into().unwrap()) as i64;
                            let mut b = BytesMut::from(&batch[..]);
                            b[0..8].copy_from_slice(&next.to_be_bytes());
                            log.push((next, next + delta, b.freeze()));
                            next += delta + 1;
                        }
                    }
                    None => pr.error_code = 3,
                }
                prs.push(pr);
            }
            responses.push(
                TopicProduceResponse::default()
                    .with_name(TopicName(StrBytes::from_string(name)))
                    .with_partition_responses(prs),
            );
        }
        ProduceResponse::default().with_responses(responses)
    }

    fn list_offsets(&self, req: ListOffsetsRequest) -> ListOffsetsResponse {
        let st = self.state.lock().unwrap();
        let topics = req
            .topics
            .into_iter()
            .map(|t| {
                let name = t.name.0.to_string();
                let parts = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let mut r = ListOffsetsPartitionResponse::default()
                            .with_partition_index(p.partition_index);
                        match st.topics.get(&name).and_then(|ps| ps.get(p.partition_index as usize)) {
                            Some(log) => {
                                let end = log.last().map(|b| b.1 + 1).unwrap_or(0);
                                r.offset = if p.timestamp == -2 { 0 } else { end };
                            }
                            None => r.error_code = 3,
                        }
                        r
                    })
                    .collect();
                ListOffsetsTopicResponse::default()
                    .with_name(t.name)
                    .with_partitions(parts)
            })
            .collect();
        ListOffsetsResponse::default().with_topics(topics)
    }

    fn fetch(&self, req: &FetchRequest) -> FetchResponse {
        let st = self.state.lock().unwrap();
        let responses = req
            .topics
            .iter()
            .map(|t| {
                let name = t.topic.0.to_string();
                let parts = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let mut pd = PartitionData::default().with_partition_index(p.partition);
                        match st.topics.get(&name).and_then(|ps| ps.get(p.partition as usize)) {
                            Some(log) => {
                                let end = log.last().map(|b| b.1 + 1).unwrap_or(0);
                                pd.high_watermark = end;
                                pd.last_stable_offset = end;
                                if p.fetch_offset > end {
                                    pd.error_code = 1;
                                } else {
                                    let mut data = BytesMut::new();
                                    for (_, last, b) in log {
                                        if *last >= p.fetch_offset {
                                            data.extend_from_slice(b);
                                        }
                                    }
                                    pd.records = Some(data.freeze());
                                }
                            }
                            None => pd.error_code = 3,
                        }
                        pd
                    })
                    .collect();
                FetchableTopicResponse::default()
                    .with_topic(t.topic.clone())
                    .with_partitions(parts)
            })
            .collect();
        FetchResponse::default().with_responses(responses)
    }
}

fn api(k: i16, lo: i16, hi: i16) -> ApiVersion {
    ApiVersion::default()
        .with_api_key(k)
        .with_min_version(lo)
        .with_max_version(hi)
}
