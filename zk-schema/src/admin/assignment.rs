//! Default replica placement (`AdminUtils.assignReplicasToBrokers`), rack-unaware and rack-aware.
//!
//! Pure functions: the random start index and shift are passed in so tests are deterministic; callers
//! draw them with `rand`.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::ZkError;

/// A broker as placement sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerMetadata {
    /// Broker id.
    pub id: i32,
    /// `broker.rack`, if set.
    pub rack: Option<String>,
}

/// Assign `n_partitions` partitions (ids from `start_partition_id`) with `replication_factor` replicas.
///
/// `fixed_start_index` = None draws start index and shift independently at random in `[0, n)`, as Kafka
/// does for new topics; `Some(i)` uses `i` for both (adding partitions). Rack-aware placement is used
/// when every broker has a rack; a mix of racked and unracked brokers is an error unless
/// `disable_rack_aware`.
pub fn assign_replicas_to_brokers(
    brokers: &[BrokerMetadata],
    n_partitions: i32,
    replication_factor: i32,
    fixed_start_index: Option<usize>,
    start_partition_id: i32,
    disable_rack_aware: bool,
) -> Result<BTreeMap<i32, Vec<i32>>, ZkError> {
    if n_partitions <= 0 {
        return Err(ZkError::Invalid("Number of partitions must be larger than 0.".into()));
    }
    if replication_factor <= 0 {
        return Err(ZkError::Invalid("Replication factor must be larger than 0.".into()));
    }
    if replication_factor as usize > brokers.len() {
        return Err(ZkError::Invalid(format!(
            "Replication factor: {replication_factor} larger than available brokers: {}.",
            brokers.len()
        )));
    }
    let mut sorted = brokers.to_vec();
    sorted.sort_by_key(|b| b.id);
    let racked = sorted.iter().filter(|b| b.rack.is_some()).count();
    let n = sorted.len();
    let (start, shift) = match fixed_start_index {
        Some(i) => (i, i),
        None => (rand::random::<usize>() % n, rand::random::<usize>() % n),
    };
    if disable_rack_aware || racked == 0 {
        let ids: Vec<i32> = sorted.iter().map(|b| b.id).collect();
        return Ok(assign_rack_unaware(&ids, n_partitions, replication_factor, start, shift, start_partition_id));
    }
    if racked != n {
        return Err(ZkError::Invalid(
            "Not all brokers have rack information for replica rack aware assignment. \
             Use --disable-rack-aware to skip rack-aware replica assignment."
                .into(),
        ));
    }
    Ok(assign_rack_aware(&sorted, n_partitions, replication_factor, start, shift, start_partition_id))
}

/// Rack-unaware placement over `ids` (already in order) with explicit start index and shift.
pub fn assign_rack_unaware(
    ids: &[i32],
    n_partitions: i32,
    replication_factor: i32,
    start_index: usize,
    initial_shift: usize,
    start_partition_id: i32,
) -> BTreeMap<i32, Vec<i32>> {
    let n = ids.len();
    let mut out = BTreeMap::new();
    let mut shift = initial_shift;
    let first_partition = start_partition_id.max(0) as usize;
    for partition in first_partition..first_partition + n_partitions as usize {
        if partition > 0 && partition.is_multiple_of(n) {
            shift += 1;
        }
        let first = (partition + start_index) % n;
        let mut replicas = vec![ids[first]];
        for j in 0..(replication_factor as usize - 1) {
            replicas.push(ids[replica_index(first, shift, j, n)]);
        }
        out.insert(partition as i32, replicas);
    }
    out
}

fn replica_index(first: usize, shift: usize, j: usize, n: usize) -> usize {
    if n <= 1 {
        return first;
    }
    let s = 1 + (shift + j) % (n - 1);
    (first + s) % n
}

/// Brokers interleaved one per rack (racks by name, brokers by id within a rack).
fn rack_alternated(brokers: &[BrokerMetadata]) -> Vec<BrokerMetadata> {
    let mut by_rack: BTreeMap<String, Vec<BrokerMetadata>> = BTreeMap::new();
    for b in brokers {
        by_rack.entry(b.rack.clone().unwrap_or_default()).or_default().push(b.clone());
    }
    for list in by_rack.values_mut() {
        list.sort_by_key(|b| b.id);
    }
    let mut out = Vec::with_capacity(brokers.len());
    let mut i = 0;
    while out.len() < brokers.len() {
        for list in by_rack.values() {
            if let Some(b) = list.get(i) {
                out.push(b.clone());
            }
        }
        i += 1;
    }
    out
}

