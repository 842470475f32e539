//! Client-side partition assignors run by the group leader: Kafka's `RangeAssignor` (the
//! default) and `RoundRobinAssignor`. Every member computes nothing itself; the leader maps
//! each member's subscription to partitions and hands the result back in SyncGroup, so the
//! result must match Kafka's for mixed groups to agree on who reads what.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// A member as the assignor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSubscription {
    /// The member id the coordinator gave.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
    /// Subscribed topics.
    pub topics: Vec<String>,
}

/// Kafka's `MemberInfo` order: static members first (by instance id), then by member id.
fn member_order(a: &MemberSubscription, b: &MemberSubscription) -> Ordering {
    match (&a.group_instance_id, &b.group_instance_id) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.member_id.cmp(&b.member_id),
    }
}

/// A named assignor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignor {
    /// `range`: per topic, consecutive ranges of partitions.
    Range,
    /// `roundrobin`: all partitions dealt out in turn.
    RoundRobin,
}

impl Assignor {
    /// The protocol name announced in JoinGroup.
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
        }
    }

    /// The assignor for a protocol name or a `partition.assignment.strategy` class name.
    pub fn from_name(name: &str) -> Option<Assignor> {
        match name.trim() {
            "range" | "org.apache.kafka.clients.consumer.RangeAssignor" => Some(Assignor::Range),
            "roundrobin" | "org.apache.kafka.clients.consumer.RoundRobinAssignor" => {
                Some(Assignor::RoundRobin)
            }
            _ => None,
        }
    }

    /// Compute every member's partitions. `partitions_per_topic` gives the partition count of
    /// each topic known to exist; subscribed topics missing from it are skipped.
    pub fn assign(
        self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> BTreeMap<String, Vec<(String, i32)>> {
        match self {
            Assignor::Range => range_assign(partitions_per_topic, members),
            Assignor::RoundRobin => round_robin_assign(partitions_per_topic, members),
        }
    }
}

/// Kafka's `RangeAssignor`: for each topic, the subscribed members in `MemberInfo` order get
/// `n / m` partitions each, the first `n % m` of them one more.
pub fn range_assign(
    partitions_per_topic: &BTreeMap<String, i32>,
    members: &[MemberSubscription],
) -> BTreeMap<String, Vec<(String, i32)>> {
    let mut out: BTreeMap<String, Vec<(String, i32)>> = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    let mut consumers_per_topic: BTreeMap<&str, Vec<&MemberSubscription>> = BTreeMap::new();
    for m in members {
        for t in &m.topics {
            consumers_per_topic.entry(t.as_str()).or_default().push(m);
        }
    }
    for (topic, mut consumers) in consumers_per_topic {
        let Some(&n) = partitions_per_topic.get(topic) else {
            continue;
        };
        consumers.sort_by(|a, b| member_order(a, b));
        consumers.dedup_by(|a, b| a.member_id == b.member_id);
        let m = consumers.len() as i32;
        if m == 0 || n <= 0 {
            continue;
        }
        let per = n / m;
        let extra = n % m;
        for (i, c) in consumers.iter().enumerate() {
            let i = i as i32;
            let start = per * i + i.min(extra);
            let len = per + if i + 1 > extra { 0 } else { 1 };
            let list = out.entry(c.member_id.clone()).or_default();
            list.extend((start..start + len).map(|p| (topic.to_string(), p)));
        }
    }
    out
}

