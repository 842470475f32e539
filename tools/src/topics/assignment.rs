//! `--replica-assignment` parsing and the checks Kafka applies to explicit assignments.

use std::collections::{BTreeMap, BTreeSet};

/// Split like Java's `String.split(sep)`: trailing empty pieces are dropped and leading ones kept.
/// (Where Java would return no piece at all, e.g. for `"::"`, one empty piece is returned so the
/// caller reports it as a bad number.)
pub fn java_split(s: &str, sep: char) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// Java's `Integer.parseInt` after trimming, with its error text.
pub fn java_parse_int(s: &str) -> Result<i32, String> {
    let t = s.trim();
    t.parse::<i32>().map_err(|_| format!("For input string: \"{t}\""))
}

/// Parse `"1:2,2:3"` into partition -> replicas (partition ids are the positions: 0, 1, ...).
///
/// Errors are Kafka's: a non-number (`For input string: "x"`), a broker listed twice in one
/// partition, or partitions with differing replica counts.
pub fn parse_replica_assignment(list: &str) -> Result<BTreeMap<i32, Vec<i32>>, String> {
    let mut out = BTreeMap::new();
    let mut first_len = None;
    for (i, partition) in java_split(list, ',').into_iter().enumerate() {
        let brokers = java_split(partition, ':').into_iter().map(java_parse_int).collect::<Result<Vec<i32>, _>>()?;
        let mut seen = BTreeSet::new();
        let mut duplicates = Vec::new();
        for b in &brokers {
            if !seen.insert(*b) && !duplicates.contains(b) {
                duplicates.push(*b);
            }
        }
        if !duplicates.is_empty() {
            return Err(format!(
                "Partition replica lists may not contain duplicate entries: {}",
                join(&duplicates, ",")
            ));
        }
        let first = *first_len.get_or_insert(brokers.len());
        if brokers.len() != first {
            return Err(format!("Partition {i} has different replication factor: {}", join(&brokers, ",")));
        }
        out.insert(i as i32, brokers);
    }
    Ok(out)
}

/// Check replicas given for new partitions against the live brokers and the topic's replication
/// factor, with Kafka's messages (`AdminZkClient.validateReplicaAssignment`).
pub fn validate_new_partition_replicas(
    assignment: &BTreeMap<i32, Vec<i32>>,
    expected_rf: usize,
    available: &BTreeSet<i32>,
) -> Result<(), String> {
    for (p, replicas) in assignment {
        if replicas.is_empty() {
            return Err(format!("Cannot have replication factor of 0 for partition id {p}."));
        }
        if replicas.iter().collect::<BTreeSet<_>>().len() != replicas.len() {
            return Err(format!(
                "Duplicate brokers not allowed in replica assignment: {} for partition id {p}.",
                join(replicas, ", ")
            ));
        }
        if !replicas.iter().all(|r| available.contains(r)) {
            return Err(format!(
                "Some brokers specified for partition id {p} are not available. Specified brokers: {}, available brokers: {}.",
                join(replicas, ", "),
                available.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let bad: Vec<(i32, usize)> =
        assignment.iter().filter(|(_, r)| r.len() != expected_rf).map(|(p, r)| (*p, r.len())).collect();
    if !bad.is_empty() {
        return Err(format!(
            "Inconsistent replication factor between partitions, partition 0 has {expected_rf} while partitions [{}] have replication factors [{}], respectively.",
            bad.iter().map(|(p, _)| p.to_string()).collect::<Vec<_>>().join(", "),
            bad.iter().map(|(_, rf)| rf.to_string()).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(())
}

/// Comma-join numbers.
pub fn join(ids: &[i32], sep: &str) -> String {
    ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_partitions_and_replicas() {
        let a = parse_replica_assignment("1:2, 2 :3,3:1").unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[&0], vec![1, 2]);
        assert_eq!(a[&1], vec![2, 3]);
        assert_eq!(a[&2], vec![3, 1]);
        assert_eq!(parse_replica_assignment("5").unwrap()[&0], vec![5]);
        // Java's split drops a trailing empty piece.
        assert_eq!(parse_replica_assignment("1:2,").unwrap().len(), 1);
    }

    #[test]
    fn kafka_errors() {
        assert_eq!(parse_replica_assignment("1:x").unwrap_err(), "For input string: \"x\"");
        assert_eq!(parse_replica_assignment("1:2,,2:1").unwrap_err(), "For input string: \"\"");
        assert_eq!(
            parse_replica_assignment("1:1:2:2").unwrap_err(),
            "Partition replica lists may not contain duplicate entries: 1,2"
        );
        assert_eq!(
            parse_replica_assignment("1:2,3").unwrap_err(),
            "Partition 1 has different replication factor: 3"
        );
    }

    #[test]
    fn new_partition_checks() {
        let live: BTreeSet<i32> = [1, 2, 3].into();
        let ok: BTreeMap<i32, Vec<i32>> = [(2, vec![1, 2]), (3, vec![2, 3])].into();
        assert!(validate_new_partition_replicas(&ok, 2, &live).is_ok());
        let unknown: BTreeMap<i32, Vec<i32>> = [(2, vec![1, 5])].into();
        assert_eq!(
            validate_new_partition_replicas(&unknown, 2, &live).unwrap_err(),
            "Some brokers specified for partition id 2 are not available. Specified brokers: 1, 5, available brokers: 1, 2, 3."
        );
        let rf: BTreeMap<i32, Vec<i32>> = [(2, vec![1]), (3, vec![1, 2]), (4, vec![3])].into();
        assert_eq!(
            validate_new_partition_replicas(&rf, 2, &live).unwrap_err(),
            "Inconsistent replication factor between partitions, partition 0 has 2 while partitions [2, 4] have replication factors [1, 1], respectively."
        );
    }
}
