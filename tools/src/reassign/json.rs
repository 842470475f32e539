//! The JSON files of `kafka-reassign-partitions`: topics-to-move input, reassignment input and
//! Kafka's rendering of an assignment (`{"version":1,"partitions":[...,"log_dirs":["any"]]}`).

use std::collections::BTreeMap;

use serde_json::Value;

/// Log dir value meaning "let the broker choose".
pub const ANY_LOG_DIR: &str = "any";

/// A topic partition, ordered by topic name then partition (Kafka's `compareTopicPartitions`).
pub type Tp = (String, i32);

/// `t-0`, as Kafka's `TopicPartition.toString`.
pub fn tp_string(tp: &Tp) -> String {
    format!("{}-{}", tp.0, tp.1)
}

/// One entry of a reassignment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassignmentEntry {
    /// Topic and partition.
    pub tp: Tp,
    /// Target replicas, in order.
    pub replicas: Vec<i32>,
    /// Log dir per replica (`any` when the file has none).
    pub log_dirs: Vec<String>,
}

impl ReassignmentEntry {
    /// Whether some replica asks for a specific log dir (needs `--bootstrap-server`).
    pub fn has_log_dirs(&self) -> bool {
        self.log_dirs.iter().any(|d| d != ANY_LOG_DIR)
    }
}

fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|_| "The input string is not a valid JSON".to_string())
}

fn version_of(js: &Value) -> Result<i64, String> {
    match js.get("version") {
        None => Ok(1),
        Some(v) => v.as_i64().ok_or_else(|| format!("Expected `version` to be an int, found {v}")),
    }
}

fn field<'a>(obj: &'a Value, name: &str) -> Result<&'a Value, String> {
    obj.get(name).ok_or_else(|| format!("No such field exists: `{name}`"))
}

fn as_string(v: &Value, name: &str) -> Result<String, String> {
    v.as_str().map(str::to_string).ok_or_else(|| format!("Expected `{name}` to be a string, found {v}"))
}

fn as_int(v: &Value, name: &str) -> Result<i32, String> {
    v.as_i64()
        .and_then(|i| i32::try_from(i).ok())
        .ok_or_else(|| format!("Expected `{name}` to be an int, found {v}"))
}

fn as_array<'a>(v: &'a Value, name: &str) -> Result<&'a Vec<Value>, String> {
    v.as_array().ok_or_else(|| format!("Expected `{name}` to be an array, found {v}"))
}

/// Scala's `List(1, 2)` rendering used in some of Kafka's messages.
pub fn scala_list<T: std::fmt::Display>(items: &[T]) -> String {
    format!("List({})", items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
}

/// Topics of `{"version":1,"topics":[{"topic":"foo"}]}` (a missing `topics` field means none).
pub fn parse_topics_to_move(text: &str) -> Result<Vec<String>, String> {
    let js = parse_json(text)?;
    let version = version_of(&js)?;
    if version != 1 {
        return Err(format!("Not supported version field value {version}"));
    }
    let mut out = Vec::new();
    if let Some(topics) = js.get("topics") {
        for t in as_array(topics, "topics")? {
            out.push(as_string(field(t, "topic")?, "topic")?);
        }
    }
    Ok(out)
}

/// Entries of a reassignment file, in file order (`log_dirs` optional, sizes must match).
pub fn parse_reassignment(text: &str) -> Result<Vec<ReassignmentEntry>, String> {
    let js = parse_json(text)?;
    let version = version_of(&js)?;
    if version != 1 {
        return Err(format!("Not supported version field value {version}"));
    }
    let mut out = Vec::new();
    if let Some(partitions) = js.get("partitions") {
        for p in as_array(partitions, "partitions")? {
            let topic = as_string(field(p, "topic")?, "topic")?;
            let partition = as_int(field(p, "partition")?, "partition")?;
            let replicas = as_array(field(p, "replicas")?, "replicas")?
                .iter()
                .map(|r| as_int(r, "replicas"))
                .collect::<Result<Vec<i32>, String>>()?;
            let log_dirs = match p.get("log_dirs") {
                Some(v) => as_array(v, "log_dirs")?
                    .iter()
                    .map(|d| as_string(d, "log_dirs"))
                    .collect::<Result<Vec<String>, String>>()?,
                None => vec![ANY_LOG_DIR.to_string(); replicas.len()],
            };
            if replicas.len() != log_dirs.len() {
                return Err(format!(
                    "Size of replicas list {} is different from size of log dirs list {} for partition {topic}-{partition}",
                    scala_list(&replicas),
                    scala_list(&log_dirs)
                ));
            }
            out.push(ReassignmentEntry { tp: (topic, partition), replicas, log_dirs });
        }
    }
    Ok(out)
}

/// Items that occur more than once, each reported once, in order of first repetition
/// (Kafka's `CoreUtils.duplicates`).
pub fn duplicates<T: Clone + PartialEq>(items: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) && !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn json_ints(v: &[i32]) -> String {
    format!("[{}]", v.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","))
}

