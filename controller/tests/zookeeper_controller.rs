//! The controller against a real Apache ZooKeeper (Debian's package, started on a free port):
//! election race, fencing of a zombie controller, partition state znodes of a new topic, the
//! requests a (fake) broker receives over the wire, topic deletion end to end, and failover when the
//! active controller shuts down. Skipped with a message when Java or the ZooKeeper jars are missing.

#[path = "common/fake_broker.rs"]
mod fake_broker;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use controller::{ControllerConfig, KafkaController};
use zk_schema::admin::AdminZkClient;
use zk_schema::client::ZkOp;
use zk_schema::model::{BrokerEndpoint, BrokerRegistration};
use zk_schema::{paths, KafkaZkClient, ZkError};
use zk_testkit::{free_port, ZooKeeper};

/// The real ZooKeeper of one test, on a free port, with a short tick (short sessions).
fn start_zookeeper() -> Result<ZooKeeper, zk_testkit::StartError> {
    ZooKeeper::builder("zk-controller").tick_time_ms(500).start()
}

async fn connect(port: u16) -> KafkaZkClient {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match KafkaZkClient::connect(&format!("127.0.0.1:{port}"), Duration::from_secs(6), Duration::from_secs(3)).await {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for ZooKeeper: {e}");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => panic!("ZooKeeper did not come up: {e}"),
        }
    }
}

fn registration(port: u16) -> BrokerRegistration {
    let ep = BrokerEndpoint {
        listener: "PLAINTEXT".into(),
        security_protocol: "PLAINTEXT".into(),
        host: "127.0.0.1".into(),
        port: port as i32,
    };
    BrokerRegistration::new(&[ep], None, -1, zk_schema::util::now_ms())
}

/// Register broker `id` advertising `port` and start its controller.
async fn start_broker(zk_port: u16, id: i32, port: u16) -> (KafkaZkClient, KafkaController) {
    let zk = connect(zk_port).await;
    let reg = registration(port);
    let epoch = zk.register_broker(id, &reg).await.expect("registered");
    let controller = KafkaController::start(zk.clone(), ControllerConfig::with_defaults(id), reg, Arc::new(AtomicI64::new(epoch)));
    (zk, controller)
}

