//! The ZooKeeper harness shared by the tools tests that need a real Apache ZooKeeper
//! (Debian's package, started on a free port with a throw-away data dir). Each test binary
//! uses only part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zk_schema::KafkaZkClient;

const JARS: &str = "/usr/share/java";

/// A ZooKeeper server process, killed (and its data dir removed) when dropped.
pub struct ZooKeeper {
    child: Child,
    pub dir: PathBuf,
    pub port: u16,
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// Start ZooKeeper with its files in a fresh `<temp>/<dir_prefix>-<pid>-<nanos>` directory,
/// or explain why it cannot be started here.
pub fn start_zookeeper(dir_prefix: &str) -> Result<ZooKeeper, String> {
    let zk_jar = Path::new(JARS).join("zookeeper.jar");
    if !zk_jar.exists() {
        return Err(format!("{} not found (apt-get install zookeeper)", zk_jar.display()));
    }
    if Command::new("java").arg("-version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        return Err("java is not installed".into());
    }
    let classpath: Vec<String> =
        ["zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar", "slf4j-log4j12.jar", "log4j-1.2.jar"]
            .iter()
            .map(|j| Path::new(JARS).join(j))
            .filter(|p| p.exists())
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("{dir_prefix}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("data")).map_err(|e| e.to_string())?;
    let port = free_port();
    let cfg = dir.join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n",
            dir.join("data").display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.join("zookeeper.out")).map_err(|e| e.to_string())?;
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
            let mut out = String::new();
            let _ = std::fs::File::open(zk.dir.join("zookeeper.out")).and_then(|mut f| f.read_to_string(&mut out));
            return Err(format!("ZooKeeper exited with {status}: {out}"));
        }
        if Instant::now() > deadline {
            return Err("ZooKeeper did not listen within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let it finish starting its session tracker.
    std::thread::sleep(Duration::from_millis(300));
    zk.port = port;
    Ok(zk)
}

/// Exit code and output of one tool run.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(bin: &str, args: &[&str]) -> Outcome {
    let out = Command::new(bin).args(args).output().expect("run tool");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run `bin --zookeeper <zk> <args>`.
pub fn run_zk(bin: &str, zk: &str, args: &[&str]) -> Outcome {
    let mut all = vec!["--zookeeper", zk];
    all.extend_from_slice(args);
    run(bin, &all)
}

/// Exit code 0 and exactly this on stdout.
pub fn ok(o: &Outcome, expected_stdout: &str) {
    assert_eq!(o.code, 0, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    assert_eq!(o.stdout, expected_stdout, "stderr: {}", o.stderr);
}

/// Raw znode reads and writes, through a tokio runtime.
pub struct Zk {
    rt: tokio::runtime::Runtime,
    client: KafkaZkClient,
}

impl Zk {
    pub fn connect(connect: &str) -> Zk {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let client = rt
            .block_on(KafkaZkClient::connect(connect, Duration::from_secs(10), Duration::from_secs(10)))
            .expect("connect to ZooKeeper");
        Zk { rt, client }
    }

    pub fn get(&self, path: &str) -> Option<String> {
        self.rt
            .block_on(self.client.get_data(path))
            .expect("get_data")
            .map(|(d, _)| String::from_utf8_lossy(&d).into_owned())
    }

    pub fn create(&self, path: &str, data: &str) {
        self.rt.block_on(self.client.create_recursive(path, data.as_bytes())).expect("create");
    }

    pub fn set(&self, path: &str, data: &[u8]) {
        self.rt.block_on(self.client.set_data(path, data, None)).expect("set");
    }

    pub fn delete(&self, path: &str) {
        self.rt.block_on(self.client.delete(path, None)).expect("delete");
    }

    /// The sorted children of `path`; panics if it cannot be read (e.g. it does not exist).
    pub fn children(&self, path: &str) -> Vec<String> {
        let mut c = self.rt.block_on(self.client.get_children(path)).expect("children");
        c.sort();
        c
    }

    /// The sorted children of `path`, or none if it cannot be read.
    pub fn children_or_empty(&self, path: &str) -> Vec<String> {
        let mut c = self.rt.block_on(self.client.get_children(path)).unwrap_or_default();
        c.sort();
        c
    }
}
