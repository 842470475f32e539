//! End-to-end tests of the console producer and consumer binaries against an in-process
//! fake broker (the real broker is developed separately).

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::fake_broker::FakeBroker;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tools::client::murmur2::partition_for_key;

const PRODUCER: &str = env!("CARGO_BIN_EXE_kafka-console-producer");
const CONSUMER: &str = env!("CARGO_BIN_EXE_kafka-console-consumer");

async fn run_producer(args: &[&str], input: &str) -> (i32, String, String) {
    let mut child = Command::new(PRODUCER)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("producer timed out")
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn run_consumer(args: &[&str]) -> (i32, String, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        Command::new(CONSUMER).args(args).stdin(Stdio::null()).output(),
    )
    .await
    .expect("consumer timed out")
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_follow_murmur2_and_round_trip() {
    let broker = FakeBroker::start(&[("keyed", 5)]).await;
    let keys: Vec<String> = (0..40).map(|i| format!("key-{i}")).collect();
    let input: String = keys.iter().map(|k| format!("{k}:value-of-{k}\n")).collect();
    for codec in ["none", "snappy"] {
        let (code, stdout, stderr) = run_producer(
            &[
                "--bootstrap-server", &broker.addr, "--topic", "keyed", "--property",
                "parse.key=true", "--property", "key.separator=:", "--compression-codec", codec,
            ],
            &input,
        )
        .await;
        assert_eq!(code, 0, "stderr: {stderr}");
        assert_eq!(stdout, ">".repeat(41), "one prompt per read");
    }
    let recs = broker.records("keyed");
    assert_eq!(recs.len(), 80);
    for (p, _, key, value) in &recs {
        let key = key.as_ref().unwrap();
        assert_eq!(*p, partition_for_key(key, 5), "key {key:?}");
        assert_eq!(
            value.as_deref().unwrap(),
            format!("value-of-{}", String::from_utf8_lossy(key)).as_bytes()
        );
    }

    let (code, stdout, stderr) = run_consumer(&[
        "--bootstrap-server", &broker.addr, "--topic", "keyed", "--from-beginning",
        "--max-messages", "80", "--property", "print.key=true", "--property", "print.partition=true",
    ])
    .await;
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stderr.ends_with("Processed a total of 80 messages\n"), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 80);
    for line in lines {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "{line}");
        let p: i32 = cols[0].strip_prefix("Partition:").unwrap().parse().unwrap();
        assert_eq!(p, partition_for_key(cols[1].as_bytes(), 5));
        assert_eq!(cols[2], format!("value-of-{}", cols[1]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_created_topic_and_timeout_exit() {
    let broker = FakeBroker::start(&[]).await;
    let (code, _, stderr) = run_producer(
        &["--bootstrap-server", &broker.addr, "--topic", "fresh", "--sync"],
        "a\nb\nc\n",
    )
    .await;
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stderr.contains("LEADER_NOT_AVAILABLE"), "Kafka-style warning expected: {stderr}");
    let values: Vec<_> = broker.records("fresh").into_iter().map(|r| r.3.unwrap()).collect();
    assert_eq!(values, ["a", "b", "c"]);

    let (code, stdout, stderr) = run_consumer(&[
        "--bootstrap-server", &broker.addr, "--topic", "fresh", "--from-beginning",
        "--timeout-ms", "1500", "--property", "print.offset=true",
    ])
    .await;
    assert_eq!(code, 0);
    assert_eq!(stdout, "Offset:0\ta\nOffset:1\tb\nOffset:2\tc\n");
    assert!(stderr.contains("TimeoutException"), "{stderr}");
    assert!(stderr.ends_with("Processed a total of 3 messages\n"), "{stderr}");

    // --partition/--offset start in the middle.
    let (_, stdout, _) = run_consumer(&[
        "--bootstrap-server", &broker.addr, "--topic", "fresh", "--partition", "0",
        "--offset", "1", "--max-messages", "2",
    ])
    .await;
    assert_eq!(stdout, "b\nc\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_key_fails_after_sending_earlier_lines() {
    let broker = FakeBroker::start(&[("t", 1)]).await;
    let (code, _, stderr) = run_producer(
        &["--bootstrap-server", &broker.addr, "--topic", "t", "--property", "parse.key=true"],
        "k\tv\nnokey\nlater\tx\n",
    )
    .await;
    assert_eq!(code, 1);
    assert!(stderr.contains("No key found on line 2: nokey"), "{stderr}");
    let recs = broker.records("t");
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].2.as_deref(), Some(&b"k"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_murmur2_partitioner_agrees() {
    if std::process::Command::new("kcat").arg("-V").output().is_err() {
        eprintln!("kcat not installed; skipping");
        return;
    }
    let broker = FakeBroker::start(&[("kc", 7)]).await;
    let keys: Vec<String> = (0..30).map(|i| format!("user{i}")).collect();
    let input: String = keys.iter().map(|k| format!("{k}:v\n")).collect();
    let mut child = Command::new("kcat")
        .args(["-P", "-b", &broker.addr, "-t", "kc", "-K", ":", "-X", "partitioner=murmur2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("kcat timed out")
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let recs = broker.records("kc");
    assert_eq!(recs.len(), 30);
    for (p, _, key, _) in recs {
        let key = key.unwrap();
        assert_eq!(p, partition_for_key(&key, 7), "kcat put {key:?} in {p}");
    }
}

