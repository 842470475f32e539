//! Process-level checks of `kafka-consumer-groups` and the console consumer's group options
//! that need no cluster: Kafka's usage errors (stderr, exit 1), `--version`, and the report
//! when no broker answers (`Error: ...` on stdout, exit 0 as Kafka 2.8).

use std::process::{Command, Stdio};

const GROUPS: &str = env!("CARGO_BIN_EXE_kafka-consumer-groups");
const CONSUMER: &str = env!("CARGO_BIN_EXE_kafka-console-consumer");

fn run(bin: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tool");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn usage_errors_exit_1_with_the_option_table() {
    let (code, out, err) = run(GROUPS, &[]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.starts_with("Missing required argument \"[bootstrap-server]\"\n"),
        "{err}"
    );
    assert!(err.contains("--reset-offsets"), "{err}");

    let (code, _, err) = run(
        GROUPS,
        &["--bootstrap-server", "localhost:1", "--list", "--describe"],
    );
    assert_eq!(code, 1);
    assert!(
        err.starts_with("Option [describe] takes one of these options: [group], [all-groups]\n"),
        "{err}"
    );
    let (code, _, err) = run(
        GROUPS,
        &[
            "--bootstrap-server",
            "localhost:1",
            "--list",
            "--delete",
            "--all-groups",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.starts_with("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets\n"), "{err}");

    let (code, _, err) = run(
        GROUPS,
        &[
            "--bootstrap-server",
            "localhost:1",
            "--reset-offsets",
            "--group",
            "g",
            "--to-earliest",
            "--shift-by",
            "1",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.starts_with("Option \"[shift-by]\" can't be used with option \"[to-earliest]\""),
        "{err}"
    );

    let (code, out, _) = run(GROUPS, &["--bootstrap-server", "localhost:1", "--version"]);
    assert_eq!((code, out.trim()), (0, "2.8.2"));
}

#[test]
fn unreachable_cluster_is_reported_on_stdout() {
    let (code, out, _) = run(
        GROUPS,
        &[
            "--bootstrap-server",
            "127.0.0.1:1",
            "--list",
            "--timeout",
            "300",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "\nError: Executing consumer group command failed due to org.apache.kafka.common.errors.TimeoutException: Timed out waiting for a node assignment.\n"
    );
}

#[test]
fn console_consumer_refuses_group_with_partition() {
    let (code, _, err) = run(
        CONSUMER,
        &[
            "--bootstrap-server",
            "127.0.0.1:1",
            "--topic",
            "t",
            "--group",
            "g",
            "--partition",
            "0",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.starts_with("Options group and partition cannot be specified together."),
        "{err}"
    );
}
