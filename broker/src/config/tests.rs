use super::*;

fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    m.entry("zookeeper.connect".into()).or_insert_with(|| "localhost:2181".into());
    m
}

fn cfg(kv: &[(&str, &str)]) -> KafkaConfig {
    KafkaConfig::from_props(&props(kv)).unwrap()
}

fn err(kv: &[(&str, &str)]) -> String {
    KafkaConfig::from_props(&props(kv)).unwrap_err().to_string()
}

#[test]
fn kafka_defaults() {
    let c = cfg(&[]);
    assert_eq!(c.broker_id, -1);
    assert!(c.broker_id_generation_enable);
    assert_eq!(c.reserved_broker_max_id, 1000);
    assert_eq!(c.zookeeper_session_timeout_ms, 18000);
    assert_eq!(c.zookeeper_connection_timeout_ms, 18000);
    assert_eq!(c.log_dirs, vec![PathBuf::from("/tmp/kafka-logs")]);
    assert_eq!(c.num_partitions, 1);
    assert_eq!(c.default_replication_factor, 1);
    assert!(c.auto_create_topics_enable);
    assert!(c.delete_topic_enable);
    assert_eq!(c.message_max_bytes, 1048588);
    assert_eq!(c.socket_request_max_bytes, 104857600);
    assert_eq!(c.fetch_max_bytes, 57671680);
    assert_eq!(c.replica_lag_time_max_ms, 30000);
    assert_eq!(c.connections_max_idle_ms, 600000);
    assert_eq!(c.log_retention_time_millis(), 168 * 3_600_000);
    assert_eq!(c.log_roll_time_millis(), 168 * 3_600_000);
    assert_eq!(c.log_flush_interval_ms, i64::MAX);
    assert_eq!(c.offsets_topic_replication_factor, 3);
    assert_eq!(c.transaction_state_log_min_isr, 2);
    assert_eq!(c.group_initial_rebalance_delay_ms, 3000);
    assert_eq!(c.inter_broker_protocol_version, "2.8-IV1");
    let l = c.listeners();
    assert_eq!(l.len(), 1);
    assert_eq!((l[0].listener_name.as_str(), l[0].host.as_str(), l[0].port), ("PLAINTEXT", "", 9092));
    assert_eq!(c.advertised_listeners(), l);
    assert_eq!(c.inter_broker_listener_name(), "PLAINTEXT");
    assert_eq!(c.log_config(), storage::LogConfig::default());
}

#[test]
fn missing_zookeeper_connect_is_a_clear_error() {
    let e = KafkaConfig::from_props(&BTreeMap::new()).unwrap_err();
    assert_eq!(e.to_string(), "Missing required configuration \"zookeeper.connect\" which has no default value.");
}

#[test]
fn bad_values_name_key_and_value() {
    assert_eq!(err(&[("num.partitions", "abc")]), "Invalid value abc for configuration num.partitions: Not a number of type INT");
    assert!(err(&[("log.retention.bytes", "1k")]).contains("log.retention.bytes"));
    assert!(err(&[("listeners", "PLAINTEXT//:9092")]).contains("listeners"));
    assert!(err(&[("broker.id", "1001")]).contains("reserved.broker.max.id"));
    assert!(err(&[("broker.id", "-1"), ("broker.id.generation.enable", "false")]).contains("broker.id"));
    assert!(err(&[("inter.broker.listener.name", "INTERNAL")]).contains("inter.broker.listener.name"));
    assert!(err(&[("inter.broker.listener.name", "PLAINTEXT"), ("security.inter.broker.protocol", "PLAINTEXT")])
        .contains("Only one of"));
    assert!(err(&[("advertised.listeners", "PLAINTEXT://0.0.0.0:9092")]).contains("0.0.0.0"));
}

#[test]
fn unknown_keys_are_collected_not_fatal() {
    let c = cfg(&[("ssl.keystore.location", "/x"), ("sasl.enabled.mechanisms", "PLAIN"), ("num.io.threads", "4")]);
    assert_eq!(c.unknown_keys(), &["sasl.enabled.mechanisms".to_string(), "ssl.keystore.location".to_string()]);
    assert_eq!(c.num_io_threads, 4);
}

#[test]
fn retention_precedence() {
    assert_eq!(cfg(&[("log.retention.hours", "1")]).log_retention_time_millis(), 3_600_000);
    assert_eq!(cfg(&[("log.retention.hours", "1"), ("log.retention.minutes", "2")]).log_retention_time_millis(), 120_000);
    assert_eq!(
        cfg(&[("log.retention.hours", "1"), ("log.retention.minutes", "2"), ("log.retention.ms", "5")]).log_retention_time_millis(),
        5
    );
    assert_eq!(cfg(&[("log.retention.ms", "-1")]).log_retention_time_millis(), -1);
    assert_eq!(cfg(&[("log.retention.ms", "-1")]).log_config().retention_ms, -1);
    assert_eq!(cfg(&[("log.roll.hours", "2")]).log_config().segment_ms, 7_200_000);
    assert_eq!(cfg(&[("log.roll.hours", "2"), ("log.roll.ms", "10")]).log_config().segment_ms, 10);
}

