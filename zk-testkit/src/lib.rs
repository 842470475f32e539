//! A real Apache ZooKeeper for tests: Debian's package (`java` + the jars in `/usr/share/java`),
//! started on a free port (or the first free one of a given range) with a throw-away directory,
//! and killed — its directory removed — when dropped.
//!
//! It exists so the tests of zk-schema, controller and tools share one harness instead of three
//! copies. It depends on nothing but std, so zk-schema can take it as a dev-dependency without a
//! cycle; callers connect with their own client to [`ZooKeeper::connect_string`].
//!
//! When Java or the ZooKeeper jars are missing, [`Builder::start`] returns a [`StartError`] whose
//! message says why; tests print it and skip.

use std::fmt;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where Debian's `zookeeper` package installs its jars (and their dependencies).
pub const JAVA_DIR: &str = "/usr/share/java";

/// The classpath, in `JAVA_DIR`; jars that are not installed are left out. slf4j-nop keeps
/// ZooKeeper quiet; netty, metrics-core and commons-cli are what ZooKeeper 3.8's server may load.
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

/// How long ZooKeeper gets to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The server's stdout and stderr, inside its directory.
const LOG_FILE: &str = "zookeeper.log";

/// Why ZooKeeper could not be started; its `Display` is the reason a skipped test prints.
#[derive(Debug)]
pub enum StartError {
    /// `/usr/share/java/zookeeper.jar` is not installed.
    NotInstalled,
    /// `java -version` cannot be run successfully.
    NoJava,
    /// No port of the requested range could be bound.
    NoFreePort(RangeInclusive<u16>),
    /// Creating the directory, config or log file failed, or asking the OS for a port.
    Io(std::io::Error),
    /// The `java` process could not be spawned.
    Spawn(std::io::Error),
    /// The server exited before listening; `log` is what it wrote.
    Exited { status: String, log: String },
    /// The server did not listen within [`START_TIMEOUT`].
    Timeout,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::NotInstalled => {
                write!(f, "{JAVA_DIR}/zookeeper.jar not found (Debian package `zookeeper`)")
            }
            StartError::NoJava => write!(f, "`java` is not runnable"),
            StartError::NoFreePort(r) => write!(f, "no free port in {}-{}", r.start(), r.end()),
            StartError::Io(e) => write!(f, "{e}"),
            StartError::Spawn(e) => write!(f, "cannot start java: {e}"),
            StartError::Exited { status, log } => write!(f, "ZooKeeper exited with {status}: {log}"),
            StartError::Timeout => write!(f, "ZooKeeper did not listen within {} s", START_TIMEOUT.as_secs()),
        }
    }
}

impl std::error::Error for StartError {}

impl From<std::io::Error> for StartError {
    fn from(e: std::io::Error) -> Self {
        StartError::Io(e)
    }
}

/// A port nothing listens on right now, chosen by the OS (for ZooKeeper or a test's brokers).
///
/// # Panics
/// When the OS cannot bind an ephemeral port on 127.0.0.1 — a test cannot go on then.
pub fn free_port() -> u16 {
    match os_free_port() {
        Ok(port) => port,
        Err(e) => panic!("no free port on 127.0.0.1: {e}"),
    }
}

fn os_free_port() -> std::io::Result<u16> {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port())
}

/// The first port of `ports` that can be bound on 127.0.0.1.
fn first_free_port(ports: &RangeInclusive<u16>) -> Option<u16> {
    ports.clone().find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
}

/// The `zoo.cfg` of a standalone server on 127.0.0.1:`port` keeping its data in `data_dir`.
fn zoo_cfg(data_dir: &Path, port: u16, tick_time_ms: u32) -> String {
    format!(
        "tickTime={tick_time_ms}\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
         maxClientCnxns=0\nadmin.enableServer=false\n",
        data_dir.display()
    )
}

/// How to start a [`ZooKeeper`]: where its directory goes, which port, which tick.
#[derive(Debug, Clone)]
pub struct Builder {
    dir_prefix: String,
    ports: Option<RangeInclusive<u16>>,
    tick_time_ms: u32,
}

impl Builder {
    /// Take the first free port of `ports` instead of one chosen by the OS (for tests that must
    /// stay inside a port range given to them).
    pub fn ports(mut self, ports: RangeInclusive<u16>) -> Self {
        self.ports = Some(ports);
        self
    }

    /// ZooKeeper's `tickTime` (default 2000 ms, ZooKeeper's own); session timeouts are bounded
    /// to 2–20 ticks, so a short tick lets tests use short sessions.
    pub fn tick_time_ms(mut self, tick_time_ms: u32) -> Self {
        self.tick_time_ms = tick_time_ms;
        self
    }