async fn wait_for<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_against_real_zookeeper() {
    let zookeeper = match start_zookeeper() {
        Ok(z) => z,
        Err(reason) => {
            println!("SKIPPED: real ZooKeeper test needs Java and Debian's ZooKeeper: {reason}");
            return;
        }
    };
    let admin_zk = connect(zookeeper.port()).await;
    admin_zk.create_top_level_paths().await.expect("top-level paths");

    // A zombie: it once won an election, then lost /controller with its session.
    let zombie = connect(zookeeper.port()).await;
    let zombie_epoch = zombie.register_controller_and_increment_epoch(99, 0).await.expect("zombie elected");
    zombie.delete(paths::CONTROLLER, None).await.expect("released");

    // Two brokers race for the controller. Broker 1's endpoint is a fake broker answering the
    // controller's requests; nothing listens on broker 2's (its channel keeps retrying).
    let broker1 = fake_broker::FakeBroker::start().await;
    let (zk1, c1) = start_broker(zookeeper.port(), 1, broker1.port).await;
    let (zk2, c2) = start_broker(zookeeper.port(), 2, free_port()).await;
    let winner = wait_for("an active controller", async || match (c1.is_active(), c2.is_active()) {
        (true, false) => Some(1),
        (false, true) => Some(2),
        (true, true) => panic!("two active controllers"),
        _ => None,
    })
    .await;
    let (active, standby) = if winner == 1 { (&c1, &c2) } else { (&c2, &c1) };
    assert_eq!(admin_zk.get_controller_id().await.expect("read"), Some(winner));
    assert_eq!(active.epoch(), zombie_epoch.epoch + 1);
    wait_for("the standby to see the winner", async || (standby.active_controller_id() == winner).then_some(())).await;
    assert!(!standby.is_active());

    // The winner bumped /controller_epoch: the zombie's fenced write is rejected.
    let op = ZkOp::Create { path: "/zombie-write".into(), data: Vec::new() };
    let fenced = zombie.fenced_multi(zombie_epoch.zk_version, &[op]).await;
    assert!(matches!(fenced, Err(ZkError::ControllerMoved)), "got {fenced:?}");
    assert!(admin_zk.exists("/zombie-write").await.expect("exists").is_none());

    // A topic created by the admin tools gets its partition state znodes from the controller.
    let admin = AdminZkClient::new(admin_zk.clone());
    let assignment = BTreeMap::from([(0, vec![1]), (1, vec![2])]);
    admin.create_topic_with_assignment("t", &BTreeMap::new(), &assignment).await.expect("topic created");
    let epoch = active.epoch();
    for (p, broker) in [(0, 1), (1, 2)] {
        let path = paths::partition_state("t", p);
        let json = wait_for("partition state znode", async || {
            admin_zk.get_data(&path).await.expect("read").map(|(d, _)| String::from_utf8(d).expect("utf8"))
        })
        .await;
        assert_eq!(
            json,
            format!(r#"{{"controller_epoch":{epoch},"leader":{broker},"version":1,"leader_epoch":0,"isr":[{broker}]}}"#)
        );
    }
    assert!(admin_zk.exists(paths::FEATURE).await.expect("exists").is_some());

    // Broker 1 got LeaderAndIsr (isNew) for t-0 from the controller, over a connection identified
    // as the controller's, before the UpdateMetadata carrying it.
    let client_id = format!("controller-{winner}-to-broker-1");
    let lai = wait_for("LeaderAndIsr for t-0", async || {
        broker1.received().into_iter().position(|r| r.api_key == 4 && r.partitions.iter().any(|p| p.0 == "t"))
    })
    .await;
    let received = broker1.received();
    assert_eq!(received[lai].client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(received[lai].api_version, 5);
    assert_eq!(received[lai].partitions, vec![("t".to_string(), 0, 1, 0, true)]);
    assert!(received[lai..].iter().any(|r| r.api_key == 6 && r.partitions.iter().any(|p| p.0 == "t")));
    assert!(received.iter().filter(|r| r.api_key != 18).all(|r| r.controller_epoch == epoch));

    // Deleting a topic whose only replica is on broker 1: UpdateMetadata with leader -2, StopReplica
    // without then with deletion (leader epoch -2), and once broker 1 confirms, the znodes go.
    admin.create_topic_with_assignment("d", &BTreeMap::new(), &BTreeMap::from([(0, vec![1])])).await.expect("created");
    wait_for("d-0 online", async || admin_zk.exists(&paths::partition_state("d", 0)).await.expect("exists")).await;
    admin.delete_topic("d").await.expect("deletion requested");
    for node in [paths::topic("d"), paths::config_entity("topics", "d"), paths::delete_topic("d")] {
        wait_for("deletion of the topic's znodes", async || admin_zk.exists(&node).await.expect("exists").is_none().then_some(())).await;
    }
    let about_d: Vec<(i16, Vec<fake_broker::PartitionEntry>)> = broker1
        .received()
        .into_iter()
        .filter(|r| r.api_key != 4 && r.partitions.iter().any(|p| p.0 == "d"))
        .map(|r| (r.api_key, r.partitions.into_iter().filter(|p| p.0 == "d").collect()))
        .collect();
    let deletion: Vec<_> = about_d.iter().skip_while(|(key, parts)| !(*key == 6 && parts[0].2 == -2)).collect();
    assert_eq!(
        deletion.iter().map(|(k, p)| (*k, p.clone())).collect::<Vec<_>>(),
        vec![
            (6, vec![("d".to_string(), 0, -2, 0, false)]),
            (5, vec![("d".to_string(), 0, 0, -2, false)]),
            (5, vec![("d".to_string(), 0, 0, -2, true)]),
        ],
        "UpdateMetadata(leader -2), StopReplica(delete=false), StopReplica(delete=true), epoch -2"
    );

    // The active controller shuts down: the standby takes over with the next epoch.
    active.shutdown().await;
    assert!(!active.is_active());
    wait_for("failover to the standby", async || standby.is_active().then_some(())).await;
    assert_eq!(standby.epoch(), epoch + 1);

    standby.shutdown().await;
    drop((zk1, zk2, zombie, admin_zk));
    drop(zookeeper);
}

/// Start the controller of broker `id` on an already registered session; returns its broker epoch
/// handle too.
fn start_controller(zk: &KafkaZkClient, id: i32, port: u16, epoch: i64) -> (KafkaController, Arc<AtomicI64>) {
    let epoch = Arc::new(AtomicI64::new(epoch));
    let c = KafkaController::start(zk.clone(), ControllerConfig::with_defaults(id), registration(port), epoch.clone());
    (c, epoch)
}

async fn state_of(zk: &KafkaZkClient, topic: &str, p: i32) -> Option<(zk_schema::model::PartitionStateZNode, i32)> {
    let path = paths::partition_state(topic, p);
    zk.get_data(&path).await.expect("read").map(|(d, s)| (zk_schema::model::PartitionStateZNode::decode(&path, &d).expect("state"), s.version))
}

async fn topic_node(zk: &KafkaZkClient, topic: &str) -> zk_schema::model::TopicZNode {
    let path = paths::topic(topic);
    let (d, _) = zk.get_data(&path).await.expect("read").expect("topic exists");
    zk_schema::model::TopicZNode::decode(&path, &d).expect("topic znode")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reassignment_preferred_election_and_session_expiry_against_real_zookeeper() {
    use std::sync::atomic::Ordering;
    use wire::kafka_protocol::messages::alter_partition_request::{PartitionData, TopicData};
    use wire::kafka_protocol::messages::{AlterPartitionRequest, BrokerId, TopicName};
    use wire::kafka_protocol::protocol::StrBytes;
    use zk_schema::model::{PartitionRef, PartitionsZNode, ReassignPartitionsZNode, ReassignmentEntry};

    let zookeeper = match start_zookeeper() {
        Ok(z) => z,
        Err(reason) => {
            println!("SKIPPED: real ZooKeeper test needs Java and Debian's ZooKeeper: {reason}");
            return;
        }
    };
    let admin_zk = connect(zookeeper.port()).await;
    admin_zk.create_top_level_paths().await.expect("top-level paths");
    // Brokers 2 and 3 are only registered; broker 1 runs the controller.
    let zk2 = connect(zookeeper.port()).await;
    zk2.register_broker(2, &registration(free_port())).await.expect("registered");
    let zk3 = connect(zookeeper.port()).await;
    zk3.register_broker(3, &registration(free_port())).await.expect("registered");
    let zk1 = connect(zookeeper.port()).await;
    let e1 = zk1.register_broker(1, &registration(free_port())).await.expect("registered");
    let (c1, epoch1) = start_controller(&zk1, 1, free_port(), e1);
    wait_for("broker 1 to be controller", async || c1.is_active().then_some(())).await;

    let admin = AdminZkClient::new(admin_zk.clone());
    admin.create_topic_with_assignment("r", &BTreeMap::new(), &BTreeMap::from([(0, vec![1, 2])])).await.expect("created");
    wait_for("r-0 online", async || state_of(&admin_zk, "r", 0).await.filter(|(s, _)| s.isr == vec![1, 2])).await;

    // Reassign r-0 from [1,2] to [2,3] through /admin/reassign_partitions.
    let request = ReassignPartitionsZNode {
        version: 1,
        partitions: vec![ReassignmentEntry { topic: "r".into(), partition: 0, replicas: vec![2, 3], log_dirs: None }],
    };
    admin_zk.create_persistent(paths::REASSIGN_PARTITIONS, &request.encode()).await.expect("reassignment requested");
    wait_for("RS/AR/RR in the topic znode", async || {
        let n = topic_node(&admin_zk, "r").await;
        (n.partitions.get(&0) == Some(&vec![2, 3, 1])
            && n.adding_replicas.get(&0) == Some(&vec![3])
            && n.removing_replicas.get(&0) == Some(&vec![1]))
        .then_some(())
    })
    .await;
    let listed = c1.list_partition_reassignments(None).await.expect("active");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].1.adding_replicas, vec![3]);

    // The leader (broker 1) reports 3 caught up through AlterIsr: the reassignment completes.
    let (state, version) = state_of(&admin_zk, "r", 0).await.expect("state");
    let alter = AlterPartitionRequest::default().with_broker_id(BrokerId(1)).with_broker_epoch(epoch1.load(Ordering::SeqCst)).with_topics(vec![
        TopicData::default().with_topic_name(TopicName(StrBytes::from_static_str("r"))).with_partitions(vec![PartitionData::default()
            .with_partition_index(0)
            .with_leader_epoch(state.leader_epoch)
            .with_new_isr(vec![BrokerId(1), BrokerId(2), BrokerId(3)])
            .with_partition_epoch(version)]),
    ]);
    let response = c1.alter_isr(alter).await;
    assert_eq!(response.error_code, 0);
    let p = &response.topics[0].partitions[0];
    assert_eq!((p.error_code, p.partition_epoch), (0, version + 1));
    wait_for("reassignment completion", async || {
        let n = topic_node(&admin_zk, "r").await;
        let gone = admin_zk.exists(paths::REASSIGN_PARTITIONS).await.expect("exists").is_none();
        (gone && n.partitions.get(&0) == Some(&vec![2, 3]) && n.adding_replicas.is_empty()).then_some(())
    })
    .await;
    let (s, _) = state_of(&admin_zk, "r", 0).await.expect("state");
    assert_eq!((s.leader, s.isr.clone()), (2, vec![2, 3]), "leader moved into the targets, 1 out of the ISR");

    // The watch was re-armed: a second request is seen (same replicas reordered: completes at once).
    let request = ReassignPartitionsZNode {
        version: 1,
        partitions: vec![ReassignmentEntry { topic: "r".into(), partition: 0, replicas: vec![3, 2], log_dirs: None }],
    };
    admin_zk.create_persistent(paths::REASSIGN_PARTITIONS, &request.encode()).await.expect("second reassignment");
    wait_for("second reassignment", async || {
        let n = topic_node(&admin_zk, "r").await;
        let gone = admin_zk.exists(paths::REASSIGN_PARTITIONS).await.expect("exists").is_none();
        (gone && n.partitions.get(&0) == Some(&vec![3, 2])).then_some(())
    })
    .await;

    // Preferred replica election through /admin/preferred_replica_election: 3 becomes leader.
    let node = PartitionsZNode::new(vec![PartitionRef { topic: "r".into(), partition: 0 }]);
    admin_zk.create_persistent(paths::PREFERRED_REPLICA_ELECTION, &node.encode()).await.expect("election requested");
    wait_for("preferred leader", async || {
        let gone = admin_zk.exists(paths::PREFERRED_REPLICA_ELECTION).await.expect("exists").is_none();
        state_of(&admin_zk, "r", 0).await.filter(|(s, _)| gone && s.leader == 3)
    })
    .await;
    // And again (watch re-armed after the delete), through ElectLeaders this time: not needed.
    let r = c1.elect_leaders(controller::ElectionType::Preferred, Some(vec![("r".into(), 0)])).await;
    assert_eq!(r[0].1.as_ref().unwrap_err().0, 84, "ELECTION_NOT_NEEDED");

    // Session expiry of the controller: close its session from outside with the same credentials.
    let controller_epoch = c1.epoch();
    let (_, epoch_stat) = admin_zk.get_data(paths::CONTROLLER_EPOCH).await.expect("read").expect("exists");
    let session = zk1.raw().await.session().clone();
    let mut attempts = 0;
    let hijack = loop {
        let r = zookeeper_client::Client::connector()
            .with_session(session.clone())
            .with_session_timeout(Duration::from_secs(6))
            .with_connection_timeout(Duration::from_secs(10))
            .connect(&format!("127.0.0.1:{}", zookeeper.port()))
            .await;
        attempts += 1;
        match r {
            Ok(c) => break c,
            Err(e) if attempts < 5 => eprintln!("attaching to the controller's session: {e}; retrying"),
            Err(e) => panic!("could not attach to the controller's session: {e}"),
        }
    };
    // Dropping the last client of a (non-detached) session closes it: broker 1's session expires.
    drop(hijack);
    wait_for("broker 1 re-registered with a new broker epoch", async || {
        (epoch1.load(Ordering::SeqCst) > e1).then_some(())
    })
    .await;
    let (_, stat) = admin_zk.get_data(&paths::broker_id(1)).await.expect("read").expect("registered again");
    assert_eq!(stat.czxid, epoch1.load(Ordering::SeqCst), "broker epoch is the new registration's czxid");
    wait_for("re-election after the expiry", async || (c1.is_active() && c1.epoch() > controller_epoch).then_some(())).await;
    assert_eq!(c1.epoch(), controller_epoch + 1);
    // Anything fenced with the old controller epoch version is rejected.
    let op = ZkOp::Create { path: "/stale-write".into(), data: Vec::new() };
    assert!(matches!(admin_zk.fenced_multi(epoch_stat.version, &[op]).await, Err(ZkError::ControllerMoved)));

    // Controlled shutdown of broker 3 (leader of r-0 = [3,2]) through the handle: leadership moves
    // to 2 and 3 leaves the ISR; nothing remains on 3.
    let remaining = c1.controlled_shutdown(3, -1).await.expect("accepted");
    assert!(remaining.is_empty(), "{remaining:?}");
    let (s, _) = state_of(&admin_zk, "r", 0).await.expect("state");
    assert_eq!((s.leader, s.isr.clone()), (2, vec![2]));
    let err = c1.controlled_shutdown(9, -1).await.unwrap_err();
    assert_eq!(err.code(), 8, "BROKER_NOT_AVAILABLE");

    c1.shutdown().await;
    let err = c1.controlled_shutdown(3, -1).await.unwrap_err();
    assert_eq!(err.code(), 11, "STALE_CONTROLLER_EPOCH once the controller is gone");
    drop((zk1, zk2, zk3, admin_zk));
    drop(zookeeper);
}

/// Benchmark (run with `--ignored --nocapture`): 10,000 partitions on 3 brokers against a real
/// ZooKeeper — creation, then a broker failure — with the time each took.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark, not a check: 10,000 partitions against real ZooKeeper; run with --ignored --nocapture"]
async fn ten_thousand_partitions_against_real_zookeeper() {
    const N: i32 = 10_000;
    let zookeeper = match start_zookeeper() {
        Ok(z) => z,
        Err(reason) => {
            println!("SKIPPED: real ZooKeeper test needs Java and Debian's ZooKeeper: {reason}");
            return;
        }
    };
    let admin_zk = connect(zookeeper.port()).await;
    admin_zk.create_top_level_paths().await.expect("top-level paths");
    let zk2 = connect(zookeeper.port()).await;
    zk2.register_broker(2, &registration(free_port())).await.expect("registered");
    let zk3 = connect(zookeeper.port()).await;
    zk3.register_broker(3, &registration(free_port())).await.expect("registered");
    let zk1 = connect(zookeeper.port()).await;
    let e1 = zk1.register_broker(1, &registration(free_port())).await.expect("registered");
    let (c1, _) = start_controller(&zk1, 1, free_port(), e1);
    wait_for("broker 1 to be controller", async || c1.is_active().then_some(())).await;

    let assignment: BTreeMap<i32, Vec<i32>> = (0..N).map(|p| (p, (0..3).map(|i| (p + i) % 3 + 1).collect())).collect();
    let admin = AdminZkClient::new(admin_zk.clone());
    let start = Instant::now();
    admin.create_topic_with_assignment("big", &BTreeMap::new(), &assignment).await.expect("created");
    let all: Vec<String> = (0..N).map(|p| paths::partition_state("big", p)).collect();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let states = admin_zk.get_data_many(&all).await.expect("read");
        if states.iter().all(Option::is_some) {
            break;
        }
        assert!(Instant::now() < deadline, "creation timed out");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("real ZooKeeper: creation of {N} partitions took {} ms", start.elapsed().as_millis());

    // Broker 2 dies (its session closes): every partition it led gets a new leader.
    let start = Instant::now();
    drop(zk2);
    loop {
        let states = admin_zk.get_data_many(&all).await.expect("read");
        let done = states.iter().zip(&all).all(|(d, path)| {
            let (data, _) = d.as_ref().expect("state");
            let s = zk_schema::model::PartitionStateZNode::decode(path, data).expect("state");
            s.leader != 2 && !s.isr.contains(&2)
        });
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "failover timed out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("real ZooKeeper: failure of broker 2 handled for {N} partitions in {} ms (incl. session close)", start.elapsed().as_millis());

    c1.shutdown().await;
    drop((zk1, zk3, admin_zk));
    drop(zookeeper);
}
