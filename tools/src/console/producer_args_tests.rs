//! Tests for console producer argument handling.

use super::*;
use std::io::Write;

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn parse(list: &[&str]) -> Result<ConsoleProducerSettings, UsageExit> {
    parse_producer_args(&args(list))
}

fn error_text(r: Result<ConsoleProducerSettings, UsageExit>) -> String {
    match r {
        Err(UsageExit::Error(m)) => m,
        other => panic!("expected usage error, got {other:?}"),
    }
}

#[test]
fn defaults() {
    let s = parse(&["--bootstrap-server", "localhost:9092", "--topic", "t"]).unwrap();
    assert_eq!(s.bootstrap, "localhost:9092");
    assert_eq!(s.topic, "t");
    assert!(!s.sync);
    assert_eq!(s.client_id, "console-producer");
    let p = &s.producer;
    assert_eq!(p.acks, 1);
    assert_eq!(p.linger, Duration::from_millis(1000));
    assert_eq!(p.request_timeout, Duration::from_millis(1500));
    assert_eq!(p.retries, 3);
    assert_eq!(p.retry_backoff, Duration::from_millis(100));
    assert_eq!(p.max_block, Duration::from_millis(60000));
    assert_eq!(p.batch_size, 16384);
    assert_eq!(p.compression, Compression::None);
    assert_eq!(
        s.reader,
        ReaderConfig {
            parse_key: false,
            key_separator: "\t".to_string(),
            ignore_error: false
        }
    );
}

#[test]
fn options_and_properties() {
    let s = parse(&[
        "--broker-list", "h1:1,h2:2", "--topic", "t", "--sync", "--compression-codec",
        "--property", "parse.key=true", "--property", "key.separator=:",
        "--request-required-acks", "all", "--producer-property", "linger.ms=5",
        "--producer-property", "client.id=me", "--message-send-max-retries", "7",
    ])
    .unwrap();
    assert_eq!(s.bootstrap, "h1:1,h2:2");
    assert!(s.sync);
    assert_eq!(s.client_id, "me");
    assert_eq!(s.producer.compression, Compression::Gzip);
    assert_eq!(s.producer.acks, -1);
    assert_eq!(s.producer.linger, Duration::from_millis(5));
    assert_eq!(s.producer.retries, 7);
    assert!(s.reader.parse_key);
    assert_eq!(s.reader.key_separator, ":");

    // explicit option beats property
    let s = parse(&[
        "--bootstrap-server", "b:1", "--topic", "t", "--timeout", "50",
        "--producer-property", "linger.ms=5", "--compression-codec", "zstd",
    ])
    .unwrap();
    assert_eq!(s.producer.linger, Duration::from_millis(50));
    assert_eq!(s.producer.compression, Compression::Zstd);
}

#[test]
fn config_file_is_overridden_by_producer_property() {
    let dir = std::env::temp_dir().join(format!("producer-args-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("p.properties");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "acks=0\nretries=9\ncompression.type=gzip").unwrap();
    let s = parse(&[
        "--bootstrap-server", "b:1", "--topic", "t", "--producer.config",
        path.to_str().unwrap(), "--producer-property", "retries=2",
    ])
    .unwrap();
    assert_eq!(s.producer.acks, 0);
    assert_eq!(s.producer.retries, 2);
    // compression.type is always taken from --compression-codec
    assert_eq!(s.producer.compression, Compression::None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn usage_errors() {
    assert!(error_text(parse(&[])).starts_with("Read data from standard input"));
    assert!(error_text(parse(&["--bootstrap-server", "b:1"]))
        .starts_with("Missing required argument \"[topic]\""));
    assert!(error_text(parse(&["--topic", "t"]))
        .starts_with("Missing required argument \"[bootstrap-server]\""));
    assert!(error_text(parse(&["--broker-list", "nohost", "--topic", "t"]))
        .starts_with("Please provide valid host:port"));
    assert!(error_text(parse(&["--bootstrap-server", "b:1", "--topic", "t", "--bogus"]))
        .contains("--bogus"));
    assert!(error_text(parse(&[
        "--bootstrap-server", "b:1", "--topic", "t", "--compression-codec", "brotli"
    ]))
    .contains("Invalid value brotli for configuration compression.type"));
    assert!(error_text(parse(&["--bootstrap-server", "b:1", "--topic", "t", "--request-required-acks", "2"]))
        .contains("acks"));
}

#[test]
fn help_and_version_are_info() {
    assert!(matches!(parse(&["--help"]), Err(UsageExit::Info(_))));
    assert!(matches!(parse(&["--version"]), Err(UsageExit::Info(_))));
}

#[test]
fn abbreviated_long_options() {
    let s = parse(&["--bootstrap", "b:1", "--top", "t"]).unwrap();
    assert_eq!(s.topic, "t");
}
