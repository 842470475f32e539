//! 10,000 partitions on 3 brokers through the in-memory ZooKeeper: creation, broker failure,
//! controlled shutdown and a preferred election, each within a time budget, with batched requests.

use std::time::{Duration, Instant};

use zk_schema::paths;

use crate::config::ControllerConfig;
use crate::event::ControllerEvent;
use crate::requests_api::{ElectionTrigger, ElectionType};
use crate::test_support::{started, summary, FakeZk};

const PARTITIONS: i32 = 10_000;
/// Generous for debug builds on a shared 2-core machine; the real figures are logged.
const BUDGET: Duration = Duration::from_secs(60);

fn check(step: &str, start: Instant) {
    let took = start.elapsed();
    eprintln!("scale: {step} of {PARTITIONS} partitions took {} ms", took.as_millis());
    assert!(took < BUDGET, "{step} took {took:?}");
}

#[tokio::test]
async fn ten_thousand_partitions_create_fail_over_and_move_leaders() {
    let zk = FakeZk::new();
    let (mut c, sink) = started(&zk, 3, ControllerConfig::with_defaults(3)).await;
    let assignment: Vec<(i32, Vec<i32>)> =
        (0..PARTITIONS).map(|p| (p, (0..3).map(|i| (p + i) % 3 + 1).collect())).collect();
    zk.create_topic("big", &assignment, true);

    let start = Instant::now();
    c.process(ControllerEvent::TopicChange).await;
    check("creation", start);
    let sent = sink.take();
    let lai: Vec<_> = summary(&sent).into_iter().filter(|(_, n)| *n == "LeaderAndIsr").collect();
    assert_eq!(lai.len(), 3, "one LeaderAndIsr per broker for the whole creation, not one per partition");
    assert_eq!(zk.partition_state("big", 9_999).map(|s| s.leader), Some(1));

    let start = Instant::now();
    zk.remove(&paths::broker_id(1));
    c.process(ControllerEvent::BrokerChange).await;
    check("failure of broker 1", start);
    let sent = sink.take();
    assert!(sent.iter().all(|(b, _)| *b != 1));
    assert!(summary(&sent).iter().filter(|(b, n)| *b == 2 && *n == "LeaderAndIsr").count() <= 2, "batched per broker");
    for p in [0, 3, 9_999] {
        let s = zk.partition_state("big", p).expect("state");
        assert!(s.leader != 1 && !s.isr.contains(&1), "partition {p}: {s:?}");
    }

    let start = Instant::now();
    zk.register(1);
    c.process(ControllerEvent::BrokerChange).await;
    check("return of broker 1", start);

    let start = Instant::now();
    let epoch2 = c.ctx.live_broker_epoch(2).expect("live");
    let remaining = c.process_controlled_shutdown(2, epoch2).await.expect("accepted");
    check("controlled shutdown of broker 2", start);
    assert!(remaining.is_empty());
    c.ctx.shutting_down_broker_ids.clear();
    sink.take();

    // Followers caught up everywhere: preferred election moves ~2/3 of the leaders back.
    for p in 0..PARTITIONS {
        let mut s = zk.partition_state("big", p).expect("state");
        s.isr = assignment[p as usize].1.clone();
        zk.put(&paths::partition_state("big", p), &s.encode());
    }
    let all: Vec<_> = (0..PARTITIONS).map(|p| crate::context::TopicPartition::new("big", p)).collect();
    for (tp, state) in crate::zk_executor::read_partition_states(&zk, &all).await.expect("read") {
        c.ctx.put_partition_leadership_info(tp, state.expect("state"));
    }
    let start = Instant::now();
    let results = c
        .process_replica_leader_election(None, ElectionType::Preferred, ElectionTrigger::AdminClient)
        .await
        .expect("elections");
    check("preferred election", start);
    assert!(results.iter().all(|(_, r)| r.is_ok()), "only elected partitions are listed");
    assert!(results.len() > 6_000, "{}", results.len());
    let sent = sink.take();
    assert_eq!(summary(&sent).iter().filter(|(_, n)| *n == "LeaderAndIsr").count(), 3);
    assert!((0..PARTITIONS).step_by(997).all(|p| zk.partition_state("big", p).map(|s| s.leader) == Some(assignment[p as usize].1[0])));
}
