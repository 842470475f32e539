//! Helpers shared by the tools tests that need a real Apache ZooKeeper (started by
//! [`zk_testkit::ZooKeeper`]): running the tools and raw znode access. Each test binary
//! uses only part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::process::Command;
use std::time::Duration;

use zk_schema::KafkaZkClient;

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