/// Kafka's `RoundRobinAssignor`: all partitions of all subscribed topics, sorted by topic and
/// partition, dealt to the members in `MemberInfo` order, skipping members not subscribed to
/// the partition's topic.
pub fn round_robin_assign(
    partitions_per_topic: &BTreeMap<String, i32>,
    members: &[MemberSubscription],
) -> BTreeMap<String, Vec<(String, i32)>> {
    let mut out: BTreeMap<String, Vec<(String, i32)>> = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    let mut sorted: Vec<&MemberSubscription> = members.iter().collect();
    sorted.sort_by(|a, b| member_order(a, b));
    if sorted.is_empty() {
        return out;
    }
    let topics: BTreeSet<&str> = members
        .iter()
        .flat_map(|m| m.topics.iter().map(String::as_str))
        .collect();
    let mut next = 0usize;
    for topic in topics {
        let Some(&n) = partitions_per_topic.get(topic) else {
            continue;
        };
        for p in 0..n.max(0) {
            // Find the next member (cyclically) that subscribes to this topic.
            for _ in 0..sorted.len() {
                let m = sorted[next % sorted.len()];
                next = (next + 1) % sorted.len();
                if m.topics.iter().any(|t| t == topic) {
                    out.entry(m.member_id.clone())
                        .or_default()
                        .push((topic.to_string(), p));
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, topics: &[&str]) -> MemberSubscription {
        MemberSubscription {
            member_id: id.into(),
            group_instance_id: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn tps(list: &[(&str, i32)]) -> Vec<(String, i32)> {
        list.iter().map(|(t, p)| (t.to_string(), *p)).collect()
    }

    #[test]
    fn range_two_topics_three_partitions_two_members() {
        // Kafka's RangeAssignor javadoc example: C0 gets t0p0 t0p1 t1p0 t1p1, C1 gets t0p2 t1p2.
        let parts = BTreeMap::from([("t0".to_string(), 3), ("t1".to_string(), 3)]);
        let out = range_assign(
            &parts,
            &[member("C1", &["t0", "t1"]), member("C0", &["t0", "t1"])],
        );
        assert_eq!(
            out["C0"],
            tps(&[("t0", 0), ("t0", 1), ("t1", 0), ("t1", 1)])
        );
        assert_eq!(out["C1"], tps(&[("t0", 2), ("t1", 2)]));
    }

    #[test]
    fn range_more_members_than_partitions_and_unknown_topic() {
        let parts = BTreeMap::from([("t".to_string(), 2)]);
        let out = range_assign(
            &parts,
            &[
                member("a", &["t", "gone"]),
                member("b", &["t"]),
                member("c", &["t"]),
            ],
        );
        assert_eq!(out["a"], tps(&[("t", 0)]));
        assert_eq!(out["b"], tps(&[("t", 1)]));
        assert!(out["c"].is_empty());
    }

    #[test]
    fn static_members_sort_first() {
        let parts = BTreeMap::from([("t".to_string(), 3)]);
        let mut s = member("z", &["t"]);
        s.group_instance_id = Some("inst".into());
        let out = range_assign(&parts, &[member("a", &["t"]), s]);
        assert_eq!(out["z"], tps(&[("t", 0), ("t", 1)]));
        assert_eq!(out["a"], tps(&[("t", 2)]));
    }

    #[test]
    fn round_robin_skips_unsubscribed_members() {
        // C0: [t0, t1, t2], C1: [t1, t2], C2: [t2]; t0 has 1 partition, t1 2, t2 3.
        let parts = BTreeMap::from([
            ("t0".to_string(), 1),
            ("t1".to_string(), 2),
            ("t2".to_string(), 3),
        ]);
        let out = round_robin_assign(
            &parts,
            &[
                member("C0", &["t0", "t1", "t2"]),
                member("C1", &["t1", "t2"]),
                member("C2", &["t2"]),
            ],
        );
        assert_eq!(out["C0"], tps(&[("t0", 0), ("t1", 1), ("t2", 2)]));
        assert_eq!(out["C1"], tps(&[("t1", 0), ("t2", 0)]));
        assert_eq!(out["C2"], tps(&[("t2", 1)]));
    }

    #[test]
    fn names() {
        assert_eq!(
            Assignor::from_name("org.apache.kafka.clients.consumer.RoundRobinAssignor"),
            Some(Assignor::RoundRobin)
        );
        assert_eq!(Assignor::from_name("range"), Some(Assignor::Range));
        assert_eq!(Assignor::from_name("sticky"), None);
        assert_eq!(Assignor::Range.name(), "range");
    }
}
