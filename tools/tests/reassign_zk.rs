//! End-to-end test of `kafka-reassign-partitions` and `kafka-preferred-replica-election` with
//! `--zookeeper` against a real Apache ZooKeeper (Debian's package, started on a free port with
//! a throw-away data dir, as in `admin_tools_zk.rs`). Checks exact console output and the znodes
//! the tools write; the controller's part (finishing a reassignment) is simulated by hand.

mod common;

use std::path::Path;

use common::{ok, run, run_zk, Outcome, Zk};
use zk_schema::model::TopicZNode;
use zk_testkit::ZooKeeper;

const REASSIGN: &str = env!("CARGO_BIN_EXE_kafka-reassign-partitions");
const PREFERRED: &str = env!("CARGO_BIN_EXE_kafka-preferred-replica-election");
const WARN: &str = "Warning: --zookeeper is deprecated, and will be removed in a future version of Kafka.\n";
const VERIFY_WARN: &str = "Warning: because you are using the deprecated --zookeeper option, the results may be incomplete.  Use --bootstrap-server instead for more accurate results.\n";
const PREFERRED_HEAD: &str = "This tool is deprecated. Please use kafka-leader-election tool. Tracking issue: KAFKA-8405\nWarning: --zookeeper is deprecated and will be removed in a future version of Kafka.\nUse --bootstrap-server instead to specify a broker to connect to.\n";

fn reassign(zk: &str, args: &[&str]) -> Outcome {
    run_zk(REASSIGN, zk, args)
}

