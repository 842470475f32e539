//! The controller against a real Apache ZooKeeper (Debian's package, started on a free port):
//! election race, fencing of a zombie controller, partition state znodes of a new topic, the
//! requests a (fake) broker receives over the wire, topic deletion end to end, and failover when the
//! active controller shuts down. Skipped with a message when Java or the ZooKeeper jars are missing.

#[path = "common/fake_broker.rs"]
mod fake_broker;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use controller::{ControllerConfig, KafkaController};
use zk_schema::admin::AdminZkClient;
use zk_schema::client::ZkOp;
use zk_schema::model::{BrokerEndpoint, BrokerRegistration};
use zk_schema::{paths, KafkaZkClient, ZkError};

const JARS: &[&str] = &[
    "zookeeper.jar",
    "zookeeper-jute.jar",
    "slf4j-api.jar",
    "slf4j-nop.jar",
    "metrics-core.jar",
    "commons-cli.jar",
    "netty-handler.jar",
    "netty-common.jar",
    "netty-buffer.jar",
    "netty-transport.jar",
    "netty-codec.jar",
    "netty-resolver.jar",
    "netty-transport-native-epoll.jar",
    "netty-transport-native-unix-common.jar",
];

/// A ZooKeeper server process, killed when dropped.
struct ZooKeeper {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn start_zookeeper() -> Result<ZooKeeper, String> {
    let java_dir = Path::new("/usr/share/java");
    if !java_dir.join("zookeeper.jar").exists() {
        return Err("/usr/share/java/zookeeper.jar not found (Debian package `zookeeper`)".into());
    }
    if Command::new("java").arg("-version").stderr(Stdio::null()).status().map(|s| !s.success()).unwrap_or(true) {
        return Err("`java` is not runnable".into());
    }
    let classpath: Vec<String> =
        JARS.iter().map(|j| java_dir.join(j)).filter(|p| p.exists()).map(|p| p.display().to_string()).collect();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = free_port();
    let cfg = dir.path().join("zoo.cfg");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    std::fs::write(
        &cfg,
        format!("tickTime=500\ndataDir={}\nclientPort={port}\nadmin.enableServer=false\n", data.display()),
    )
    .map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.path().join("zookeeper.log")).map_err(|e| e.to_string())?;
    let child = Command::new("java")
        .arg("-cp")
        .arg(classpath.join(":"))
        .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
        .arg(&cfg)
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start java: {e}"))?;
    Ok(ZooKeeper { child, port, _dir: dir })
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
    let admin_zk = connect(zookeeper.port).await;
    admin_zk.create_top_level_paths().await.expect("top-level paths");

    // A zombie: it once won an election, then lost /controller with its session.
    let zombie = connect(zookeeper.port).await;
    let zombie_epoch = zombie.register_controller_and_increment_epoch(99, 0).await.expect("zombie elected");
    zombie.delete(paths::CONTROLLER, None).await.expect("released");

    // Two brokers race for the controller. Broker 1's endpoint is a fake broker answering the
    // controller's requests; nothing listens on broker 2's (its channel keeps retrying).
    let broker1 = fake_broker::FakeBroker::start().await;
    let (zk1, c1) = start_broker(zookeeper.port, 1, broker1.port).await;
    let (zk2, c2) = start_broker(zookeeper.port, 2, free_port()).await;
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
