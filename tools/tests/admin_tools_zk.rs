//! End-to-end test of the `kafka-topics` and `kafka-configs` binaries against a real Apache
//! ZooKeeper (Debian's package, started here on a free port with a throw-away data dir).
//! Checks the exact console output and the raw znode JSON the tools write.
//! Skipped, with the reason printed, when java or ZooKeeper is not installed.

mod common;

use common::{ok, run, run_zk, Outcome, Zk};
use zk_schema::model::PartitionStateZNode;
use zk_testkit::ZooKeeper;

const TOPICS: &str = env!("CARGO_BIN_EXE_kafka-topics");
const CONFIGS: &str = env!("CARGO_BIN_EXE_kafka-configs");
const ZK_WARNING: &str = "Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.\nUse --bootstrap-server instead to specify a broker to connect to.\n";

fn topics(zk: &str, args: &[&str]) -> Outcome {
    run_zk(TOPICS, zk, args)
}

fn configs(zk: &str, args: &[&str]) -> Outcome {
    run_zk(CONFIGS, zk, args)
}

fn topic_error(o: &Outcome, message: &str) {
    let line = format!("Error while executing topic command : {message}\n");
    assert_eq!(o.code, 1, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    assert!(o.stdout.ends_with(&line), "stdout: {:?}", o.stdout);
    assert!(o.stderr.contains(&line), "stderr: {:?}", o.stderr);
}

#[test]
fn topics_and_configs_against_real_zookeeper() {
    let server = match ZooKeeper::start("kafka-admin-tools-zk") {
        Ok(s) => s,
        Err(reason) => {
            eprintln!("skipping the ZooKeeper test: {reason}");
            return;
        }
    };
    let zk_connect = server.connect_string();
    let zk = zk_connect.as_str();
    let raw = Zk::connect(zk);
    raw.create(
        "/brokers/ids/1",
        r#"{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://localhost:9092"],"jmx_port":-1,"host":"localhost","timestamp":"1623456789012","port":9092,"version":5}"#,
    );

    // --- create ---
    ok(
        &topics(zk, &["--create", "--topic", "NEWS", "--partitions", "2", "--replication-factor", "1", "--config", "retention.ms=1000"]),
        "Created topic NEWS.\n",
    );
    let node = raw.get("/brokers/topics/NEWS").expect("topic node");
    let shape = regex::Regex::new(
        r#"^\{"version":3,"partitions":\{"0":\[1\],"1":\[1\]\},"adding_replicas":\{\},"removing_replicas":\{\},"topic_id":"([A-Za-z0-9_-]{22})"\}$"#,
    )
    .unwrap();
    let topic_id = shape.captures(&node).unwrap_or_else(|| panic!("unexpected topic node {node}"))[1].to_string();
    assert_eq!(raw.get("/config/topics/NEWS").as_deref(), Some(r#"{"version":1,"config":{"retention.ms":"1000"}}"#));
    assert!(raw.children("/config/changes").is_empty(), "creating a topic sends no config notification");

    topic_error(
        &topics(zk, &["--create", "--topic", "NEWS", "--partitions", "1", "--replication-factor", "1"]),
        "Topic 'NEWS' already exists.",
    );
    ok(&topics(zk, &["--create", "--topic", "NEWS", "--partitions", "1", "--replication-factor", "1", "--if-not-exists"]), "");
    topic_error(
        &topics(zk, &["--create", "--topic", "BIG", "--partitions", "1", "--replication-factor", "3"]),
        "Replication factor: 3 larger than available brokers: 1.",
    );
    topic_error(
        &topics(zk, &["--create", "--topic", "BAD", "--partitions", "1", "--replication-factor", "1", "--config", "retention.mss=5"]),
        "Unknown topic config name: retention.mss",
    );
    let bad_value = topics(zk, &["--create", "--topic", "BAD", "--partitions", "1", "--replication-factor", "1", "--config", "segment.bytes=abc"]);
    assert_eq!(bad_value.code, 1);
    assert!(bad_value.stdout.contains("segment.bytes"), "{}", bad_value.stdout);
    assert!(raw.get("/brokers/topics/BAD").is_none());
    let collision = "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.\n";
    ok(&topics(zk, &["--create", "--topic", "a.b_c", "--replica-assignment", "1,1"]), &format!("{collision}Created topic a.b_c.\n"));
    assert_eq!(raw.get("/config/topics/a.b_c").as_deref(), Some(r#"{"version":1,"config":{}}"#));
    topic_error(
        &topics(zk, &["--create", "--topic", "a_b.c", "--replica-assignment", "1"]),
        "Topic 'a_b.c' collides with existing topics: a.b_c",
    );
    ok(
        &topics(zk, &["--create", "--topic", "__consumer_offsets", "--replica-assignment", "1"]),
        &format!("{collision}Created topic __consumer_offsets.\n"),
    );

    // --- list ---
    ok(&topics(zk, &["--list"]), "NEWS\n__consumer_offsets\na.b_c\n");
    ok(&topics(zk, &["--list", "--exclude-internal"]), "NEWS\na.b_c\n");
    ok(&topics(zk, &["--list", "--topic", "a\\.b.c"]), "a.b_c\n");

    // --- describe ---
    let state = PartitionStateZNode::new(1, 0, vec![1], 1).encode();
    raw.create("/brokers/topics/NEWS/partitions/0/state", std::str::from_utf8(&state).unwrap());
    let header = format!("Topic: NEWS\tTopicId: {topic_id}\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: retention.ms=1000\n");
    let p0 = "\tTopic: NEWS\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n";
    let p1 = "\tTopic: NEWS\tPartition: 1\tLeader: none\tReplicas: 1\tIsr: \n";
    ok(&topics(zk, &["--describe", "--topic", "NEWS"]), &format!("{header}{p0}{p1}"));
    ok(&topics(zk, &["--describe", "--topic", "NEWS", "--unavailable-partitions"]), p1);
    ok(&topics(zk, &["--describe", "--under-replicated-partitions", "--exclude-internal", "--topic", "NEWS"]), p1);
    ok(&topics(zk, &["--describe", "--topics-with-overrides"]), &header);
    topic_error(&topics(zk, &["--describe", "--topic", "nosuch"]), "Topic 'nosuch' does not exist as expected");
    ok(&topics(zk, &["--describe", "--topic", "nosuch", "--if-exists"]), "");

    // --- alter: configs ---
    let deprecation = "WARNING: Altering topic configuration from this script has been deprecated and may be removed in future releases.\n         Going forward, please use kafka-configs.sh for this functionality\n";
    ok(
        &topics(zk, &["--alter", "--topic", "NEWS", "--config", "cleanup.policy=compact"]),
        &format!("{deprecation}Updated config for topic NEWS.\n"),
    );
    assert_eq!(
        raw.get("/config/topics/NEWS").as_deref(),
        Some(r#"{"version":1,"config":{"cleanup.policy":"compact","retention.ms":"1000"}}"#)
    );
    assert_eq!(
        raw.get("/config/changes/config_change_0000000000").as_deref(),
        Some(r#"{"version":2,"entity_path":"topics/NEWS"}"#)
    );
    ok(
        &topics(zk, &["--alter", "--topic", "NEWS", "--deleteConfig", "retention.ms"]),
        &format!("{deprecation}Updated config for topic NEWS.\n"),
    );
    assert_eq!(raw.get("/config/topics/NEWS").as_deref(), Some(r#"{"version":1,"config":{"cleanup.policy":"compact"}}"#));
    assert_eq!(
        raw.get("/config/changes/config_change_0000000001").as_deref(),
        Some(r#"{"version":2,"entity_path":"topics/NEWS"}"#)
    );
    topic_error(
        &topics(zk, &["--alter", "--topic", "NEWS", "--config", "min.insync.replicas=0"]),
        "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1",
    );
    topic_error(&topics(zk, &["--alter", "--topic", "nosuch", "--config", "retention.ms=1"]), "Topic 'nosuch' does not exist as expected");

    // --- alter: partitions ---
    ok(
        &topics(zk, &["--alter", "--topic", "NEWS", "--partitions", "3"]),
        "WARNING: If partitions are increased for a topic that has a key, the partition logic or ordering of the messages will be affected\nAdding partitions succeeded!\n",
    );
    assert_eq!(
        raw.get("/brokers/topics/NEWS").unwrap(),
        format!(r#"{{"version":3,"partitions":{{"0":[1],"1":[1],"2":[1]}},"adding_replicas":{{}},"removing_replicas":{{}},"topic_id":"{topic_id}"}}"#)
    );
    topic_error(
        &topics(zk, &["--alter", "--topic", "NEWS", "--partitions", "2"]),
        "The number of partitions for a topic can only be increased. Topic NEWS currently has 3 partitions, 2 would not be an increase.",
    );
    topic_error(
        &topics(zk, &["--alter", "--topic", "__consumer_offsets", "--partitions", "5"]),
        "The number of partitions for the internal topic __consumer_offsets cannot be changed.",
    );

    // --- kafka-configs ---
    ok(&configs(zk, &["--entity-type", "topics", "--entity-name", "NEWS", "--describe"]), &format!("{ZK_WARNING}Configs for topic 'NEWS' are cleanup.policy=compact\n"));
    ok(
        &configs(zk, &["--entity-type", "topics", "--entity-name", "NEWS", "--alter", "--add-config", "retention.ms=5,leader.replication.throttled.replicas=[0:1,1:1]"]),
        &format!("{ZK_WARNING}Completed updating config for entity: topic 'NEWS'.\n"),
    );
    assert_eq!(
        raw.get("/config/topics/NEWS").as_deref(),
        Some(r#"{"version":1,"config":{"cleanup.policy":"compact","leader.replication.throttled.replicas":"0:1,1:1","retention.ms":"5"}}"#)
    );
    assert_eq!(
        raw.get("/config/changes/config_change_0000000002").as_deref(),
        Some(r#"{"version":2,"entity_path":"topics/NEWS"}"#)
    );
    ok(
        &configs(zk, &["--topic", "NEWS", "--alter", "--delete-config", "leader.replication.throttled.replicas,cleanup.policy"]),
        &format!("{ZK_WARNING}Completed updating config for entity: topic 'NEWS'.\n"),
    );
    ok(&configs(zk, &["--describe", "--entity-type", "topics"]), &format!(
        "{ZK_WARNING}Configs for topic 'NEWS' are retention.ms=5\nConfigs for topic '__consumer_offsets' are \nConfigs for topic 'a.b_c' are \n"
    ));
    let absent = configs(zk, &["--topic", "NEWS", "--alter", "--delete-config", "nope"]);
    assert_eq!((absent.code, absent.stderr.as_str()), (1, "Invalid config(s): nope\n"));
    let invalid = configs(zk, &["--topic", "NEWS", "--alter", "--add-config", "retention.ms=soon"]);
    assert_eq!(invalid.code, 1);
    assert!(invalid.stderr.contains("Invalid value soon for configuration retention.ms"), "{}", invalid.stderr);
    ok(
        &configs(zk, &["--entity-type", "clients", "--entity-default", "--alter", "--add-config", "producer_byte_rate=1024"]),
        &format!("{ZK_WARNING}Completed updating config for entity: default client-id.\n"),
    );
    assert_eq!(raw.get("/config/clients/<default>").as_deref(), Some(r#"{"version":1,"config":{"producer_byte_rate":"1024"}}"#));
    assert_eq!(
        raw.get("/config/changes/config_change_0000000004").as_deref(),
        Some(r#"{"version":2,"entity_path":"clients/<default>"}"#)
    );

    // --- delete ---
    ok(
        &topics(zk, &["--delete", "--topic", "NEWS"]),
        "Topic NEWS is marked for deletion.\nNote: This will have no impact if delete.topic.enable is not set to true.\n",
    );
    assert_eq!(raw.children("/admin/delete_topics"), vec!["NEWS"]);
    ok(&topics(zk, &["--delete", "--topic", "NEWS"]), "Topic NEWS is already marked for deletion.\n");
    ok(&topics(zk, &["--list"]), "NEWS - marked for deletion\n__consumer_offsets\na.b_c\n");
    let described = topics(zk, &["--describe", "--topic", "NEWS"]);
    assert!(described.stdout.lines().all(|l| l.ends_with("\tMarkedForDeletion: true")), "{}", described.stdout);
    topic_error(
        &topics(zk, &["--delete", "--topic", "__consumer_offsets"]),
        "Topic __consumer_offsets is a kafka internal topic and is not allowed to be marked for deletion.",
    );
    topic_error(&topics(zk, &["--delete", "--topic", "gone"]), "Topic 'gone' does not exist as expected");
    ok(&topics(zk, &["--delete", "--topic", "gone", "--if-exists"]), "");

    // --- chroot ---
    let chrooted = format!("{zk}/kafka-chroot");
    ok(&run(TOPICS, &["--zookeeper", &chrooted, "--create", "--topic", "C", "--replica-assignment", "1"]), "Created topic C.\n");
    assert!(raw.get("/kafka-chroot/brokers/topics/C").is_some());
    ok(&run(TOPICS, &["--zookeeper", &chrooted, "--list"]), "C\n");

    // --- argument errors: usage on stderr, exit 1 ---
    let no_action = topics(zk, &["--topic", "NEWS"]);
    assert_eq!(no_action.code, 1);
    assert!(no_action.stderr.starts_with("Command must include exactly one action"), "{}", no_action.stderr);
    assert!(no_action.stderr.contains("--replication-factor <replication factor>"));
    let unknown = topics(zk, &["--list", "--bogus"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.starts_with("bogus is not a recognized option\n"), "{}", unknown.stderr);
    let bootstrap = run(TOPICS, &["--bootstrap-server", "localhost:9092", "--list"]);
    assert_eq!(bootstrap.code, 1);
    assert!(bootstrap.stderr.contains("only --zookeeper is supported by this tool for now"));
    let configs_usage = run(CONFIGS, &["--zookeeper", zk, "--topic", "NEWS"]);
    assert_eq!(configs_usage.code, 1);
    assert!(configs_usage.stderr.starts_with("Command must include exactly one action: --describe, --alter\n"));
    assert_eq!(run(CONFIGS, &[]).code, 1);
    drop(raw);
    drop(server);
}
