//! Delayed operations (Kafka's purgatory) as async waits.
//!
//! Kafka parks delayed produce/fetch requests in a timing wheel and re-checks them when the watched
//! partitions change. Here a delayed operation is the connection's own task awaiting the watch
//! channels of the partitions it concerns ([`Partition::subscribe`]): appends and high-watermark moves
//! wake exactly the waiters of that partition, the deadline bounds the wait, and since one connection
//! handles one request at a time (Kafka's ordering guarantee) nothing else needs scheduling.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::partition::{Partition, Progress};

/// Wait until `done(partition, progress)` holds or `deadline` passes. Returns whether it held.
pub async fn wait_until<F>(partition: &Arc<Partition>, deadline: Instant, done: F) -> bool
where
    F: Fn(&Partition, Progress) -> bool,
{
    let mut rx = partition.subscribe();
    loop {
        let progress = *rx.borrow_and_update();
        if done(partition, progress) {
            return true;
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => continue,
            // Sender gone (partition dropped) or deadline passed.
            Ok(Err(_)) => return done(partition, *rx.borrow()),
            Err(_) => return false,
        }
    }
}

/// Wait until any of the watched partitions changes (append or high-watermark move) or the deadline
/// passes; returns false on timeout. The caller subscribes *before* reading the partitions, so a
/// change between its read and this wait is never missed. Used by the delayed fetch, which
/// re-evaluates everything on wakeup.
pub async fn wait_any_change(receivers: &mut [watch::Receiver<Progress>], deadline: Instant) -> bool {
    if receivers.is_empty() {
        tokio::time::sleep_until(deadline).await;
        return false;
    }
    let changed = futures::future::select_all(receivers.iter_mut().map(|rx| Box::pin(rx.changed())));
    tokio::time::timeout_at(deadline, changed).await.is_ok()
}
