//! The partition-list file of the election tools: `{"partitions":[{"topic":"t","partition":0}]}`.

use serde_json::Value;

use crate::reassign::json::{duplicates, tp_string, Tp};

/// Which tool reads the file; only the wording of the errors differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionFileKind {
    /// `kafka-preferred-replica-election` ("Preferred replica election data ...").
    Preferred,
    /// `kafka-leader-election` ("Replica election data ...").
    Leader,
}

/// Partitions of the file, in file order, duplicates refused with Kafka's message.
pub fn parse_election_partitions(text: &str, kind: ElectionFileKind) -> Result<Vec<Tp>, String> {
    let prefix = match kind {
        ElectionFileKind::Preferred => "Preferred replica election data",
        ElectionFileKind::Leader => "Replica election data",
    };
    let empty = || format!("{prefix} is empty");
    let js: Value = serde_json::from_str(text).map_err(|_| empty())?;
    let Some(list) = js.get("partitions") else {
        return Err(match kind {
            ElectionFileKind::Preferred => empty(),
            ElectionFileKind::Leader => format!("{prefix} is missing \"partitions\" field"),
        });
    };
    let items = list.as_array().ok_or_else(|| format!("Expected `partitions` to be an array, found {list}"))?;
    let mut out = Vec::with_capacity(items.len());
    for p in items {
        let topic = p
            .get("topic")
            .ok_or_else(|| "No such field exists: `topic`".to_string())?
            .as_str()
            .ok_or_else(|| "Expected `topic` to be a string".to_string())?;
        let partition = p
            .get("partition")
            .ok_or_else(|| "No such field exists: `partition`".to_string())?
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| "Expected `partition` to be an int".to_string())?;
        out.push((topic.to_string(), partition));
    }
    let dups = duplicates(&out);
    if !dups.is_empty() {
        return Err(format!(
            "{prefix} contains duplicate partitions: {}",
            dups.iter().map(tp_string).collect::<Vec<_>>().join(",")
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let ok = parse_election_partitions(
            r#"{"partitions":[{"topic":"t","partition":1},{"topic":"t","partition":0}]}"#,
            ElectionFileKind::Preferred,
        )
        .unwrap();
        assert_eq!(ok, vec![("t".to_string(), 1), ("t".to_string(), 0)]);
        assert_eq!(
            parse_election_partitions(
                r#"{"partitions":[{"topic":"t","partition":0},{"topic":"t","partition":0}]}"#,
                ElectionFileKind::Preferred
            )
            .unwrap_err(),
            "Preferred replica election data contains duplicate partitions: t-0"
        );
        assert_eq!(
            parse_election_partitions(
                r#"{"partitions":[{"topic":"t","partition":0},{"topic":"t","partition":0}]}"#,
                ElectionFileKind::Leader
            )
            .unwrap_err(),
            "Replica election data contains duplicate partitions: t-0"
        );
        assert_eq!(
            parse_election_partitions("{}", ElectionFileKind::Preferred).unwrap_err(),
            "Preferred replica election data is empty"
        );
        assert_eq!(
            parse_election_partitions("{}", ElectionFileKind::Leader).unwrap_err(),
            "Replica election data is missing \"partitions\" field"
        );
        assert_eq!(parse_election_partitions("x", ElectionFileKind::Leader).unwrap_err(), "Replica election data is empty");
    }
}
