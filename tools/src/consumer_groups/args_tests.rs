//! Tests of `kafka-consumer-groups` argument checks.

use super::*;

fn parse(s: &str) -> Result<GroupOptions, ArgsExit> {
    let args: Vec<String> = s.split_whitespace().map(String::from).collect();
    parse_args(&args)
}

fn usage_msg(s: &str) -> String {
    match parse(s) {
        Err(ArgsExit::Usage(m)) => m,
        other => panic!("{s}: expected usage error, got {other:?}"),
    }
}

#[test]
fn list_and_states() {
    let o = parse("--bootstrap-server b:1 --list").unwrap();
    assert_eq!(o.action, GroupAction::List { states: None });
    assert_eq!(o.timeout_ms, 5000);
    let o = parse("--bootstrap-server b:1 --list --state").unwrap();
    assert_eq!(
        o.action,
        GroupAction::List {
            states: Some(vec![])
        }
    );
    let o = parse("--bootstrap-server b:1 --list --state stable,EMPTY").unwrap();
    assert_eq!(
        o.action,
        GroupAction::List {
            states: Some(vec!["Stable".into(), "Empty".into()])
        }
    );
    assert_eq!(
        usage_msg("--bootstrap-server b:1 --list --state bogus"),
        "Invalid state list 'bogus'. Valid states are: PreparingRebalance, CompletingRebalance, Stable, Dead, Empty"
    );
}

#[test]
fn describe_views() {
    let o = parse("--bootstrap-server b:1 --describe --group g --group h").unwrap();
    assert_eq!(o.action, GroupAction::Describe(DescribeView::Offsets));
    assert_eq!(o.groups, vec!["g".to_string(), "h".to_string()]);
    let o = parse("--bootstrap-server b:1 --describe --all-groups --members --verbose").unwrap();
    assert_eq!(
        o.action,
        GroupAction::Describe(DescribeView::Members { verbose: true })
    );
    assert!(o.all_groups);
    let o = parse("--bootstrap-server b:1 --describe --group g --state --timeout 100").unwrap();
    assert_eq!(o.action, GroupAction::Describe(DescribeView::State));
    assert_eq!(o.timeout_ms, 100);
    assert_eq!(
        usage_msg("--bootstrap-server b:1 --describe"),
        "Option [describe] takes one of these options: [group], [all-groups]"
    );
    assert_eq!(
        usage_msg("--bootstrap-server b:1 --describe --group g --members --state"),
        "Option [describe] takes at most one of these options: [members], [offsets], [state]"
    );
    assert_eq!(
        usage_msg("--bootstrap-server b:1 --list --members"),
        "Option(s) [members] are unavailable given other options on the command line"
    );
    assert_eq!(
        usage_msg("--bootstrap-server b:1 --describe --group g --topic t"),
        "Option \"[topic]\" can't be used with option \"[describe]\""
    );
}

#[test]
fn reset_options() {
    let o = parse(
        "--bootstrap-server b:1 --reset-offsets --group g --topic t:0,1 --shift-by -2 --execute",
    )
    .unwrap();
    assert_eq!(
        o.action,
        GroupAction::ResetOffsets(ResetOptions {
            spec: Some(ResetSpec::ShiftBy(-2)),
            execute: true,
            export: false,
            all_topics: false
        })
    );
    assert!(o.warnings.is_empty());
    let o = parse("--bootstrap-server b:1 --reset-offsets --group g --all-topics --to-datetime 2020-01-01T00:00:00.000").unwrap();
    assert!(o.warnings[0]
        .starts_with("WARN: No action will be performed as the --execute option is missing."));
    assert!(matches!(
        o.action,
        GroupAction::ResetOffsets(ResetOptions {
            spec: Some(ResetSpec::ToDatetime(_)),
            all_topics: true,
            ..
        })
    ));
    assert_eq!(
        usage_msg("--bootstrap-server b:1 --reset-offsets --group g --all-topics --to-earliest --to-latest"),
        "Option \"[to-earliest]\" can't be used with option \"[to-latest]\""
    );
    assert_eq!(
        usage_msg(
            "--bootstrap-server b:1 --reset-offsets --group g --dry-run --execute --to-latest"
        ),
        "Option [reset-offsets] only accepts one of [execute] and [dry-run]"
    );
    assert_eq!(
        usage_msg("--bootstrap-server b:1 --reset-offsets --group g --to-offset x"),
        "Cannot parse argument 'x' of option to-offset"
    );
}

#[test]
fn general_checks() {
    assert_eq!(
        parse_args(&[]),
        Err(ArgsExit::Usage(
            "Missing required argument \"[bootstrap-server]\"".into()
        ))
    );
    assert_eq!(
        usage_msg("--bootstrap-server b:1"),
        "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets"
    );
    assert_eq!(usage_msg("--bootstrap-server b:1 --help"), HELP_TEXT);
    assert_eq!(
        parse("--bootstrap-server b:1 --version"),
        Err(ArgsExit::Version)
    );
    assert_eq!(
        usage_msg("--bootstrap-server b:1 --list --group g"),
        "Option \"[group]\" can't be used with option \"[list]\""
    );
    assert_eq!(
        usage_msg("--bootstrap-server b:1 --delete --group g --topic t"),
        "The consumer does not support topic-specific offset deletion from a consumer group."
    );
    assert_eq!(
        usage_msg("--bootstrap-server b:1 --delete-offsets --group g"),
        "Option [delete-offsets] takes the following options: [group], [topic]"
    );
    assert_eq!(
        usage_msg("--bootstrap-server b:1 --delete --group g --all-groups"),
        "Option \"[group]\" can't be used with option \"[all-groups]\""
    );
    assert_eq!(
        parse("--bootstrap-server b:1 --delete-offsets --group g --topic t")
            .unwrap()
            .action,
        GroupAction::DeleteOffsets
    );
    assert!(usage().contains("--reset-offsets"));
}
