//! Tests for console consumer argument handling.

use super::*;

fn parse(list: &[&str]) -> Result<ConsoleConsumerSettings, UsageExit> {
    let v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    parse_consumer_args(&v)
}

fn error_text(r: Result<ConsoleConsumerSettings, UsageExit>) -> String {
    match r {
        Err(UsageExit::Error(m)) => m,
        other => panic!("expected usage error, got {other:?}"),
    }
}

#[test]
fn topic_defaults() {
    let s = parse(&["--bootstrap-server", "b:1", "--topic", "t"]).unwrap();
    assert!(matches!(s.subscription, Subscription::Topic(ref t) if t == "t"));
    assert_eq!(s.consumer.auto_offset_reset, Some(OffsetSpec::Latest));
    assert_eq!(s.consumer.isolation_level, 0);
    assert_eq!(s.max_messages, -1);
    assert_eq!(s.timeout, None);
    assert!(!s.group_given);
    assert!(s.group_id.starts_with("console-consumer-"));
    assert_eq!(s.client_id, format!("consumer-{}-1", s.group_id));
    assert_eq!(s.formatter, MessageFormatter::default());
}

#[test]
fn from_beginning_partition_offset() {
    let s = parse(&["--bootstrap-server", "b:1", "--topic", "t", "--from-beginning", "--max-messages", "5", "--timeout-ms", "2000"]).unwrap();
    assert_eq!(s.consumer.auto_offset_reset, Some(OffsetSpec::Earliest));
    assert_eq!(s.max_messages, 5);
    assert_eq!(s.timeout, Some(Duration::from_millis(2000)));

    let s = parse(&["--bootstrap-server", "b:1", "--topic", "t", "--partition", "2", "--offset", "EARLIEST"]).unwrap();
    assert!(matches!(s.subscription, Subscription::Partition { partition: 2, start: OffsetSpec::Earliest, .. }));
    let s = parse(&["--bootstrap-server", "b:1", "--topic", "t", "--partition", "0", "--offset", "17"]).unwrap();
    assert!(matches!(s.subscription, Subscription::Partition { start: OffsetSpec::Offset(17), .. }));
    let s = parse(&["--bootstrap-server", "b:1", "--topic", "t", "--partition", "0"]).unwrap();
    assert!(matches!(s.subscription, Subscription::Partition { start: OffsetSpec::Latest, .. }));
    let s = parse(&["--bootstrap-server", "b:1", "--topic", "t", "--partition", "0", "--from-beginning"]).unwrap();
    assert!(matches!(s.subscription, Subscription::Partition { start: OffsetSpec::Earliest, .. }));
}

#[test]
fn whitelist_is_full_match() {
    let s = parse(&["--bootstrap-server", "b:1", "--whitelist", "foo.*|bar"]).unwrap();
    let Subscription::Pattern(re) = s.subscription else { panic!() };
    assert!(re.is_match("foo1"));
    assert!(re.is_match("bar"));
    assert!(!re.is_match("xbar"));
    assert!(!re.is_match("barx"));
}

#[test]
fn properties_and_groups() {
    let s = parse(&[
        "--bootstrap-server", "b:1", "--topic", "t", "--group", "g1",
        "--consumer-property", "group.id=g1", "--isolation-level", "read_committed",
        "--property", "print.key=true", "--consumer-property", "fetch.max.wait.ms=100",
    ])
    .unwrap();
    assert!(s.group_given);
    assert_eq!(s.group_id, "g1");
    assert_eq!(s.consumer.isolation_level, 1);
    assert_eq!(s.consumer.max_wait, Duration::from_millis(100));
    assert!(s.formatter.print_key);
    assert!(error_text(parse(&["--bootstrap-server", "b:1", "--topic", "t", "--group", "a", "--consumer-property", "group.id=b"]))
        .starts_with("The group ids provided in different places"));
    assert!(error_text(parse(&["--bootstrap-server", "b:1", "--topic", "t", "--from-beginning", "--consumer-property", "auto.offset.reset=latest"]))
        .starts_with("Can't simultaneously specify --from-beginning and 'auto.offset.reset=latest'"));
}

#[test]
fn usage_errors() {
    assert!(error_text(parse(&[])).starts_with("The console consumer is a tool"));
    assert!(error_text(parse(&["--bootstrap-server", "b:1"])).starts_with("Exactly one of whitelist/topic is required."));
    assert!(error_text(parse(&["--bootstrap-server", "b:1", "--topic", "t", "--whitelist", "x"])).starts_with("Exactly one of whitelist/topic is required."));
    assert!(error_text(parse(&["--bootstrap-server", "b:1", "--whitelist", "t", "--partition", "0"])).starts_with("The topic is required when partition is specified."));
    assert!(error_text(parse(&["--bootstrap-server", "b:1", "--topic", "t", "--partition", "0", "--offset", "1", "--from-beginning"])).starts_with("Options from-beginning and offset cannot be specified together."));
    assert!(error_text(parse(&["--bootstrap-server", "b:1", "--topic", "t", "--offset", "1"])).starts_with("The partition is required when offset is specified."));
    assert!(error_text(parse(&["--bootstrap-server", "b:1", "--topic", "t", "--partition", "0", "--offset", "-3"])).starts_with("The provided offset value '-3' is incorrect."));
    assert!(error_text(parse(&["--topic", "t"])).starts_with("Missing required argument \"[bootstrap-server]\""));
    assert!(error_text(parse(&["--bootstrap-server", "b:1", "--topic", "t", "--isolation-level", "x"])).contains("isolation.level"));
}

#[test]
fn group_mode_settings() {
    let s = parse(&["--bootstrap-server", "b:1", "--topic", "t", "--group", "g"]).unwrap();
    assert!(s.group_given);
    assert_eq!(s.group.session_timeout, Duration::from_secs(10));
    assert_eq!(s.group.auto_commit_interval, Duration::from_secs(5));
    assert!(s.group.auto_commit);
    assert_eq!(s.group.assignors, vec![Assignor::Range]);
    let s = parse(&[
        "--bootstrap-server", "b:1", "--topic", "t", "--group", "g",
        "--consumer-property", "partition.assignment.strategy=org.apache.kafka.clients.consumer.RoundRobinAssignor,range",
        "--consumer-property", "enable.auto.commit=false",
    ])
    .unwrap();
    assert_eq!(s.group.assignors, vec![Assignor::RoundRobin, Assignor::Range]);
    assert!(!s.group.auto_commit);
    assert!(error_text(parse(&["--bootstrap-server", "b:1", "--topic", "t", "--group", "g", "--partition", "0"]))
        .starts_with("Options group and partition cannot be specified together."));
    let s = parse(&["--zookeeper", "localhost:2181", "--topic", "t", "--group", "g"]).unwrap();
    assert_eq!(s.zookeeper.as_deref(), Some("localhost:2181"));
    assert!(s.bootstrap.is_empty());
    assert!(error_text(parse(&["--topic", "t"])).starts_with("Missing required argument \"[bootstrap-server]\""));
}