fn assign_rack_aware(
    brokers: &[BrokerMetadata],
    n_partitions: i32,
    replication_factor: i32,
    start_index: usize,
    initial_shift: usize,
    start_partition_id: i32,
) -> BTreeMap<i32, Vec<i32>> {
    let list = rack_alternated(brokers);
    let n = list.len();
    let num_racks = list.iter().filter_map(|b| b.rack.clone()).collect::<BTreeSet<_>>().len();
    let mut out = BTreeMap::new();
    let mut shift = initial_shift;
    let first_partition = start_partition_id.max(0) as usize;
    for partition in first_partition..first_partition + n_partitions as usize {
        if partition > 0 && partition.is_multiple_of(n) {
            shift += 1;
        }
        let first = (partition + start_index) % n;
        let leader = &list[first];
        let mut replicas = vec![leader.id];
        let mut racks_with_replica: BTreeSet<String> = leader.rack.iter().cloned().collect();
        let mut brokers_with_replica: BTreeSet<i32> = [leader.id].into();
        let mut k = 0;
        for _ in 0..(replication_factor as usize - 1) {
            loop {
                let b = &list[replica_index(first, shift * num_racks, k, n)];
                k += 1;
                let rack = b.rack.clone().unwrap_or_default();
                let rack_ok = !racks_with_replica.contains(&rack) || racks_with_replica.len() == num_racks;
                let broker_ok = !brokers_with_replica.contains(&b.id) || brokers_with_replica.len() == n;
                if rack_ok && broker_ok {
                    replicas.push(b.id);
                    racks_with_replica.insert(rack);
                    brokers_with_replica.insert(b.id);
                    break;
                }
            }
        }
        out.insert(partition as i32, replicas);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unracked(ids: &[i32]) -> Vec<BrokerMetadata> {
        ids.iter().map(|&id| BrokerMetadata { id, rack: None }).collect()
    }

    #[test]
    fn unaware_matches_kafka_example() {
        // Kafka's documented example: 5 brokers, 10 partitions, RF 3, start index 0, shift 0.
        let a = assign_rack_unaware(&[0, 1, 2, 3, 4], 10, 3, 0, 0, 0);
        assert_eq!(a[&0], vec![0, 1, 2]);
        assert_eq!(a[&1], vec![1, 2, 3]);
        assert_eq!(a[&4], vec![4, 0, 1]);
        assert_eq!(a[&5], vec![0, 2, 3]);
        assert_eq!(a[&9], vec![4, 1, 2]);
    }

    #[test]
    fn replicas_distinct_and_balanced() {
        let a = assign_replicas_to_brokers(&unracked(&[3, 1, 2]), 30, 3, None, 0, false).unwrap();
        let mut leaders = BTreeMap::new();
        for r in a.values() {
            assert_eq!(r.iter().collect::<BTreeSet<_>>().len(), 3);
            *leaders.entry(r[0]).or_insert(0) += 1;
        }
        assert!(leaders.values().all(|&c| c == 10));
    }

    #[test]
    fn errors() {
        assert!(assign_replicas_to_brokers(&unracked(&[1]), 1, 2, None, 0, false).is_err());
        assert!(assign_replicas_to_brokers(&unracked(&[1]), 0, 1, None, 0, false).is_err());
        let mixed = vec![BrokerMetadata { id: 1, rack: Some("a".into()) }, BrokerMetadata { id: 2, rack: None }];
        assert!(assign_replicas_to_brokers(&mixed, 1, 1, None, 0, false).is_err());
        assert!(assign_replicas_to_brokers(&mixed, 1, 1, None, 0, true).is_ok());
    }

    #[test]
    fn rack_aware_spreads_racks() {
        let brokers: Vec<BrokerMetadata> = [(0, "a"), (1, "a"), (2, "b"), (3, "b"), (4, "c"), (5, "c")]
            .iter()
            .map(|(id, r)| BrokerMetadata { id: *id, rack: Some(r.to_string()) })
            .collect();
        let a = assign_replicas_to_brokers(&brokers, 12, 3, Some(0), 0, false).unwrap();
        for r in a.values() {
            let racks: BTreeSet<_> = r.iter().map(|id| brokers[*id as usize].rack.clone()).collect();
            assert_eq!(racks.len(), 3, "{r:?}");
        }
    }
}
