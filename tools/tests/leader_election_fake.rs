//! `kafka-leader-election` (and `kafka-preferred-replica-election --bootstrap-server`) against a
//! tiny in-test fake cluster: broker 1 is the bootstrap server, broker 2 the controller (as
//! Metadata says). The controller answers its first ElectLeaders with NOT_CONTROLLER to check
//! the retry, then per partition: t-0 elected, t-1 ELECTION_NOT_NEEDED, t-2
//! PREFERRED_LEADER_NOT_AVAILABLE with a message, anything else UNKNOWN_TOPIC_OR_PARTITION.

use std::process::Command;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use wire::kafka_protocol::messages::api_versions_response::ApiVersion;
use wire::kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use wire::kafka_protocol::messages::metadata_response::MetadataResponseBroker;
use wire::kafka_protocol::messages::*;
use wire::kafka_protocol::protocol::{Decodable, StrBytes};

/// What the controller saw: (version, election type, requested partitions or None for all).
type Seen = (i16, i8, Option<Vec<(String, Vec<i32>)>>);

#[derive(Clone)]
struct Cluster {
    ports: Arc<Mutex<Vec<u16>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    not_controller_once: Arc<Mutex<bool>>,
    elect_max_version: i16,
}

fn api(k: i16, lo: i16, hi: i16) -> ApiVersion {
    ApiVersion::default().with_api_key(k).with_min_version(lo).with_max_version(hi)
}

fn outcome(topic: &str, p: i32) -> (i16, Option<&'static str>) {
    match (topic, p) {
        ("t", 0) => (0, None),
        ("t", 1) => (84, None),
        ("t", 2) => (80, Some("Failed to elect leader for partition t-2 under strategy PreferredReplicaPartitionLeaderElectionStrategy")),
        _ => (3, None),
    }
}

impl Cluster {
    async fn start(elect_max_version: i16) -> Cluster {
        let c = Cluster {
            ports: Arc::new(Mutex::new(Vec::new())),
            seen: Arc::new(Mutex::new(Vec::new())),
            not_controller_once: Arc::new(Mutex::new(true)),
            elect_max_version,
        };
        for id in 1..=2 {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            c.ports.lock().unwrap().push(listener.local_addr().unwrap().port());
            let c2 = c.clone();
            tokio::spawn(async move {
                while let Ok((sock, _)) = listener.accept().await {
                    let c3 = c2.clone();
                    tokio::spawn(async move { c3.serve(id, sock).await });
                }
            });
        }
        c
    }

    fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.ports.lock().unwrap()[0])
    }

    async fn serve(self, id: i32, mut sock: TcpStream) {
        while let Ok(Some(frame)) = wire::read_frame(&mut sock, 1 << 20).await {
            let Ok((h, mut body)) = wire::parse_request_header(frame) else { return };
            let v = h.api_version;
            let out = match h.api_key {
                18 => {
                    let resp = ApiVersionsResponse::default().with_api_keys(vec![
                        api(3, 0, 11),
                        api(18, 0, 3),
                        api(43, 0, self.elect_max_version),
                    ]);
                    wire::encode_response(h.correlation_id, 18, v.min(3), &resp)
                }
                3 => {
                    let ports = self.ports.lock().unwrap().clone();
                    let brokers = ports
                        .iter()
                        .enumerate()
                        .map(|(i, p)| {
                            MetadataResponseBroker::default()
                                .with_node_id(BrokerId(i as i32 + 1))
                                .with_host(StrBytes::from_static_str("127.0.0.1"))
                                .with_port(*p as i32)
                        })
                        .collect();
                    let resp = MetadataResponse::default().with_brokers(brokers).with_controller_id(BrokerId(2));
                    wire::encode_response(h.correlation_id, 3, v, &resp)
                }
                43 => {
                    let req = ElectLeadersRequest::decode(&mut body, v).unwrap();
                    let resp = self.elect(id, v, req);
                    wire::encode_response(h.correlation_id, 43, v, &resp)
                }
                _ => return,
            };
            let Ok(out) = out else { return };
            if sock.write_all(&out).await.is_err() {
                return;
            }
        }
    }

    fn elect(&self, id: i32, v: i16, req: ElectLeadersRequest) -> ElectLeadersResponse {
        if id != 2 {
            return ElectLeadersResponse::default().with_error_code(41);
        }
        {
            let mut once = self.not_controller_once.lock().unwrap();
            if *once && v >= 1 {
                *once = false;
                return ElectLeadersResponse::default().with_error_code(41);
            }
        }
        let requested: Option<Vec<(String, Vec<i32>)>> = req
            .topic_partitions
            .as_ref()
            .map(|tps| tps.iter().map(|t| (t.topic.0.to_string(), t.partitions.clone())).collect());
        self.seen.lock().unwrap().push((v, req.election_type, requested.clone()));
        let targets = requested.unwrap_or_else(|| vec![("t".to_string(), vec![0, 1])]);
        let results = targets
            .into_iter()
            .map(|(topic, parts)| {
                let partition_result = parts
                    .iter()
                    .map(|p| {
                        let (code, msg) = outcome(&topic, *p);
                        PartitionResult::default()
                            .with_partition_id(*p)
                            .with_error_code(code)
                            .with_error_message(msg.map(StrBytes::from_static_str))
                    })
                    .collect();
                ReplicaElectionResult::default()
                    .with_topic(TopicName(StrBytes::from_string(topic)))
                    .with_partition_result(partition_result)
            })
            .collect();
        ElectLeadersResponse::default().with_replica_election_results(results)
    }
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn run(bin: &'static str, args: Vec<String>) -> Outcome {
    tokio::task::spawn_blocking(move || {
        let out = Command::new(bin).args(&args).output().expect("run tool");
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

const LEADER: &str = env!("CARGO_BIN_EXE_kafka-leader-election");
const PREFERRED: &str = env!("CARGO_BIN_EXE_kafka-preferred-replica-election");

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_election_through_the_controller() {
    let cluster = Cluster::start(2).await;
    let bootstrap = cluster.bootstrap();
    let dir = std::env::temp_dir().join(format!("leader-election-fake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("p.json");
    std::fs::write(
        &file,
        r#"{"partitions":[{"topic":"t","partition":2},{"topic":"t","partition":1},{"topic":"t","partition":0},{"topic":"x","partition":0}]}"#,
    )
    .unwrap();
    let file = file.to_string_lossy().into_owned();

    let o = run(
        LEADER,
        args(&["--bootstrap-server", &bootstrap, "--election-type", "preferred", "--path-to-json-file", &file]),
    )
    .await;
    assert_eq!(o.code, 1, "{} {}", o.stdout, o.stderr);
    assert_eq!(
        o.stdout,
        "Successfully completed leader election (PREFERRED) for partitions t-0\n\
         Valid replica already elected for partitions t-1\n\
         Error completing leader election (PREFERRED) for partition: t-2: org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: Failed to elect leader for partition t-2 under strategy PreferredReplicaPartitionLeaderElectionStrategy\n\
         Error completing leader election (PREFERRED) for partition: x-0: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition.\n"
    );
    assert_eq!(o.stderr, "Exception in thread \"main\" kafka.common.AdminCommandFailedException: 2 replica(s) could not be elected\n");
    {
        let seen = cluster.seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "one answered request after the NOT_CONTROLLER retry");
        assert_eq!(seen[0].0, 2);
        assert_eq!(seen[0].1, 0);
        assert_eq!(seen[0].2, Some(vec![("t".to_string(), vec![0, 1, 2]), ("x".to_string(), vec![0])]));
    }

    let o = run(
        LEADER,
        args(&["--bootstrap-server", &bootstrap, "--election-type", "UNCLEAN", "--topic", "t", "--partition", "0", "--admin.config", "/nonexistent"]),
    )
    .await;
    assert_eq!(o.code, 0, "{} {}", o.stdout, o.stderr);
    assert_eq!(o.stdout, "Successfully completed leader election (UNCLEAN) for partitions t-0\n");
    assert!(o.stderr.contains("--admin.config"), "{}", o.stderr);
    assert_eq!(cluster.seen.lock().unwrap()[1], (2, 1, Some(vec![("t".to_string(), vec![0])])));

    let o = run(LEADER, args(&["--bootstrap-server", &bootstrap, "--election-type", "preferred", "--all-topic-partitions"])).await;
    assert_eq!(o.code, 0, "{} {}", o.stdout, o.stderr);
    assert_eq!(
        o.stdout,
        "Successfully completed leader election (PREFERRED) for partitions t-0\nValid replica already elected for partitions t-1\n"
    );
    assert_eq!(cluster.seen.lock().unwrap()[2], (2, 0, None));

    // The deprecated tool's --bootstrap-server path uses the same request.
    let o = run(PREFERRED, args(&["--bootstrap-server", &bootstrap])).await;
    assert_eq!(o.code, 0, "{} {}", o.stdout, o.stderr);
    assert_eq!(
        o.stdout,
        "This tool is deprecated. Please use kafka-leader-election tool. Tracking issue: KAFKA-8405\n\
         Successfully completed preferred leader election for partitions t-0\n\
         Preferred replica already elected for partitions t-0\n"
    );

    // Argument errors are exceptions escaping main.
    let o = run(LEADER, args(&["--bootstrap-server", &bootstrap, "--election-type", "preferred"])).await;
    assert_eq!(o.code, 1);
    assert_eq!(
        o.stderr,
        "Exception in thread \"main\" kafka.common.AdminCommandFailedException: One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file\n"
    );
    let o = run(LEADER, args(&[])).await;
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("--election-type <[PREFERRED,UNCLEAN]: election type>"), "{}", o.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unclean_needs_elect_leaders_v1() {
    let cluster = Cluster::start(0).await;
    let o = run(
        LEADER,
        args(&["--bootstrap-server", &cluster.bootstrap(), "--election-type", "unclean", "--all-topic-partitions"]),
    )
    .await;
    assert_eq!(o.code, 1, "{} {}", o.stdout, o.stderr);
    assert!(o.stderr.contains("UnsupportedVersionException"), "{}", o.stderr);
    // v0 still works for preferred elections (no election type on the wire).
    let o = run(LEADER, args(&["--bootstrap-server", &cluster.bootstrap(), "--election-type", "preferred", "--topic", "t", "--partition", "0"])).await;
    assert_eq!(o.code, 0, "{} {}", o.stdout, o.stderr);
    assert_eq!(cluster.seen.lock().unwrap()[0], (0, 0, Some(vec![("t".to_string(), vec![0])])));
}
