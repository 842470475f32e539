//! Unit tests of `Partition`'s ISR and high-watermark rules.
use super::*;
use storage::batch_builder::BatchBuilder;
use storage::{LogConfig, LogLoadParams};

const LAG: i64 = 30_000;
const T0: i64 = 1_700_000_000_000;

/// Records every proposal; refuses a second one for the same partition while `busy`.
#[derive(Default)]
struct Recorder {
    proposals: Mutex<Vec<IsrProposal>>,
    refuse: std::sync::atomic::AtomicBool,
}

impl AlterIsrSink for Recorder {
    fn submit(&self, _partition: Arc<Partition>, proposal: IsrProposal) -> bool {
        if self.refuse.load(std::sync::atomic::Ordering::SeqCst) {
            return false;
        }
        self.proposals.lock().unwrap().push(proposal);
        true
    }
}

impl Recorder {
    fn last(&self) -> Option<IsrProposal> {
        self.proposals.lock().unwrap().last().cloned()
    }
    fn count(&self) -> usize {
        self.proposals.lock().unwrap().len()
    }
}

fn state(leader: i32, epoch: i32, isr: &[i32], replicas: &[i32], partition_epoch: i32) -> LeadershipState {
    LeadershipState {
        leader,
        leader_epoch: epoch,
        isr: isr.to_vec(),
        replicas: replicas.to_vec(),
        controller_epoch: 1,
        partition_epoch,
    }
}

fn partition(dir: &tempfile::TempDir) -> Arc<Partition> {
    let tp = TopicPartition::new("t", 0);
    let log = Log::open(dir.path().join("t-0"), tp.clone(), LogConfig::default(), LogLoadParams::new(true)).unwrap();
    Arc::new(Partition::new(tp, 1, Arc::new(log), None, state(-1, -1, &[], &[1, 2, 3], -1), LAG))
}

fn append(p: &Partition, n: usize) {
    let epoch = p.leader_epoch();
    p.log().append_as_leader(&BatchBuilder::new(T0).records(n).build(), epoch, T0).unwrap();
    p.after_leader_append(T0);
}

fn follower(leo: i64, caught_up: i64) -> FollowerState {
    FollowerState { log_end_offset: leo, log_start_offset: 0, last_caught_up_ms: caught_up, last_fetch_leader_leo: leo, last_fetch_ms: caught_up, ..FollowerState::default() }
}

#[test]
fn hw_candidate_counts_maximal_isr_and_recently_caught_up() {
    let mut f = HashMap::new();
    f.insert(2, follower(5, T0));
    f.insert(3, follower(3, T0 - 1000));
    // 3 is outside the ISR but caught up within the lag: it holds the HW back.
    assert_eq!(high_watermark_candidate(10, &f, &[1, 2], T0, LAG), 3);
    // Long out of touch: ignored.
    f.insert(3, follower(3, 0));
    assert_eq!(high_watermark_candidate(10, &f, &[1, 2], T0, LAG), 5);
    // In the maximal ISR (pending expansion): counted however stale.
    assert_eq!(high_watermark_candidate(10, &f, &maximal_isr(&[1, 2], Some(&[1, 2, 3])), T0, LAG), 3);
    // Unknown LEO of an ISR member blocks any advance.
    f.insert(2, follower(-1, T0));
    assert_eq!(high_watermark_candidate(10, &f, &[1, 2], T0, LAG), -1);
    assert_eq!(high_watermark_candidate(10, &HashMap::new(), &[1], T0, LAG), 10);
}

#[test]
fn out_of_sync_needs_both_lag_and_missing_data() {
    let mut f = HashMap::new();
    f.insert(2, follower(10, 0)); // at the leader's LEO: in sync however old
    f.insert(3, follower(7, T0 - LAG - 1)); // behind and silent too long
    f.insert(4, follower(7, T0 - LAG)); // behind but exactly at the limit
    assert_eq!(out_of_sync_replicas(1, &[1, 2, 3, 4], &f, 10, T0, LAG), vec![3]);
    assert_eq!(out_of_sync_replicas(1, &[1, 5], &f, 10, T0, LAG), vec![5]);
}

#[test]
fn expansion_rules() {
    assert!(can_expand_isr(3, &[1, 2], false, 10, 10, 4));
    assert!(!can_expand_isr(3, &[1, 2], true, 10, 10, 4), "change in flight");
    assert!(!can_expand_isr(2, &[1, 2], false, 10, 10, 4), "already in");
    assert!(!can_expand_isr(3, &[1, 2], false, 9, 10, 4), "below HW");
    assert!(!can_expand_isr(3, &[1, 2], false, 3, 3, 4), "before the leader epoch start");
    assert!(!can_expand_isr(3, &[1, 2], false, 3, 3, -1), "not leader");
}

