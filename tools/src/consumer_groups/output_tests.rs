//! Tests of the printed layouts.

use super::*;
use crate::client::group_admin::MemberDescription;

fn desc(state: &str) -> GroupDescription {
    GroupDescription {
        group_id: "g".into(),
        state: state.into(),
        protocol_type: "consumer".into(),
        assignor: "range".into(),
        members: vec![
            MemberDescription {
                member_id: "c-1-aaaa".into(),
                group_instance_id: None,
                client_id: "c-1".into(),
                host: "/127.0.0.1".into(),
                assignment: vec![("t".into(), 1)],
            },
            MemberDescription {
                member_id: "c-2-bbbb".into(),
                group_instance_id: None,
                client_id: "c-2".into(),
                host: "/127.0.0.1".into(),
                assignment: vec![("u".into(), 0), ("t".into(), 0), ("t".into(), 2)],
            },
        ],
        coordinator: Node {
            id: 1,
            host: "localhost".into(),
            port: 9092,
        },
    }
}

fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut v = Vec::new();
    f(&mut v);
    String::from_utf8(v).unwrap()
}

#[test]
fn offsets_table() {
    let d = desc("Stable");
    let committed = BTreeMap::from([
        (("t".to_string(), 0), 3),
        (("t".to_string(), 1), 5),
        (("v".to_string(), 0), 1),
    ]);
    let ends = BTreeMap::from([
        (("t".to_string(), 0), Some(10)),
        (("t".to_string(), 1), Some(5)),
        (("t".to_string(), 2), Some(4)),
        (("u".to_string(), 0), None),
        (("v".to_string(), 0), Some(1)),
    ]);
    let rows = offset_rows(&d, &committed, &ends);
    let order: Vec<(String, i32)> = rows
        .iter()
        .map(|r| (r.topic.clone().unwrap(), r.partition.unwrap()))
        .collect();
    assert_eq!(
        order,
        vec![
            ("t".into(), 0),
            ("u".into(), 0),
            ("t".into(), 2),
            ("t".into(), 1),
            ("v".into(), 0)
        ]
    );
    assert_eq!(rows[0].lag, Some(7));
    assert_eq!(rows[2].lag, None);
    assert_eq!(rows[4].consumer_id.as_deref(), Some("-"));
    let out = text(|o| print_offsets(&rows, o));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "");
    assert_eq!(
        lines[1],
        "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID"
    );
    assert_eq!(
        lines[2],
        "g               t               0          3               10              7               c-2-bbbb        /127.0.0.1      c-2"
    );
    assert_eq!(
        lines[3],
        "g               u               0          -               -               -               c-2-bbbb        /127.0.0.1      c-2"
    );
    assert_eq!(
        lines[6],
        "g               v               0          1               1               0               -               -               -"
    );
}

#[test]
fn state_notes() {
    let mut out = Vec::new();
    let mut err = Vec::new();
    assert!(!should_print(
        "g",
        Some("Dead"),
        Some(0),
        &mut out,
        &mut err
    ));
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        "\nError: Consumer group 'g' does not exist.\n"
    );
    out.clear();
    assert!(!should_print(
        "g",
        Some("Empty"),
        Some(0),
        &mut out,
        &mut err
    ));
    assert_eq!(
        String::from_utf8(err.clone()).unwrap(),
        "\nConsumer group 'g' has no active members.\n"
    );
    err.clear();
    assert!(should_print(
        "g",
        Some("PreparingRebalance"),
        Some(2),
        &mut out,
        &mut err
    ));
    assert_eq!(
        String::from_utf8(err).unwrap(),
        "\nWarning: Consumer group 'g' is rebalancing.\n"
    );
    assert!(!should_print("g", None, None, &mut out, &mut Vec::new()));
    assert!(String::from_utf8(out)
        .unwrap()
        .ends_with("Error: The consumer group 'g' does not exist.\n"));
}

#[test]
fn members_and_state() {
    let d = desc("Stable");
    let out = text(|o| print_members(&d, true, o));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1], "GROUP           CONSUMER-ID     HOST            CLIENT-ID       #PARTITIONS     ASSIGNMENT");
    assert_eq!(lines[3], "g               c-2-bbbb        /127.0.0.1      c-2             3               t(0,2), u(0)");
    let out = text(|o| print_members(&d, false, o));
    assert_eq!(
        out.lines().nth(2).unwrap(),
        "g               c-1-aaaa        /127.0.0.1      c-1             1               "
    );
    let out = text(|o| print_state(&d, o));
    assert_eq!(
        out,
        "\nGROUP                     COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE           #MEMBERS\ng                         localhost:9092 (1)        range                Stable          2\n"
    );
    assert_eq!(assignment_text(&[]), "-");
}

#[test]
fn lists_plans_and_deletes() {
    let out = text(|o| print_group_states(&[("g1".into(), "Stable".into())], o));
    assert_eq!(out, "GROUP           STATE\ng1              Stable\n");
    let plan = BTreeMap::from([("g".to_string(), BTreeMap::from([(("t".to_string(), 0), 3)]))]);
    let out = text(|o| print_offsets_to_reset(&plan, o));
    assert_eq!(
        out,
        format!(
            "\n{:<30} {:<30} {:<10} {:<15}\n{:<30} {:<30} {:<10} {:<15}\n",
            "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET", "g", "t", 0, 3
        )
    );
    assert_eq!(text(|o| print_offsets_to_reset(&BTreeMap::new(), o)), "");
    let out = text(|o| print_delete_result(&[("a".into(), Ok(())), ("b".into(), Ok(()))], o));
    assert_eq!(
        out,
        "Deletion of requested consumer groups ('a', 'b') was successful.\n"
    );
    let out = text(|o| {
        print_delete_result(&[("a".into(), Ok(())), ("b".into(), Err("org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.".into()))], o)
    });
    assert_eq!(
        out,
        "\nError: Deletion of some consumer groups failed:\n* Group 'b' could not be deleted due to: org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.\n\nThese consumer groups were deleted successfully: 'a'\n"
    );
    let out = text(|o| {
        print_delete_offsets(
            &[
                (("t".into(), 1), None),
                (("x".into(), -1), Some("boom".into())),
            ],
            o,
        )
    });
    assert_eq!(
        out.lines().nth(2).unwrap(),
        format!("{:<30} {:<15} {:<15}", "t", "1", "Successful")
    );
    assert_eq!(
        out.lines().nth(3).unwrap(),
        format!("{:<30} {:<15} {:<15}", "x", "Not Provided", "Error: boom")
    );
}