/// Kafka's `formatAsReassignmentJson` with every log dir `any`, partitions sorted by topic then
/// partition.
pub fn format_reassignment_json(assignment: &BTreeMap<Tp, Vec<i32>>) -> String {
    let parts: Vec<String> = assignment
        .iter()
        .map(|((topic, partition), replicas)| {
            let dirs: Vec<String> = replicas.iter().map(|_| json_string(ANY_LOG_DIR)).collect();
            format!(
                "{{\"topic\":{},\"partition\":{partition},\"replicas\":{},\"log_dirs\":[{}]}}",
                json_string(topic),
                json_ints(replicas),
                dirs.join(",")
            )
        })
        .collect();
    format!("{{\"version\":1,\"partitions\":[{}]}}", parts.join(","))
}

/// `/admin/reassign_partitions` content (§1.4.5): no `log_dirs`, sorted like the tool's output.
pub fn format_reassign_znode(assignment: &BTreeMap<Tp, Vec<i32>>) -> String {
    let parts: Vec<String> = assignment
        .iter()
        .map(|((topic, partition), replicas)| {
            format!(
                "{{\"topic\":{},\"partition\":{partition},\"replicas\":{}}}",
                json_string(topic),
                json_ints(replicas)
            )
        })
        .collect();
    format!("{{\"version\":1,\"partitions\":[{}]}}", parts.join(","))
}

/// Partitions of an in-progress `/admin/reassign_partitions` node with their targets.
pub fn parse_reassign_znode(text: &str) -> Result<BTreeMap<Tp, Vec<i32>>, String> {
    Ok(parse_reassignment(text)?.into_iter().map(|e| (e.tp, e.replicas)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_rendering() {
        let a: BTreeMap<Tp, Vec<i32>> = [
            (("t".to_string(), 1), vec![2, 3]),
            (("t".to_string(), 0), vec![1, 2]),
            (("a".to_string(), 10), vec![3]),
            (("a".to_string(), 2), vec![1]),
        ]
        .into();
        assert_eq!(
            format_reassignment_json(&a),
            r#"{"version":1,"partitions":[{"topic":"a","partition":2,"replicas":[1],"log_dirs":["any"]},{"topic":"a","partition":10,"replicas":[3],"log_dirs":["any"]},{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","any"]},{"topic":"t","partition":1,"replicas":[2,3],"log_dirs":["any","any"]}]}"#
        );
        assert_eq!(
            format_reassign_znode(&a),
            r#"{"version":1,"partitions":[{"topic":"a","partition":2,"replicas":[1]},{"topic":"a","partition":10,"replicas":[3]},{"topic":"t","partition":0,"replicas":[1,2]},{"topic":"t","partition":1,"replicas":[2,3]}]}"#
        );
        assert_eq!(format_reassignment_json(&BTreeMap::new()), r#"{"version":1,"partitions":[]}"#);
    }

    #[test]
    fn round_trip() {
        let text = r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","any"]}]}"#;
        let e = parse_reassignment(text).unwrap();
        let map: BTreeMap<Tp, Vec<i32>> = e.into_iter().map(|e| (e.tp, e.replicas)).collect();
        assert_eq!(format_reassignment_json(&map), text);
    }

    #[test]
    fn reassignment_parsing() {
        let e = parse_reassignment(
            r#"{"partitions":[{"topic":"t","partition":3,"replicas":[3,1]},{"topic":"u","partition":0,"replicas":[1],"log_dirs":["/d"]}]}"#,
        )
        .unwrap();
        assert_eq!(e[0].tp, ("t".to_string(), 3));
        assert_eq!(e[0].log_dirs, vec!["any", "any"]);
        assert!(!e[0].has_log_dirs());
        assert!(e[1].has_log_dirs());
        assert_eq!(parse_reassignment("{}").unwrap(), vec![]);
        assert_eq!(parse_reassignment("nope").unwrap_err(), "The input string is not a valid JSON");
        assert_eq!(
            parse_reassignment(r#"{"version":2,"partitions":[]}"#).unwrap_err(),
            "Not supported version field value 2"
        );
        assert_eq!(
            parse_reassignment(r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any"]}]}"#)
                .unwrap_err(),
            "Size of replicas list List(1, 2) is different from size of log dirs list List(any) for partition t-0"
        );
        assert_eq!(
            parse_reassignment(r#"{"partitions":[{"topic":"t","replicas":[1]}]}"#).unwrap_err(),
            "No such field exists: `partition`"
        );
    }

    #[test]
    fn topics_parsing() {
        assert_eq!(
            parse_topics_to_move(r#"{"version":1,"topics":[{"topic":"foo"},{"topic":"bar"}]}"#).unwrap(),
            vec!["foo", "bar"]
        );
        assert_eq!(parse_topics_to_move(r#"{"version":1}"#).unwrap(), Vec::<String>::new());
        assert!(parse_topics_to_move(r#"{"topics":[{"name":"x"}]}"#).is_err());
    }

    #[test]
    fn duplicate_detection() {
        assert_eq!(duplicates(&[1, 2, 1, 3, 2, 1]), vec![1, 2]);
        assert!(duplicates::<i32>(&[]).is_empty());
    }
}