#[test]
fn log_dirs_over_log_dir() {
    assert_eq!(cfg(&[("log.dir", "/a")]).log_dirs, vec![PathBuf::from("/a")]);
    assert_eq!(cfg(&[("log.dir", "/a"), ("log.dirs", "/b, /c")]).log_dirs, vec![PathBuf::from("/b"), PathBuf::from("/c")]);
}

#[test]
fn log_config_reflects_broker_defaults() {
    let c = cfg(&[
        ("log.segment.bytes", "1048576"),
        ("message.max.bytes", "2000"),
        ("log.cleanup.policy", "compact"),
        ("min.insync.replicas", "2"),
        ("log.message.timestamp.type", "LogAppendTime"),
        ("log.flush.scheduler.interval.ms", "1000"),
        ("log.segment.delete.delay.ms", "0"),
        ("compression.type", "LZ4"),
    ]);
    let lc = c.log_config();
    assert_eq!(lc.segment_bytes, 1048576);
    assert_eq!(lc.max_message_bytes, 2000);
    assert_eq!(lc.value_of("cleanup.policy").as_deref(), Some("compact"));
    assert_eq!(lc.min_insync_replicas, 2);
    assert_eq!(lc.value_of("message.timestamp.type").as_deref(), Some("LogAppendTime"));
    assert_eq!(lc.flush_ms, 1000);
    assert_eq!(lc.file_delete_delay_ms, 0);
    assert_eq!(lc.compression_type, "lz4");
}

#[test]
fn listeners_advertised_and_inter_broker() {
    let c = cfg(&[
        ("listeners", "INTERNAL://:9093,EXTERNAL://0.0.0.0:9092"),
        ("advertised.listeners", "INTERNAL://broker1:9093,EXTERNAL://public.example:9092"),
        ("listener.security.protocol.map", "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"),
        ("inter.broker.listener.name", "internal"),
    ]);
    assert_eq!(c.inter_broker_listener_name(), "INTERNAL");
    assert_eq!(c.advertised_listeners()[0].host, "broker1");
    assert_eq!(c.listeners()[1].host, "0.0.0.0");
    // Legacy host.name/port when listeners is absent.
    let c = cfg(&[("host.name", "127.0.0.1"), ("port", "9999")]);
    assert_eq!(c.listeners()[0].connection_string(), "PLAINTEXT://127.0.0.1:9999");
    // security.inter.broker.protocol names the listener when no explicit name is given.
    let c = cfg(&[("listeners", "SSL://:9093,PLAINTEXT://:9092"), ("security.inter.broker.protocol", "ssl")]);
    assert_eq!(c.inter_broker_listener_name(), "SSL");
}

#[test]
fn describe_reports_sources() {
    let c = cfg(&[("num.partitions", "3")]);
    let d = c.describe();
    let np = d.iter().find(|(def, _, _)| def.name == "num.partitions").unwrap();
    assert_eq!((np.1.as_deref(), np.2), (Some("3"), true));
    let io = d.iter().find(|(def, _, _)| def.name == "num.io.threads").unwrap();
    assert_eq!((io.1.as_deref(), io.2), (Some("8"), false));
}

#[test]
fn args_and_overrides() {
    let args: Vec<String> =
        ["server.properties", "--override", "broker.id=2", "--override", "log.dirs=/x=y"].iter().map(|s| s.to_string()).collect();
    let (path, ov) = parse_args(&args).unwrap();
    assert_eq!(path, PathBuf::from("server.properties"));
    assert_eq!(ov, vec![("broker.id".into(), "2".into()), ("log.dirs".into(), "/x=y".into())]);
    assert!(parse_args(&[]).is_err());
    assert!(parse_args(&["a".into(), "--override".into()]).is_err());
    assert!(parse_args(&["a".into(), "--override".into(), "novalue".into()]).is_err());
    assert!(parse_args(&["a".into(), "b".into()]).is_err());
}

#[test]
fn load_file_with_override_winning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.properties");
    std::fs::write(&path, "broker.id=0\nzookeeper.connect=localhost:2181/kafka\nnum.partitions=2\n").unwrap();
    let c = KafkaConfig::load(&path, &[("num.partitions".into(), "5".into())]).unwrap();
    assert_eq!(c.broker_id, 0);
    assert_eq!(c.num_partitions, 5);
    assert_eq!(c.zookeeper_connect, "localhost:2181/kafka");
    assert!(KafkaConfig::load(&dir.path().join("nope"), &[]).is_err());
}

#[test]
fn shipped_config_files_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    for (name, id) in [("server.properties", 0), ("server-1.properties", 1), ("server-2.properties", 2), ("server-3.properties", 3)] {
        let path = root.join(name);
        if !path.exists() {
            continue;
        }
        let c = KafkaConfig::load(&path, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(c.broker_id, id, "{name}");
        assert!(c.unknown_keys().is_empty(), "{name}: {:?}", c.unknown_keys());
        assert_eq!(c.group_initial_rebalance_delay_ms, 0);
    }
}
