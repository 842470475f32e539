//! `AlterIsrManager` (spec §2.8, AlterIsr mode — the default in Kafka 2.8): leaders queue ISR
//! proposals here and one background task sends them to the active controller as AlterIsr
//! (`AlterPartition` v0, key 56) requests carrying this broker's id and epoch.
//!
//! Why AlterIsr rather than the legacy ZooKeeper write + `/isr_change_notification`: it is what 2.8
//! uses at its default inter-broker protocol, the controller stays the only writer of partition
//! state znodes (one fencing point), and the answer carries the new partition epoch at once.
//!
//! Rules as Kafka's `DefaultAlterIsrManager`: at most one request in flight; every queued partition
//! goes in the next request; a partition stays queued until its answer arrives (so a lost request
//! or a partition missing from the answer is simply sent again); top-level errors and connection
//! failures back off and retry. The controller is the one named by the last UpdateMetadata, reached
//! on its inter-broker listener.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use storage::TopicPartition;
use tokio::sync::Notify;
use wire::kafka_protocol::messages::alter_partition_request::{PartitionData, TopicData};
use wire::kafka_protocol::messages::{AlterPartitionRequest, AlterPartitionResponse, BrokerId, TopicName};
use wire::kafka_protocol::protocol::StrBytes;
use wire::{KafkaConnection, ResponseError};

use crate::metadata_cache::MetadataCache;
use crate::partition::{AlterIsrResult, AlterIsrSink, IsrProposal, Partition};

/// AlterPartition version that is Kafka 2.8's AlterIsr v0.
pub const ALTER_ISR_VERSION: i16 = 0;

/// Pause after a failed round before trying again.
const RETRY_BACKOFF: Duration = Duration::from_millis(200);

type Queued = (Arc<Partition>, IsrProposal);

