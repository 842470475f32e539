//! Tests of reset planning and its parsers.

use super::*;

fn tp(t: &str, p: i32) -> Tp {
    (t.to_string(), p)
}

fn data() -> OffsetData {
    let mut d = OffsetData::default();
    for p in 0..2 {
        d.log_start.insert(tp("t", p), 2);
        d.log_end.insert(tp("t", p), 10);
    }
    d.committed.insert(tp("t", 0), 5);
    d.committed.insert(tp("t", 1), 4);
    d.by_time.insert(tp("t", 0), Some(7));
    d.by_time.insert(tp("t", 1), None);
    d
}

#[test]
fn scenarios() {
    let parts = [tp("t", 0), tp("t", 1)];
    let d = data();
    let (plan, w) = prepare(&Scenario::ShiftBy(-2), &parts, &d).unwrap();
    assert_eq!(plan, BTreeMap::from([(tp("t", 0), 3), (tp("t", 1), 2)]));
    assert!(w.is_empty());
    let (plan, w) = prepare(&Scenario::ShiftBy(-4), &parts, &d).unwrap();
    assert_eq!(plan[&tp("t", 1)], 2);
    assert_eq!(w.len(), 2);
    assert_eq!(w[1], "New offset (0) is lower than earliest offset for topic partition t-1. Value will be set to 2");
    let (plan, w) = prepare(&Scenario::ToOffset(50), &parts, &d).unwrap();
    assert_eq!(plan[&tp("t", 0)], 10);
    assert_eq!(w.len(), 2);
    assert!(w[0].starts_with("New offset (50) is higher than latest offset for topic partition t-0. Value will be set to 10"));
    assert_eq!(
        prepare(&Scenario::ToEarliest, &parts, &d).unwrap().0[&tp("t", 1)],
        2
    );
    assert_eq!(
        prepare(&Scenario::ToLatest, &parts, &d).unwrap().0[&tp("t", 1)],
        10
    );
    let (plan, _) = prepare(&Scenario::ToTimestamp(0), &parts, &d).unwrap();
    assert_eq!(plan, BTreeMap::from([(tp("t", 0), 7), (tp("t", 1), 10)]));
    let (plan, _) = prepare(&Scenario::ToCurrent, &[tp("t", 0), tp("t", 1)], &d).unwrap();
    assert_eq!(plan, BTreeMap::from([(tp("t", 0), 5), (tp("t", 1), 4)]));
    let mut d2 = d.clone();
    d2.committed.clear();
    assert_eq!(
        prepare(&Scenario::ToCurrent, &parts, &d2).unwrap().0[&tp("t", 0)],
        10
    );
    assert_eq!(
        prepare(&Scenario::ShiftBy(1), &parts, &d2),
        Err(PlanError::Usage(
            "Cannot shift offset for partition t-0 since there is no current committed offset"
                .into()
        ))
    );
    let req = BTreeMap::from([(tp("t", 1), 1)]);
    let (plan, w) = prepare(&Scenario::Requested(req), &[], &d).unwrap();
    assert_eq!(plan, BTreeMap::from([(tp("t", 1), 2)]));
    assert_eq!(w.len(), 1);
}

#[test]
fn topic_args() {
    assert_eq!(parse_topic_arg("t").unwrap(), TopicArg::Whole("t".into()));
    assert_eq!(
        parse_topic_arg("t:0,2").unwrap(),
        TopicArg::Partitions("t".into(), vec![0, 2])
    );
    assert!(parse_topic_arg("t:x").is_err());
}

#[test]
fn datetimes() {
    assert_eq!(parse_datetime("1970-01-01T00:00:00.000").unwrap(), 0);
    assert_eq!(
        parse_datetime("2021-03-04T05:06:07.089").unwrap(),
        1_614_834_367_089
    );
    assert_eq!(
        parse_datetime("2021-03-04T05:06:07.089Z").unwrap(),
        1_614_834_367_089
    );
    assert_eq!(
        parse_datetime("2021-03-04T07:06:07.089+02:00").unwrap(),
        1_614_834_367_089
    );
    assert_eq!(
        parse_datetime("2021-03-04T03:06:07.089-0200").unwrap(),
        1_614_834_367_089
    );
    assert_eq!(
        parse_datetime("2000-02-29T00:00:00.000").unwrap(),
        951_782_400_000
    );
    assert!(parse_datetime("2021-03-04 05:06:07")
        .unwrap_err()
        .contains("does not contain a 'T'"));
    assert!(parse_datetime("2021-02-29T00:00:00.000")
        .unwrap_err()
        .contains("Unparseable date"));
    assert!(parse_datetime("2021-03-04T05:06:07").is_err());
}

#[test]
fn durations() {
    assert_eq!(parse_duration("PT0.5S").unwrap(), 500);
    assert_eq!(parse_duration("P1DT2H3M4S").unwrap(), 93_784_000);
    assert_eq!(parse_duration("pt10m").unwrap(), 600_000);
    assert_eq!(parse_duration("-PT1H").unwrap(), -3_600_000);
    assert_eq!(parse_duration("P2D").unwrap(), 172_800_000);
    assert!(parse_duration("P").is_err());
    assert!(parse_duration("PT").is_err());
    assert!(parse_duration("1H").is_err());
}

#[test]
fn csv_round_trip() {
    let plan = BTreeMap::from([(
        "g".to_string(),
        BTreeMap::from([(tp("t", 0), 3), (tp("t", 1), 4)]),
    )]);
    let single = export_csv(&plan, true);
    assert_eq!(single, "t,0,3\nt,1,4\n");
    assert_eq!(parse_reset_plan(&single, &["g".to_string()]).unwrap(), plan);
    let multi = export_csv(&plan, false);
    assert_eq!(multi, "g,t,0,3\ng,t,1,4\n");
    assert_eq!(
        parse_reset_plan(&multi, &["g".to_string(), "h".to_string()]).unwrap(),
        plan
    );
    assert_eq!(parse_reset_plan(&multi, &["g".to_string()]).unwrap(), plan);
    assert!(parse_reset_plan("t,x,1\n", &["g".to_string(), "h".to_string()]).is_err());
    let quoted = BTreeMap::from([("a,b".to_string(), BTreeMap::from([(tp("t", 0), 1)]))]);
    assert_eq!(
        parse_reset_plan(&export_csv(&quoted, false), &[]).unwrap(),
        quoted
    );
}

#[test]
fn error_messages_are_the_java_exception_messages() {
    assert_eq!(
        parse_datetime("x").unwrap_err(),
        "Error parsing timestamp. It does not contain a 'T' according to ISO8601 format"
    );
    assert_eq!(
        parse_datetime("2021-13-01T00:00:00.000").unwrap_err(),
        "Unparseable date: \"2021-13-01T00:00:00.000\""
    );
    assert_eq!(
        parse_duration("1D").unwrap_err(),
        "Text cannot be parsed to a Duration"
    );
    assert_eq!(
        parse_topic_arg("t:1,x"),
        Err(PlanError::Failed("For input string: \"x\"".into()))
    );
}