#[test]
fn leader_hw_follows_isr_fetches() {
    let dir = tempfile::tempdir().unwrap();
    let p = partition(&dir);
    let sink = Recorder::default();
    p.make_leader(state(1, 5, &[1, 2], &[1, 2, 3], 10), T0).unwrap();
    assert_eq!(p.log().leader_epoch_cache().entries(), vec![(5, 0)]);
    append(&p, 10);
    assert_eq!(p.log().high_watermark(), 0, "ISR follower 2 has not fetched");
    p.update_follower_fetch_state(2, 4, 0, T0 + 1, &sink);
    assert_eq!(p.log().high_watermark(), 4);
    p.update_follower_fetch_state(2, 10, 0, T0 + 2, &sink);
    assert_eq!(p.log().high_watermark(), 10);
    // Non-replicas are ignored.
    p.update_follower_fetch_state(9, 10, 0, T0 + 2, &sink);
    assert!(p.follower_state(9).is_none());
    assert_eq!(sink.count(), 0);
}

#[test]
fn expand_then_commit_and_ignore_stale_answers() {
    let dir = tempfile::tempdir().unwrap();
    let p = partition(&dir);
    let sink = Recorder::default();
    append(&p, 3); // not leader yet: nothing happens to the HW
    p.make_leader(state(1, 5, &[1, 2], &[1, 2, 3], 10), T0).unwrap();
    assert_eq!(p.leader_epoch_start_offset(), 3);
    append(&p, 7);
    p.update_follower_fetch_state(2, 10, 0, T0 + 1, &sink);
    assert_eq!(p.log().high_watermark(), 10);
    // Follower 3 below the leader epoch start offset: no expansion.
    p.update_follower_fetch_state(3, 2, 0, T0 + 1, &sink);
    assert_eq!(sink.count(), 0);
    p.update_follower_fetch_state(3, 10, 0, T0 + 2, &sink);
    let proposal = sink.last().expect("expansion proposed");
    assert_eq!(proposal, IsrProposal { tp: TopicPartition::new("t", 0), leader_epoch: 5, new_isr: vec![1, 2, 3], partition_epoch: 10 });
    assert_eq!(p.pending_isr(), Some(vec![1, 2, 3]));
    assert_eq!(p.maximal_isr(), vec![1, 2, 3]);
    assert_eq!(p.leadership().isr, vec![1, 2], "committed ISR unchanged while pending");
    // No second proposal while one is pending.
    p.update_follower_fetch_state(3, 10, 0, T0 + 3, &sink);
    assert_eq!(sink.count(), 1);
    // An answer for another leader epoch is ignored; so is an older partition epoch.
    p.handle_alter_isr_result(&proposal, AlterIsrResult::Committed { leader_epoch: 4, isr: vec![1, 2, 3], partition_epoch: 11 }, T0, &sink);
    assert_eq!(p.leadership().isr, vec![1, 2]);
    p.handle_alter_isr_result(&proposal, AlterIsrResult::Committed { leader_epoch: 5, isr: vec![1, 2, 3], partition_epoch: 9 }, T0, &sink);
    assert_eq!(p.leadership().isr, vec![1, 2]);
    assert!(p.pending_isr().is_some());
    p.handle_alter_isr_result(&proposal, AlterIsrResult::Committed { leader_epoch: 5, isr: vec![1, 2, 3], partition_epoch: 11 }, T0, &sink);
    assert_eq!(p.leadership().isr, vec![1, 2, 3]);
    assert_eq!(p.leadership().partition_epoch, 11);
    assert_eq!(p.pending_isr(), None);
    // A late duplicate answer does nothing.
    p.handle_alter_isr_result(&proposal, AlterIsrResult::Committed { leader_epoch: 5, isr: vec![1, 2], partition_epoch: 12 }, T0, &sink);
    assert_eq!(p.leadership().isr, vec![1, 2, 3]);
}