    /// Start the server and wait until it accepts connections, or say why it cannot run here.
    pub fn start(self) -> Result<ZooKeeper, StartError> {
        let java_dir = Path::new(JAVA_DIR);
        if !java_dir.join("zookeeper.jar").exists() {
            return Err(StartError::NotInstalled);
        }
        let java_ok = Command::new("java")
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !java_ok {
            return Err(StartError::NoJava);
        }
        let port = match &self.ports {
            Some(range) => first_free_port(range).ok_or_else(|| StartError::NoFreePort(range.clone()))?,
            None => os_free_port()?,
        };
        let classpath: Vec<String> =
            JARS.iter().map(|j| java_dir.join(j)).filter(|p| p.exists()).map(|p| p.display().to_string()).collect();
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("{}-{}-{nanos}", self.dir_prefix, std::process::id()));
        let data = dir.join("data");
        std::fs::create_dir_all(&data)?;
        let cfg = dir.join("zoo.cfg");
        std::fs::write(&cfg, zoo_cfg(&data, port, self.tick_time_ms))?;
        let log = std::fs::File::create(dir.join(LOG_FILE))?;
        let spawned = Command::new("java")
            .arg("-cp")
            .arg(classpath.join(":"))
            .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(StartError::Spawn(e));
            }
        };
        // From here on, dropping `zk` kills the process and removes the directory.
        let mut zk = ZooKeeper { child, dir, port };
        zk.wait_until_listening()?;
        Ok(zk)
    }
}

/// A running ZooKeeper server process, killed (and its directory removed) when dropped.
#[derive(Debug)]
pub struct ZooKeeper {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl ZooKeeper {
    /// How to start one whose directory is `<temp>/<dir_prefix>-<pid>-<nanos>`, on a port chosen
    /// by the OS, with ZooKeeper's default tick.
    pub fn builder(dir_prefix: &str) -> Builder {
        Builder { dir_prefix: dir_prefix.to_string(), ports: None, tick_time_ms: 2000 }
    }

    /// Start one with the defaults of [`ZooKeeper::builder`].
    pub fn start(dir_prefix: &str) -> Result<ZooKeeper, StartError> {
        Self::builder(dir_prefix).start()
    }

    /// The client port, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`, what clients and brokers are given as `zookeeper.connect`.
    pub fn connect_string(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's throw-away directory (data, config, log); tests may put their own files here,
    /// and they are removed with it.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn wait_until_listening(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut log = String::new();
                let _ = std::fs::File::open(self.dir.join(LOG_FILE)).and_then(|mut f| f.read_to_string(&mut log));
                return Err(StartError::Exited { status: status.to_string(), log });
            }
            if Instant::now() > deadline {
                return Err(StartError::Timeout);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Listening comes before the session tracker is ready; give it a moment.
        std::thread::sleep(Duration::from_millis(300));
        Ok(())
    }
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_binds_loopback_on_the_port_with_the_tick() {
        let cfg = zoo_cfg(Path::new("/tmp/zk/data"), 23191, 500);
        assert_eq!(
            cfg,
            "tickTime=500\ndataDir=/tmp/zk/data\nclientPort=23191\nclientPortAddress=127.0.0.1\n\
             maxClientCnxns=0\nadmin.enableServer=false\n"
        );
    }

    #[test]
    fn first_free_port_skips_a_bound_one() {
        let held = TcpListener::bind("127.0.0.1:0").expect("bind");
        let busy = held.local_addr().expect("addr").port();
        assert_eq!(first_free_port(&(busy..=busy)), None);
        let found = first_free_port(&(busy..=busy.saturating_add(50)));
        assert!(matches!(found, Some(p) if p != busy), "got {found:?}");
    }

    #[test]
    fn skip_reasons_name_what_is_missing() {
        assert_eq!(
            StartError::NotInstalled.to_string(),
            "/usr/share/java/zookeeper.jar not found (Debian package `zookeeper`)"
        );
        assert_eq!(StartError::NoFreePort(23191..=23199).to_string(), "no free port in 23191-23199");
    }

    #[test]
    fn starts_listens_and_cleans_up_on_drop() {
        let zk = match ZooKeeper::builder("zk-testkit-self").tick_time_ms(500).start() {
            Ok(zk) => zk,
            Err(reason) => {
                eprintln!("skipping the ZooKeeper test: {reason}");
                return;
            }
        };
        assert_eq!(zk.connect_string(), format!("127.0.0.1:{}", zk.port()));
        assert!(TcpStream::connect(("127.0.0.1", zk.port())).is_ok());
        let dir = zk.dir().to_path_buf();
        assert!(dir.join("zoo.cfg").exists());
        let port = zk.port();
        drop(zk);
        assert!(!dir.exists(), "directory removed on drop");
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "server killed on drop");
    }
}
