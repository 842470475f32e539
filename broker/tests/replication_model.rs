//! A randomized model test of leader epochs, replication and truncation (issue 8, part 2).
//!
//! Three replicas of one partition, each a real `storage::Log` in its own directory inside a real
//! `broker::partition::Partition`. What a broker does is driven through the same functions the
//! broker uses: the leader's side of a fetch (`read_from_leader`: the KIP-320 diverging-epoch check,
//! follower progress, ISR expansion, the high watermark), the follower's side
//! (`apply_to_follower`: append, truncation on a diverging epoch, its high watermark;
//! `resolve_out_of_range`), leader appends, ISR shrinks, LeaderAndIsr (`make_leader` /
//! `make_follower`) and AlterIsr answers. Only the controller and the network are modelled
//! (`model.rs`): leader election from the ISR (unclean election off), the ISR and partition epoch in
//! "ZooKeeper", LeaderAndIsr deliveries that can lag (a broker cut off from the controller keeps
//! acting on its old state: a zombie leader), AlterIsr validation, crashes (kill -9, optionally with a
//! torn batch at the end of the log), restarts with an older checkpointed high watermark, clean
//! (controlled) shutdowns and preferred elections.
//!
//! A seeded generator (proptest) draws thousands of schedules per run. After every step:
//! - what any leader ever exposed as committed (below its high watermark) is never truncated or
//!   changed on any replica, and every member of the controller's ISR holds all of it;
//! - a replica's high watermark never moves back while it runs;
//! - every batch's epoch is the one the replica's epoch cache gives for its offset.
//!
//! At the end every fault heals, and within a bounded number of fetch rounds every replica must
//! converge to the leader's log and epoch cache and be back in the ISR; a follower that makes no
//! progress fetch after fetch (the rolling-restart loop) fails the schedule.
//!
//! `PROPTEST_CASES` (default 3000) and `PROPTEST_RNG_SEED` (default fixed, so CI is reproducible)
//! choose the schedules; e.g. `PROPTEST_CASES=20000 PROPTEST_RNG_SEED=$RANDOM cargo test --release
//! -p broker --test replication_model`.

mod model;

use model::{Model, Step};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

fn step() -> impl Strategy<Value = Step> {
    let r = 0usize..3;
    prop_oneof![
        6 => (r.clone(), 1u8..4).prop_map(|(to, batches)| Step::Produce { to, batches }),
        10 => (r.clone(), any::<bool>()).prop_map(|(follower, small)| Step::Fetch { follower, small }),
        5 => r.clone().prop_map(|to| Step::Deliver { to }),
        3 => Just(Step::ProcessAlterIsr),
        2 => (0i64..15_000).prop_map(|ms| Step::Tick { ms }),
        2 => r.clone().prop_map(|at| Step::Shrink { at }),
        1 => (r.clone(), any::<bool>(), 0u8..3).prop_map(|(r, torn_tail, hw_lag)| Step::Crash { r, torn_tail, hw_lag }),
        2 => r.clone().prop_map(|r| Step::Restart { r }),
        1 => r.clone().prop_map(|r| Step::Isolate { r }),
        2 => r.clone().prop_map(|r| Step::Heal { r }),
        1 => r.clone().prop_map(|r| Step::ControlledShutdown { r }),
        1 => Just(Step::PreferredElection),
    ]
}

fn config() -> Config {
    let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    Config {
        cases: env("PROPTEST_CASES", 3000) as u32,
        rng_seed: RngSeed::Fixed(env("PROPTEST_RNG_SEED", 0x6b61_666b_6138)),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Any schedule of faults: safety after every step, convergence after healing. Prints what the
/// schedules covered, so a change that makes them trivial shows.
#[test]
fn replicas_converge_and_never_lose_committed_data() {
    let mut runner = TestRunner::new(config());
    let stats = std::cell::RefCell::new(Stats::default());
    let result = runner.run(&prop::collection::vec(step(), 1..80), |steps| {
        let mut m = Model::new();
        for (i, s) in steps.iter().enumerate() {
            m.apply(s);
            if let Err(e) = m.check_safety() {
                return Err(TestCaseError::fail(format!("after step {i} ({s:?}): {e}\n{}", m.dump())));
            }
        }
        if let Err(e) = m.heal_and_converge() {
            return Err(TestCaseError::fail(format!("after healing: {e}\n{}", m.dump())));
        }
        stats.borrow_mut().add(&m, steps.len());
        Ok(())
    });
    let stats = stats.into_inner();
    eprintln!("{stats}");
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(stats.truncations > 0 && stats.leader_changes > 0 && stats.committed > 0, "the schedules exercised nothing: {stats}");
}

/// What the schedules of one run covered.
#[derive(Default)]
struct Stats {
    schedules: u64,
    steps: u64,
    leader_changes: u64,
    truncations: u64,
    committed: u64,
}

impl Stats {
    fn add(&mut self, m: &Model, steps: usize) {
        self.schedules += 1;
        self.steps += steps as u64;
        self.leader_changes += m.ctl.epoch as u64;
        self.truncations += m.truncations;
        self.committed += m.committed_end as u64;
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} schedules, {} steps, {} leader epochs, {} follower truncations, {} committed records",
            self.schedules, self.steps, self.leader_changes, self.truncations, self.committed
        )
    }
}

/// The rolling-restart loop of issue 8 as one fixed schedule: broker 0 leads epoch 1 and writes,
/// then leads epoch 2 briefly (LeaderAndIsr delivered, nothing appended) while cut off, broker 1
/// takes over at epoch 3 from the same offset. Broker 0 must settle in one diverging answer.
#[test]
fn former_leader_with_an_empty_epoch_rejoins() {
    let mut m = Model::new();
    let steps = [
        Step::Produce { to: 0, batches: 3 },
        Step::Fetch { follower: 1, small: false },
        Step::Fetch { follower: 2, small: false },
        Step::Fetch { follower: 1, small: false },
        Step::Fetch { follower: 2, small: false },
        Step::PreferredElection, // no-op: 0 already leads
        Step::ControlledShutdown { r: 0 },
        Step::Restart { r: 0 },
        Step::Deliver { to: 0 },
        Step::Fetch { follower: 0, small: false },
        Step::ProcessAlterIsr,
        Step::PreferredElection, // 0 leads again at a new epoch, appends nothing
        Step::Deliver { to: 0 },
        Step::Isolate { r: 0 }, // 1 takes over from the same offset
        Step::Deliver { to: 1 },
        Step::Deliver { to: 2 },
        Step::Heal { r: 0 },
        Step::Deliver { to: 0 },
    ];
    for s in &steps {
        m.apply(s);
        m.check_safety().unwrap_or_else(|e| panic!("after {s:?}: {e}\n{}", m.dump()));
    }
    m.heal_and_converge().unwrap_or_else(|e| panic!("{e}\n{}", m.dump()));
}
