//! The heartbeat of a group member, run as a background task (Kafka's heartbeat thread):
//! every `heartbeat.interval.ms` a Heartbeat goes to the coordinator on its own connection,
//! and the first answer that needs the member's attention (a rebalance, fencing, a lost
//! coordinator) is left in a flag the polling side reads. Also the error-code reactions
//! shared by every group request.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use wire::kafka_protocol::messages::{ApiKey, GroupId, HeartbeatRequest};
use wire::kafka_protocol::protocol::StrBytes;
use wire::{KafkaConnection, ResponseError};

/// What the heartbeat task found: nothing to do.
pub const HB_OK: u8 = 0;
/// A rebalance started: rejoin.
pub const HB_REJOIN: u8 = 1;
/// The member was fenced: reset it and rejoin.
pub const HB_RESET: u8 = 2;
/// The coordinator is gone: find it again and rejoin.
pub const HB_COORDINATOR_LOST: u8 = 3;

/// How the member must react to an error code from a group API (pure, unit-tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// Forget the coordinator and find it again.
    FindCoordinator,
    /// Wait and try the same step again.
    Retry,
    /// Rejoin with the same member id.
    Rejoin,
    /// Forget member id and generation, then rejoin.
    ResetAndRejoin,
    /// Give up: the error is fatal for this consumer.
    Fatal,
}

/// Kafka's handling of group error codes (`AbstractCoordinator`'s response handlers).
pub fn reaction(e: ResponseError) -> Reaction {
    match e {
        ResponseError::CoordinatorNotAvailable | ResponseError::NotCoordinator => {
            Reaction::FindCoordinator
        }
        ResponseError::CoordinatorLoadInProgress => Reaction::Retry,
        ResponseError::RebalanceInProgress => Reaction::Rejoin,
        ResponseError::UnknownMemberId
        | ResponseError::IllegalGeneration
        | ResponseError::FencedInstanceId => Reaction::ResetAndRejoin,
        _ => Reaction::Fatal,
    }
}

/// The flag value for a Heartbeat answer.
pub fn heartbeat_signal(e: Option<ResponseError>) -> u8 {
    match e.map(reaction) {
        None | Some(Reaction::Retry) | Some(Reaction::Fatal) => HB_OK,
        Some(Reaction::Rejoin) => HB_REJOIN,
        Some(Reaction::ResetAndRejoin) => HB_RESET,
        Some(Reaction::FindCoordinator) => HB_COORDINATOR_LOST,
    }
}

/// Who and where to heartbeat.
#[derive(Debug, Clone)]
pub struct HeartbeatTarget {
    /// Coordinator `host:port`.
    pub addr: String,
    /// `client.id` of the connection.
    pub client_id: String,
    /// Group id.
    pub group_id: String,
    /// Member id.
    pub member_id: String,
    /// Generation the member is in.
    pub generation: i32,
    /// `heartbeat.interval.ms`.
    pub interval: Duration,
    /// `session.timeout.ms`: without any answer for this long the coordinator counts as lost.
    pub session_timeout: Duration,
}

async fn connect(addr: &str, client_id: &str) -> Option<KafkaConnection> {
    let mut c = KafkaConnection::connect(addr, client_id, Duration::from_secs(10))
        .await
        .ok()?;
    c.negotiate().await.ok()?;
    Some(c)
}

/// Start heartbeating; the task ends after setting the flag to something other than `HB_OK`.
pub fn spawn_heartbeat(t: HeartbeatTarget) -> (JoinHandle<()>, Arc<AtomicU8>) {
    let flag = Arc::new(AtomicU8::new(HB_OK));
    let task_flag = flag.clone();
    let handle = tokio::spawn(async move {
        let mut conn: Option<KafkaConnection> = None;
        let mut last_ok = Instant::now();
        loop {
            tokio::time::sleep(t.interval).await;
            if conn.as_ref().map(|c| c.is_broken()).unwrap_or(true) {
                conn = connect(&t.addr, &t.client_id).await;
            }
            let answer = match conn.as_mut() {
                Some(c) => match c.version_in(ApiKey::Heartbeat as i16, 0, 4) {
                    Some(v) => {
                        let req = HeartbeatRequest::default()
                            .with_group_id(GroupId(StrBytes::from_string(t.group_id.clone())))
                            .with_generation_id(t.generation)
                            .with_member_id(StrBytes::from_string(t.member_id.clone()));
                        c.send(&req, v)
                            .await
                            .ok()
                            .map(|r| ResponseError::try_from_code(r.error_code))
                    }
                    None => None,
                },
                None => None,
            };
            let signal = match answer {
                Some(e) => {
                    last_ok = Instant::now();
                    heartbeat_signal(e)
                }
                // Unreachable coordinator for a whole session: it is gone for us.
                None if last_ok.elapsed() >= t.session_timeout => HB_COORDINATOR_LOST,
                None => HB_OK,
            };
            if signal != HB_OK {
                task_flag.store(signal, Ordering::Release);
                return;
            }
        }
    });
    (handle, flag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reactions_follow_kafka() {
        assert_eq!(
            reaction(ResponseError::NotCoordinator),
            Reaction::FindCoordinator
        );
        assert_eq!(
            reaction(ResponseError::CoordinatorNotAvailable),
            Reaction::FindCoordinator
        );
        assert_eq!(
            reaction(ResponseError::CoordinatorLoadInProgress),
            Reaction::Retry
        );
        assert_eq!(
            reaction(ResponseError::RebalanceInProgress),
            Reaction::Rejoin
        );
        assert_eq!(
            reaction(ResponseError::UnknownMemberId),
            Reaction::ResetAndRejoin
        );
        assert_eq!(
            reaction(ResponseError::IllegalGeneration),
            Reaction::ResetAndRejoin
        );
        assert_eq!(
            reaction(ResponseError::InconsistentGroupProtocol),
            Reaction::Fatal
        );
        assert_eq!(heartbeat_signal(None), HB_OK);
        assert_eq!(
            heartbeat_signal(Some(ResponseError::RebalanceInProgress)),
            HB_REJOIN
        );
        assert_eq!(
            heartbeat_signal(Some(ResponseError::IllegalGeneration)),
            HB_RESET
        );
        assert_eq!(
            heartbeat_signal(Some(ResponseError::NotCoordinator)),
            HB_COORDINATOR_LOST
        );
    }
}
