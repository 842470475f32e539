//! Legacy consumer offsets (`/consumers/<group>/offsets/<topic>/<partition>`) against a real Apache
//! ZooKeeper (Debian's package, on the first free port of 23191–23199 with a throw-away data dir).
//! Skipped with a message when Java or the ZooKeeper jars are missing.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zk_schema::{paths, KafkaZkClient, ZkError};

const JAVA_DIR: &str = "/usr/share/java";
const JARS: &[&str] =
    &["zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar", "slf4j-nop.jar", "metrics-core.jar", "commons-cli.jar"];
const PORTS: std::ops::RangeInclusive<u16> = 23191..=23199;

/// A ZooKeeper server process, killed (and its directory removed) when dropped.
struct ZooKeeper {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_zookeeper() -> Result<ZooKeeper, String> {
    let java_dir = Path::new(JAVA_DIR);
    if !java_dir.join("zookeeper.jar").exists() {
        return Err(format!("{JAVA_DIR}/zookeeper.jar not found (Debian package `zookeeper`)"));
    }
    if Command::new("java").arg("-version").stderr(Stdio::null()).status().map(|s| !s.success()).unwrap_or(true) {
        return Err("`java` is not runnable".into());
    }
    let port =
        PORTS.clone().find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok()).ok_or("no free port in 23191-23199")?;
    let classpath: Vec<String> =
        JARS.iter().map(|j| java_dir.join(j)).filter(|p| p.exists()).map(|p| p.display().to_string()).collect();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("zk-consumer-offsets-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("data")).map_err(|e| e.to_string())?;
    let cfg = dir.join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=500\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n",
            dir.join("data").display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.join("zookeeper.log")).map_err(|e| e.to_string())?;
    let child = Command::new("java")
        .arg("-cp")
        .arg(classpath.join(":"))
        .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start java: {e}"))?;
    let mut zk = ZooKeeper { child, dir, port };
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = zk.child.try_wait() {
            return Err(format!("ZooKeeper exited with {status}; see {}", zk.dir.join("zookeeper.log").display()));
        }
        if Instant::now() > deadline {
            return Err("ZooKeeper did not listen within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    zk.port = port;
    Ok(zk)
}

async fn connect(connect: &str) -> KafkaZkClient {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match KafkaZkClient::connect(connect, Duration::from_secs(6), Duration::from_secs(3)).await {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for ZooKeeper: {e}");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => panic!("ZooKeeper did not come up: {e}"),
        }
    }
}

#[tokio::test]
async fn consumer_offsets_are_created_overwritten_and_read_as_decimal_text() {
    let server = match start_zookeeper() {
        Ok(s) => s,
        Err(reason) => {
            eprintln!("skipping the ZooKeeper test: {reason}");
            return;
        }
    };
    // Under a chroot, as brokers usually run.
    let zk = connect(&format!("127.0.0.1:{}/kafka", server.port)).await;

    assert_eq!(zk.get_consumer_offset("g", "t", 0).await.unwrap(), None);

    // First commit creates /consumers/g/offsets/t/0 and every missing parent.
    zk.set_consumer_offset("g", "t", 0, 42).await.unwrap();
    assert_eq!(zk.get_consumer_offset("g", "t", 0).await.unwrap(), Some(42));
    let (data, _) = zk.get_data("/consumers/g/offsets/t/0").await.unwrap().expect("node exists");
    assert_eq!(data, b"42");

    // Later commits overwrite; other partitions and groups are separate nodes.
    zk.set_consumer_offset("g", "t", 0, 1000).await.unwrap();
    zk.set_consumer_offset("g", "t", 1, -1).await.unwrap();
    zk.set_consumer_offset("other", "t", 0, 5).await.unwrap();
    assert_eq!(zk.get_consumer_offset("g", "t", 0).await.unwrap(), Some(1000));
    assert_eq!(zk.get_consumer_offset("g", "t", 1).await.unwrap(), Some(-1));
    assert_eq!(zk.get_consumer_offset("other", "t", 0).await.unwrap(), Some(5));
    assert_eq!(zk.get_consumer_offset("g", "u", 0).await.unwrap(), None);
    let mut partitions = zk.get_children("/consumers/g/offsets/t").await.unwrap();
    partitions.sort();
    assert_eq!(partitions, ["0", "1"]);

    // The chroot holds it all: seen from the root the node is under /kafka.
    let root = connect(&format!("127.0.0.1:{}", server.port)).await;
    let (data, _) = root.get_data("/kafka/consumers/g/offsets/t/0").await.unwrap().expect("under the chroot");
    assert_eq!(data, b"1000");

    // What Kafka cannot parse is reported, not turned into an offset.
    root.set_data(&format!("/kafka{}", paths::consumer_offset("g", "t", 1)), b"not-a-number", None).await.unwrap();
    assert!(matches!(zk.get_consumer_offset("g", "t", 1).await, Err(ZkError::Malformed { .. })));
}