fn failed(o: &Outcome, expected_stdout: &str) {
    assert_eq!(o.code, 1, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    assert_eq!(o.stdout, expected_stdout, "stderr: {}", o.stderr);
}

fn register_broker(zk: &Zk, id: i32) {
    zk.create(
        &format!("/brokers/ids/{id}"),
        &format!(
            r#"{{"features":{{}},"listener_security_protocol_map":{{"PLAINTEXT":"PLAINTEXT"}},"endpoints":["PLAINTEXT://localhost:{port}"],"jmx_port":-1,"host":"localhost","timestamp":"1623456789012","port":{port},"version":5}}"#,
            port = 9090 + id
        ),
    );
}

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn reassignment_and_preferred_election_against_real_zookeeper() {
    let server = match ZooKeeper::start("kafka-reassign-zk") {
        Ok(s) => s,
        Err(reason) => {
            eprintln!("skipping the ZooKeeper test: {reason}");
            return;
        }
    };
    let zk_connect = server.connect_string();
    let zk = zk_connect.as_str();
    let raw = Zk::connect(zk);
    for id in 1..=4 {
        register_broker(&raw, id);
    }
    let t = TopicZNode::new([(0, vec![1, 2]), (1, vec![2, 1])].into(), None);
    raw.create("/brokers/topics/t", &String::from_utf8(t.encode()).unwrap());
    let u = TopicZNode::new([(0, vec![1, 2, 3])].into(), None);
    raw.create("/brokers/topics/u", &String::from_utf8(u.encode()).unwrap());
    raw.create("/config/topics/t", r#"{"version":1,"config":{"retention.ms":"1000"}}"#);
    let files = server.dir().to_path_buf();

    // --- generate ---
    let topics_file = write_file(&files, "topics.json", r#"{"version":1,"topics":[{"topic":"t"},{"topic":"missing"}]}"#);
    let o = reassign(zk, &["--generate", "--topics-to-move-json-file", &topics_file, "--broker-list", "3,4"]);
    assert_eq!(o.code, 0, "{} {}", o.stdout, o.stderr);
    let current = r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","any"]},{"topic":"t","partition":1,"replicas":[2,1],"log_dirs":["any","any"]}]}"#;
    let head = format!("{WARN}Current partition replica assignment\n{current}\n\nProposed partition reassignment configuration\n");
    assert!(o.stdout.starts_with(&head), "{}", o.stdout);
    let proposed = o.stdout[head.len()..].trim_end();
    let either = [
        r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[3,4],"log_dirs":["any","any"]},{"topic":"t","partition":1,"replicas":[4,3],"log_dirs":["any","any"]}]}"#,
        r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[4,3],"log_dirs":["any","any"]},{"topic":"t","partition":1,"replicas":[3,4],"log_dirs":["any","any"]}]}"#,
    ];
    assert!(either.contains(&proposed), "{proposed}");
    failed(
        &reassign(zk, &["--generate", "--topics-to-move-json-file", &topics_file, "--broker-list", "3,4,3"]),
        &format!("{WARN}Error: Broker list contains duplicate entries: 3\n"),
    );
    failed(
        &reassign(zk, &["--generate", "--topics-to-move-json-file", &topics_file, "--broker-list", "4"]),
        &format!("{WARN}Error: Replication factor: 2 larger than available brokers: 1.\n"),
    );
    assert!(raw.get("/admin/reassign_partitions").is_none(), "--generate changes nothing");

    // --- execute: validation ---
    let bad_broker = write_file(&files, "bad1.json", r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,9]}]}"#);
    failed(&reassign(zk, &["--execute", "--reassignment-json-file", &bad_broker]), &format!("{WARN}Error: The proposed assignment contains non-existent brokerIDs: 9\n"));
    let bad_part = write_file(&files, "bad2.json", r#"{"version":1,"partitions":[{"topic":"t","partition":5,"replicas":[1,2]}]}"#);
    failed(
        &reassign(zk, &["--execute", "--reassignment-json-file", &bad_part]),
        &format!("{WARN}Error: The proposed assignment contains non-existent partitions: List(t-5)\n"),
    );
    let dup = write_file(&files, "bad3.json", r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,1]}]}"#);
    failed(
        &reassign(zk, &["--execute", "--reassignment-json-file", &dup]),
        &format!("{WARN}Error: Partition replica lists may not contain duplicate entries: t-0 contains multiple entries for 1\n"),
    );
    let missing = files.join("nope.json").to_string_lossy().into_owned();
    failed(&reassign(zk, &["--execute", "--reassignment-json-file", &missing]), &format!("{WARN}Error: {missing}\n"));
    assert!(raw.get("/admin/reassign_partitions").is_none());

    // --- execute with a throttle ---
    let plan = write_file(
        &files,
        "plan.json",
        r#"{"version":1,"partitions":[{"topic":"t","partition":1,"replicas":[2,3],"log_dirs":["any","any"]},{"topic":"t","partition":0,"replicas":[3,4]}]}"#,
    );
    let o = reassign(zk, &["--execute", "--reassignment-json-file", &plan, "--throttle", "1000"]);
    ok(
        &o,
        &format!(
            "{WARN}Current partition replica assignment\n\n{current}\n\nSave this to use as the --reassignment-json-file option during rollback\n\
             Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.\n\
             The inter-broker throttle limit was set to 1000 B/s\n\
             Successfully started partition reassignments for t-0,t-1\n"
        ),
    );
    assert_eq!(
        raw.get("/admin/reassign_partitions").as_deref(),
        Some(r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[3,4]},{"topic":"t","partition":1,"replicas":[2,3]}]}"#)
    );
    assert_eq!(
        raw.get("/config/topics/t").as_deref(),
        Some(r#"{"version":1,"config":{"follower.replication.throttled.replicas":"0:3,0:4,1:3","leader.replication.throttled.replicas":"0:1,0:2,1:1,1:2","retention.ms":"1000"}}"#)
    );
    for id in 1..=4 {
        assert_eq!(
            raw.get(&format!("/config/brokers/{id}")).as_deref(),
            Some(r#"{"version":1,"config":{"follower.replication.throttled.rate":"1000","leader.replication.throttled.rate":"1000"}}"#),
            "broker {id}"
        );
    }
    let changes = raw.children_or_empty("/config/changes");
    assert_eq!(changes.len(), 5, "one notification per changed entity: {changes:?}");
    let notes: Vec<String> = changes.iter().map(|c| raw.get(&format!("/config/changes/{c}")).unwrap()).collect();
    assert_eq!(notes[0], r#"{"version":2,"entity_path":"topics/t"}"#);
    assert_eq!(notes[1], r#"{"version":2,"entity_path":"brokers/1"}"#);

    // A second execute while one is running is refused.
    failed(
        &reassign(zk, &["--execute", "--reassignment-json-file", &plan]),
        &format!("{WARN}Cannot execute because there is an existing partition assignment.  Use --additional to override this and create a new partition assignment in addition to the existing one. The --additional flag can also be used to change the throttle by resubmitting the current reassignment.\n"),
    );

    // --- verify while in progress: throttles stay ---
    ok(
        &reassign(zk, &["--verify", "--reassignment-json-file", &plan]),
        &format!(
            "{WARN}{VERIFY_WARN}Status of partition reassignment:\n\
             Reassignment of partition t-0 is still in progress.\n\
             Reassignment of partition t-1 is still in progress.\n"
        ),
    );
    assert!(raw.get("/config/topics/t").unwrap().contains("throttled"));

    // The controller finishes: t-0 moved, t-1 left as it was (e.g. a failed move), node deleted.
    let done = TopicZNode::new([(0, vec![3, 4]), (1, vec![2, 1])].into(), None);
    raw.set("/brokers/topics/t", &done.encode());
    raw.delete("/admin/reassign_partitions");
    ok(
        &reassign(zk, &["--verify", "--reassignment-json-file", &plan]),
        &format!(
            "{WARN}{VERIFY_WARN}Status of partition reassignment:\n\
             Reassignment of partition t-0 is complete.\n\
             There is no active reassignment of partition t-1, but replica set is 2,1 rather than 2,3.\n\
             Clearing broker-level throttles on brokers 1,2,3,4\n\
             Clearing topic-level throttles on topic t\n"
        ),
    );
    assert_eq!(raw.get("/config/topics/t").as_deref(), Some(r#"{"version":1,"config":{"retention.ms":"1000"}}"#));
    for id in 1..=4 {
        assert_eq!(raw.get(&format!("/config/brokers/{id}")).as_deref(), Some(r#"{"version":1,"config":{}}"#));
    }
    assert_eq!(raw.children_or_empty("/config/changes").len(), 10);
    // Verifying again changes nothing more.
    assert_eq!(reassign(zk, &["--verify", "--reassignment-json-file", &plan]).code, 0);
    assert_eq!(raw.children_or_empty("/config/changes").len(), 10);

    // Execute without a throttle writes only the reassignment node.
    let grow = write_file(&files, "grow.json", r#"{"version":1,"partitions":[{"topic":"u","partition":0,"replicas":[1,2,3,4]}]}"#);
    let o = reassign(zk, &["--execute", "--reassignment-json-file", &grow]);
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert!(o.stdout.ends_with("Successfully started partition reassignment for u-0\n"), "{}", o.stdout);
    assert_eq!(
        raw.get("/admin/reassign_partitions").as_deref(),
        Some(r#"{"version":1,"partitions":[{"topic":"u","partition":0,"replicas":[1,2,3,4]}]}"#)
    );
    assert!(raw.get("/config/topics/u").is_none());
    raw.delete("/admin/reassign_partitions");

    // Argument errors: usage on stderr, exit 1, nothing on stdout.
    let o = reassign(zk, &["--verify"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.starts_with("Missing required argument \"[reassignment-json-file]\"\n"), "{}", o.stderr);
    assert!(o.stdout.is_empty());
    // Throttles need ZooKeeper here (refused before any connection is made).
    let o = run(REASSIGN, &["--bootstrap-server", "127.0.0.1:1", "--execute", "--reassignment-json-file", &plan, "--throttle", "1"]);
    assert_eq!(o.code, 1);
    assert!(o.stdout.contains("--throttle and --replica-alter-log-dirs-throttle are not supported with --bootstrap-server"), "{}", o.stdout);

    // --- preferred replica election ---
    let el = write_file(
        &files,
        "elect.json",
        r#"{"partitions":[{"topic":"t","partition":1},{"topic":"x","partition":0},{"topic":"t","partition":0}]}"#,
    );
    ok(
        &run(PREFERRED, &["--zookeeper", zk, "--path-to-json-file", &el]),
        &format!(
            "{PREFERRED_HEAD}Created preferred replica election path with t-0,t-1\n\
             Successfully started preferred replica election for partitions Set(t-0, t-1)\n\
             Skipping preferred replica leader election for partition x-0 since it doesn't exist.\n"
        ),
    );
    assert_eq!(
        raw.get("/admin/preferred_replica_election").as_deref(),
        Some(r#"{"version":1,"partitions":[{"topic":"t","partition":0},{"topic":"t","partition":1}]}"#)
    );
    let o = run(PREFERRED, &["--zookeeper", zk]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert_eq!(o.stdout, PREFERRED_HEAD);
    assert_eq!(
        o.stderr,
        "Exception in thread \"main\" kafka.common.AdminCommandFailedException: Admin command failed\n\
         Caused by: kafka.admin.AdminOperationException: Preferred replica leader election currently in progress for t-0,t-1. Aborting operation\n"
    );
    raw.delete("/admin/preferred_replica_election");
    ok(
        &run(PREFERRED, &["--zookeeper", zk]),
        &format!(
            "{PREFERRED_HEAD}Created preferred replica election path with t-0,t-1,u-0\n\
             Successfully started preferred replica election for partitions Set(t-0, t-1, u-0)\n"
        ),
    );
    assert_eq!(
        raw.get("/admin/preferred_replica_election").as_deref(),
        Some(r#"{"version":1,"partitions":[{"topic":"t","partition":0},{"topic":"t","partition":1},{"topic":"u","partition":0}]}"#)
    );
    let dup = write_file(&files, "dup.json", r#"{"partitions":[{"topic":"t","partition":1},{"topic":"t","partition":1}]}"#);
    let o = run(PREFERRED, &["--zookeeper", zk, "--path-to-json-file", &dup]);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.stderr,
        "Exception in thread \"main\" kafka.admin.AdminOperationException: Preferred replica election data contains duplicate partitions: t-1\n"
    );
    let o = run(PREFERRED, &["--path-to-json-file", &dup]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.starts_with("Exactly one of '[bootstrap-server]' or '[zookeeper]' must be provided\n"), "{}", o.stderr);
}