#[test]
fn shrink_errors_and_leader_and_isr_reset() {
    let dir = tempfile::tempdir().unwrap();
    let p = partition(&dir);
    let sink = Recorder::default();
    p.make_leader(state(1, 5, &[1, 2, 3], &[1, 2, 3], 10), T0).unwrap();
    append(&p, 10);
    p.update_follower_fetch_state(2, 10, 0, T0 + 1, &sink);
    p.update_follower_fetch_state(3, 4, 0, T0 + 1, &sink);
    assert_eq!(p.log().high_watermark(), 4);
    // Within the lag nobody is out of sync.
    assert!(!p.maybe_shrink_isr(T0 + LAG, &sink));
    // 2 keeps fetching at the LEO; 3 stays stuck.
    p.update_follower_fetch_state(2, 10, 0, T0 + LAG + 5, &sink);
    assert!(p.maybe_shrink_isr(T0 + LAG + 10, &sink));
    let proposal = sink.last().unwrap();
    assert_eq!(proposal.new_isr, vec![1, 2]);
    // While the shrink is pending 3 still counts (maximal ISR), so the HW stays.
    assert_eq!(p.maximal_isr(), vec![1, 2, 3]);
    assert!(!p.maybe_increment_high_watermark(T0 + LAG + 10));
    // A refusal that waits for LeaderAndIsr keeps it pending, an unexpected error retries.
    p.handle_alter_isr_result(&proposal, AlterIsrResult::Failed(ResponseError::InvalidUpdateVersion), T0, &sink);
    assert_eq!(sink.count(), 1);
    assert!(p.pending_isr().is_some());
    p.handle_alter_isr_result(&proposal, AlterIsrResult::Failed(ResponseError::NotController), T0, &sink);
    assert_eq!(sink.count(), 2);
    assert_eq!(sink.last().unwrap(), proposal);
    // Commit: the HW advances without 3.
    p.handle_alter_isr_result(&proposal, AlterIsrResult::Committed { leader_epoch: 5, isr: vec![1, 2], partition_epoch: 11 }, T0 + LAG + 20, &sink);
    assert_eq!(p.leadership().isr, vec![1, 2]);
    assert_eq!(p.log().high_watermark(), 10);
    // A refused submission reverts the pending state.
    p.update_follower_fetch_state(3, 10, 0, T0 + LAG + 30, &sink);
    assert_eq!(p.pending_isr(), Some(vec![1, 2, 3]));
    // LeaderAndIsr (same leader, new epoch) clears it and keeps follower LEOs.
    p.make_leader(state(1, 6, &[1, 2], &[1, 2, 3], 12), T0 + LAG + 40).unwrap();
    assert_eq!(p.pending_isr(), None);
    assert_eq!(p.follower_state(3).unwrap().log_end_offset, 10);
    sink.refuse.store(true, std::sync::atomic::Ordering::SeqCst);
    p.update_follower_fetch_state(3, 10, 0, T0 + LAG + 50, &sink);
    assert_eq!(p.pending_isr(), None, "refused submission leaves no pending state");
    // Becoming follower drops leader state.
    p.make_follower(state(2, 7, &[1, 2], &[1, 2, 3], 13));
    assert!(!p.is_leader());
    assert_eq!(p.leader_epoch_start_offset(), -1);
    assert!(p.follower_state(2).is_none());
}

#[test]
fn refused_join_backs_off_instead_of_proposing_every_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let p = partition(&dir);
    let sink = Recorder::default();
    p.make_leader(state(1, 5, &[1, 2], &[1, 2, 3], 10), T0).unwrap();
    append(&p, 10);
    p.update_follower_fetch_state(2, 10, 0, T0 + 1, &sink);
    p.update_follower_fetch_state(3, 10, 0, T0 + 1, &sink);
    assert_eq!(sink.count(), 1);
    let proposal = sink.last().unwrap();
    assert_eq!(proposal.new_isr, vec![1, 2, 3]);
    // The controller says 3 is shutting down: the proposal is dropped, not retried.
    p.handle_alter_isr_result(&proposal, AlterIsrResult::Failed(ResponseError::OperationNotAttempted), T0 + 2, &sink);
    assert_eq!(p.pending_isr(), None);
    assert_eq!(sink.count(), 1);
    // Fetches within the backoff propose nothing; the first one after it proposes again.
    for t in 3..ISR_JOIN_REFUSED_BACKOFF_MS {
        p.update_follower_fetch_state(3, 10, 0, T0 + t, &sink);
    }
    assert_eq!(sink.count(), 1);
    p.update_follower_fetch_state(3, 10, 0, T0 + 2 + ISR_JOIN_REFUSED_BACKOFF_MS, &sink);
    assert_eq!(sink.count(), 2);
    let again = sink.last().unwrap();
    p.handle_alter_isr_result(&again, AlterIsrResult::Committed { leader_epoch: 5, isr: vec![1, 2, 3], partition_epoch: 11 }, T0 + 3 + ISR_JOIN_REFUSED_BACKOFF_MS, &sink);
    assert_eq!(p.leadership().isr, vec![1, 2, 3]);
    assert_eq!(p.follower_state(3).unwrap().isr_join_refusals, 0);
}
