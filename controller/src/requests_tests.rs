//! Version adaptation (every version must encode) and response → event mapping.

use bytes::BytesMut;
use wire::kafka_protocol::messages::leader_and_isr_response::{LeaderAndIsrPartitionError, LeaderAndIsrTopicError};
use wire::kafka_protocol::messages::stop_replica_response::StopReplicaPartitionError;
use wire::kafka_protocol::protocol::{Encodable, StrBytes};

use super::*;
use crate::context::{LeaderAndIsr, LeaderIsrAndControllerEpoch, ReplicaAssignment};
use crate::request_batch::{ControllerBrokerRequestBatch, ControllerRequest};
use crate::test_support::{live_broker, tp};
use crate::ControllerContext;

fn sample() -> (LeaderAndIsrRequest, UpdateMetadataRequest, StopReplicaRequest) {
    let mut ctx = ControllerContext::default();
    ctx.epoch = 3;
    ctx.set_live_brokers([live_broker(1, 11), live_broker(2, 12)]);
    ctx.set_topic_id("t", "AAAAAAAAAAAAAAAAAAAAAQ".into());
    let a = ReplicaAssignment { replicas: vec![1, 2], adding_replicas: vec![2], removing_replicas: vec![] };
    ctx.update_partition_full_replica_assignment(&tp("t", 0), a.clone());
    let state = LeaderIsrAndControllerEpoch::new(LeaderAndIsr::initial(1, vec![1, 2]), 3);
    ctx.put_partition_leadership_info(tp("t", 0), state.clone());
    let mut batch = ControllerBrokerRequestBatch::new(1, "PLAINTEXT");
    batch.add_leader_and_isr_request_for_brokers(&ctx, &[1], &tp("t", 0), &state, &a, true);
    batch.add_stop_replica_request_for_brokers(&ctx, &[1], &tp("t", 0), true);
    batch.add_stop_replica_request_for_brokers(&ctx, &[1], &tp("t", 1), false);
    let mut out = (None, None, None);
    for (b, r) in batch.take_requests(&ctx) {
        match r {
            ControllerRequest::LeaderAndIsr(r) => out.0 = Some(r),
            ControllerRequest::UpdateMetadata(r) if b == 1 => out.1 = Some(r),
            ControllerRequest::StopReplica(r) => out.2 = Some(r),
            _ => {}
        }
    }
    (out.0.expect("lai"), out.1.expect("um"), out.2.expect("sr"))
}

fn encodes<T: Encodable>(msg: &T, version: i16) {
    let mut buf = BytesMut::new();
    if let Err(e) = msg.encode(&mut buf, version) {
        panic!("v{version} does not encode: {e}");
    }
}

#[test]
fn every_version_encodes() {
    let (lai, um, sr) = sample();
    for v in 0..=LEADER_AND_ISR_MAX_VERSION {
        encodes(&leader_and_isr_for_version(&lai, v), v);
    }
    for v in 0..=UPDATE_METADATA_MAX_VERSION {
        encodes(&update_metadata_for_version(&um, v), v);
    }
    for v in 0..=STOP_REPLICA_MAX_VERSION {
        for r in stop_replica_for_version(&sr, v) {
            encodes(&r, v);
        }
    }
    assert_eq!(leader_and_isr_for_version(&lai, 1).ungrouped_partition_states.len(), 1);
    assert_eq!(update_metadata_for_version(&um, 4).ungrouped_partition_states.len(), 1);
    assert_eq!(update_metadata_for_version(&um, 0).live_brokers[0].v0_port, 9001);
}

#[test]
fn old_stop_replica_splits_by_delete_flag() {
    let (_, _, sr) = sample();
    assert_eq!(stop_replica_for_version(&sr, 3).len(), 1);
    let split = stop_replica_for_version(&sr, 2);
    assert_eq!(split.len(), 2);
    assert!(split[0].delete_partitions && !split[1].delete_partitions);
    assert_eq!(split[0].topics[0].partition_indexes, vec![0]);
    assert_eq!(split[1].topics[0].partition_indexes, vec![1]);
}

#[test]
fn leader_and_isr_v5_response_resolves_topic_ids() {
    let (lai, _, _) = sample();
    let mut resp = LeaderAndIsrResponse::default();
    resp.topics.push(
        LeaderAndIsrTopicError::default()
            .with_topic_id(lai.topic_states[0].topic_id)
            .with_partition_errors(vec![LeaderAndIsrPartitionError::default().with_partition_index(0).with_error_code(56)]),
    );
    match leader_and_isr_response_event(1, &lai, &resp) {
        ControllerEvent::LeaderAndIsrResponseReceived { broker_id, error_code, partition_errors } => {
            assert_eq!((broker_id, error_code), (1, 0));
            assert_eq!(partition_errors, vec![(tp("t", 0), 56)]);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn stop_replica_response_reports_deleted_partitions_only() {
    let (_, _, sr) = sample();
    let mut resp = StopReplicaResponse::default();
    resp.partition_errors.push(
        StopReplicaPartitionError::default()
            .with_topic_name(TopicName(StrBytes::from_static_str("t")))
            .with_partition_index(0)
            .with_error_code(0),
    );
    match stop_replica_response_event(1, &sr, &[resp]) {
        Some(ControllerEvent::TopicDeletionStopReplicaResponseReceived { partition_errors, .. }) => {
            assert_eq!(partition_errors, vec![(tp("t", 0), 0)]);
        }
        other => panic!("unexpected {other:?}"),
    }
    let failed = StopReplicaResponse::default().with_error_code(77);
    match stop_replica_response_event(1, &sr, &[failed]) {
        Some(ControllerEvent::TopicDeletionStopReplicaResponseReceived { error_code, partition_errors, .. }) => {
            assert_eq!(error_code, 77);
            assert_eq!(partition_errors, vec![(tp("t", 0), 77)]);
        }
        other => panic!("unexpected {other:?}"),
    }
    let (_, _, mut keep_only) = sample();
    keep_only.topic_states.iter_mut().for_each(|t| t.partition_states.retain(|p| !p.delete_partition));
    assert!(stop_replica_response_event(1, &keep_only, &[]).is_none());
}