/// Queues ISR proposals and sends them to the controller.
pub struct AlterIsrManager {
    broker_id: i32,
    broker_epoch: Arc<AtomicI64>,
    metadata_cache: Arc<MetadataCache>,
    listener: String,
    request_timeout: Duration,
    unsent: Mutex<HashMap<TopicPartition, Queued>>,
    wake: Arc<Notify>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl AlterIsrSink for AlterIsrManager {
    fn submit(&self, partition: Arc<Partition>, proposal: IsrProposal) -> bool {
        let mut unsent = self.lock();
        if let Some((_, existing)) = unsent.get(&proposal.tp) {
            // A proposal from an older leader or partition epoch is obsolete; anything else is
            // still in flight and must be answered first.
            let newer = (proposal.leader_epoch, proposal.partition_epoch) > (existing.leader_epoch, existing.partition_epoch);
            if !newer {
                return false;
            }
        }
        unsent.insert(proposal.tp.clone(), (partition, proposal));
        drop(unsent);
        self.wake.notify_one();
        true
    }
}

impl AlterIsrManager {
    /// A manager for this broker; `listener` is the inter-broker listener name.
    pub fn new(
        broker_id: i32,
        broker_epoch: Arc<AtomicI64>,
        metadata_cache: Arc<MetadataCache>,
        listener: String,
        request_timeout: Duration,
    ) -> Arc<Self> {
        Arc::new(AlterIsrManager {
            broker_id,
            broker_epoch,
            metadata_cache,
            listener,
            request_timeout,
            unsent: Mutex::new(HashMap::new()),
            wake: Arc::new(Notify::new()),
            task: Mutex::new(None),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TopicPartition, Queued>> {
        self.unsent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of queued (unsent or in-flight) proposals.
    pub fn queued(&self) -> usize {
        self.lock().len()
    }

    /// Start the sender task (needs a tokio runtime).
    pub fn start(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        let handle = tokio::spawn(async move {
            let mut conn: Option<(i32, String, KafkaConnection)> = None;
            let mut failures = 0u32;
            loop {
                let Some(m) = me.upgrade() else { return };
                let batch: Vec<Queued> = m.lock().values().cloned().collect();
                if batch.is_empty() {
                    let wake = m.wake.clone();
                    let notified = wake.notified();
                    drop(m);
                    notified.await;
                    continue;
                }
                match m.send_once(&mut conn, &batch).await {
                    Ok(had_errors) => {
                        failures = 0;
                        if had_errors {
                            drop(m);
                            tokio::time::sleep(RETRY_BACKOFF).await;
                        }
                    }
                    Err(e) => {
                        failures += 1;
                        if failures == 1 || failures.is_multiple_of(50) {
                            tracing::warn!(
                                "AlterIsr for {} partition(s) not delivered to the controller ({failures} attempt(s)): {e}",
                                batch.len()
                            );
                        } else {
                            tracing::debug!("AlterIsr not delivered: {e}");
                        }
                        conn = None;
                        drop(m);
                        tokio::time::sleep(RETRY_BACKOFF).await;
                    }
                }
            }
        });
        *self.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
    }

    /// Stop the sender task.
    pub fn shutdown(&self) {
        if let Some(h) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            h.abort();
        }
    }

    /// One round trip; Ok(true) if some partitions came back with errors.
    async fn send_once(
        self: &Arc<Self>,
        conn: &mut Option<(i32, String, KafkaConnection)>,
        batch: &[Queued],
    ) -> Result<bool, String> {
        let controller = self.metadata_cache.controller_id().ok_or("no controller known yet")?;
        let (host, port) = self
            .metadata_cache
            .alive_endpoint(controller, &self.listener)
            .ok_or_else(|| format!("controller {controller} has no live endpoint for listener {}", self.listener))?;
        let addr = format!("{host}:{port}");
        if conn.as_ref().is_none_or(|(id, a, c)| *id != controller || *a != addr || c.is_broken()) {
            let mut c = KafkaConnection::connect(&addr, &format!("broker-{}-alter-isr", self.broker_id), self.request_timeout)
                .await
                .map_err(|e| format!("connecting to controller {controller} at {addr}: {e}"))?;
            c.set_request_timeout(self.request_timeout);
            *conn = Some((controller, addr.clone(), c));
        }
        let Some((_, _, c)) = conn.as_mut() else { return Err("no connection".into()) };
        let proposals: Vec<IsrProposal> = batch.iter().map(|(_, p)| p.clone()).collect();
        let request = build_request(self.broker_id, self.broker_epoch.load(Ordering::SeqCst), &proposals);
        let response = c.send(&request, ALTER_ISR_VERSION).await.map_err(|e| {
            *conn = None;
            format!("AlterIsr to controller {controller}: {e}")
        })?;
        if response.error_code != 0 {
            let e = ResponseError::try_from_code(response.error_code).unwrap_or(ResponseError::UnknownServerError);
            if e == ResponseError::NotController {
                *conn = None;
            }
            return Err(format!("controller {controller} answered AlterIsr with {e:?}"));
        }
        let results = parse_response(&response);
        let now = crate::replica_manager::now_ms();
        let mut had_errors = false;
        for (partition, proposal) in batch {
            let Some(result) = results.get(&proposal.tp) else {
                // Not answered: stays queued and goes out again after the backoff.
                had_errors = true;
                continue;
            };
            {
                let mut unsent = self.lock();
                if unsent.get(&proposal.tp).is_some_and(|(_, q)| q == proposal) {
                    unsent.remove(&proposal.tp);
                }
            }
            if matches!(result, AlterIsrResult::Failed(_)) {
                had_errors = true;
            }
            partition.handle_alter_isr_result(proposal, result.clone(), now, self.as_ref());
        }
        Ok(had_errors)
    }
}

/// The AlterIsr request for these proposals, grouped by topic.
pub fn build_request(broker_id: i32, broker_epoch: i64, proposals: &[IsrProposal]) -> AlterPartitionRequest {
    let mut topics: Vec<TopicData> = Vec::new();
    for p in proposals {
        let data = PartitionData::default()
            .with_partition_index(p.tp.partition)
            .with_leader_epoch(p.leader_epoch)
            .with_new_isr(p.new_isr.iter().map(|&b| BrokerId(b)).collect())
            .with_partition_epoch(p.partition_epoch);
        match topics.iter_mut().find(|t| t.topic_name.0.as_str() == p.tp.topic) {
            Some(t) => t.partitions.push(data),
            None => topics.push(
                TopicData::default()
                    .with_topic_name(TopicName(StrBytes::from_string(p.tp.topic.clone())))
                    .with_partitions(vec![data]),
            ),
        }
    }
    AlterPartitionRequest::default().with_broker_id(BrokerId(broker_id)).with_broker_epoch(broker_epoch).with_topics(topics)
}

/// Per-partition outcomes of an AlterIsr response (top-level error handled by the caller).
pub fn parse_response(resp: &AlterPartitionResponse) -> HashMap<TopicPartition, AlterIsrResult> {
    let mut out = HashMap::new();
    for t in &resp.topics {
        for p in &t.partitions {
            let tp = TopicPartition { topic: t.topic_name.0.to_string(), partition: p.partition_index };
            let result = if p.error_code != 0 {
                AlterIsrResult::Failed(ResponseError::try_from_code(p.error_code).unwrap_or(ResponseError::UnknownServerError))
            } else {
                AlterIsrResult::Committed {
                    leader_epoch: p.leader_epoch,
                    isr: p.isr.iter().map(|b| b.0).collect(),
                    partition_epoch: p.partition_epoch,
                }
            };
            out.insert(tp, result);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use wire::kafka_protocol::messages::alter_partition_response;
    use wire::kafka_protocol::protocol::{Decodable, Encodable};

    fn tp(t: &str, p: i32) -> TopicPartition {
        TopicPartition { topic: t.into(), partition: p }
    }

    #[test]
    fn request_groups_by_topic_and_round_trips_at_v0() {
        let proposals = vec![
            IsrProposal { tp: tp("a", 0), leader_epoch: 3, new_isr: vec![1, 2], partition_epoch: 7 },
            IsrProposal { tp: tp("b", 1), leader_epoch: 1, new_isr: vec![1], partition_epoch: 2 },
            IsrProposal { tp: tp("a", 2), leader_epoch: 4, new_isr: vec![1, 3, 2], partition_epoch: 9 },
        ];
        let req = build_request(1, 42, &proposals);
        assert_eq!(req.broker_id.0, 1);
        assert_eq!(req.broker_epoch, 42);
        assert_eq!(req.topics.len(), 2);
        assert_eq!(req.topics[0].partitions.len(), 2);
        let p = &req.topics[0].partitions[1];
        assert_eq!((p.partition_index, p.leader_epoch, p.partition_epoch), (2, 4, 9));
        assert_eq!(p.new_isr.iter().map(|b| b.0).collect::<Vec<_>>(), vec![1, 3, 2]);
        let mut buf = BytesMut::new();
        req.encode(&mut buf, ALTER_ISR_VERSION).unwrap();
        let decoded = AlterPartitionRequest::decode(&mut buf.freeze(), ALTER_ISR_VERSION).unwrap();
        assert_eq!(decoded, req);
    }

    #[test]
    fn one_queued_proposal_per_partition_newer_epochs_replace() {
        let dir = tempfile::tempdir().unwrap();
        let t = TopicPartition::new("a", 0);
        let log = storage::Log::open(dir.path().join("a-0"), t.clone(), storage::LogConfig::default(), storage::LogLoadParams::new(true))
            .unwrap();
        let state = crate::partition::LeadershipState {
            leader: 1,
            leader_epoch: 3,
            isr: vec![1],
            replicas: vec![1, 2],
            controller_epoch: 1,
            partition_epoch: 7,
        };
        let p = Arc::new(Partition::new(t.clone(), 1, Arc::new(log), None, state, 30_000));
        let m = AlterIsrManager::new(1, Arc::new(AtomicI64::new(9)), Arc::new(MetadataCache::new()), "PLAINTEXT".into(), Duration::from_secs(1));
        let prop = |epoch, pe| IsrProposal { tp: t.clone(), leader_epoch: epoch, new_isr: vec![1, 2], partition_epoch: pe };
        assert!(m.submit(p.clone(), prop(3, 7)));
        assert!(!m.submit(p.clone(), prop(3, 7)), "same proposal still queued");
        assert!(!m.submit(p.clone(), prop(2, 9)), "older leader epoch");
        assert!(m.submit(p.clone(), prop(3, 8)), "newer partition epoch replaces it");
        assert!(m.submit(p.clone(), prop(4, 0)), "newer leader epoch replaces it");
        assert_eq!(m.queued(), 1);
        assert_eq!(m.lock()[&t].1, prop(4, 0));
    }

    #[test]
    fn response_parsing() {
        let resp = AlterPartitionResponse::default().with_topics(vec![alter_partition_response::TopicData::default()
            .with_topic_name(TopicName(StrBytes::from_static_str("a")))
            .with_partitions(vec![
                alter_partition_response::PartitionData::default()
                    .with_partition_index(0)
                    .with_leader_id(BrokerId(1))
                    .with_leader_epoch(3)
                    .with_isr(vec![BrokerId(1), BrokerId(2)])
                    .with_partition_epoch(8),
                alter_partition_response::PartitionData::default()
                    .with_partition_index(1)
                    .with_error_code(ResponseError::InvalidUpdateVersion.code()),
            ])]);
        let r = parse_response(&resp);
        assert_eq!(
            r[&tp("a", 0)],
            AlterIsrResult::Committed { leader_epoch: 3, isr: vec![1, 2], partition_epoch: 8 }
        );
        assert_eq!(r[&tp("a", 1)], AlterIsrResult::Failed(ResponseError::InvalidUpdateVersion));
    }
}
