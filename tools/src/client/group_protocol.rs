//! The "consumer" embedded protocol (Kafka's `ConsumerProtocol`): the subscription a member
//! puts in JoinGroup's protocol metadata and the assignment the leader hands out in SyncGroup.
//! Both are opaque bytes to the broker; every consumer client of a group must agree on them,
//! so the layout follows Kafka 2.8 exactly (v0, v1 adds owned partitions; later versions only
//! append fields, which a reader of an older version ignores).

use std::collections::BTreeMap;

use wire::kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use wire::kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use wire::kafka_protocol::messages::TopicName;
use wire::kafka_protocol::protocol::StrBytes;

/// The protocol type every Kafka consumer announces in JoinGroup.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";
/// The subscription/assignment version we write (Kafka 2.8 writes v1).
pub const CONSUMER_PROTOCOL_VERSION: i16 = 1;

/// Bytes that are not a valid subscription or assignment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Error deserializing consumer protocol data: {0}")]
pub struct ProtocolError(pub String);

/// What a member subscribes to (JoinGroup protocol metadata).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// Subscribed topic names.
    pub topics: Vec<String>,
    /// Assignor-specific data (nullable).
    pub user_data: Option<Vec<u8>>,
    /// Partitions the member owned before this rebalance (v1+), topic → partitions.
    pub owned_partitions: Vec<(String, Vec<i32>)>,
}

/// What a member was given (SyncGroup assignment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    /// Assigned partitions, topic → partitions.
    pub partitions: Vec<(String, Vec<i32>)>,
    /// Assignor-specific data (nullable).
    pub user_data: Option<Vec<u8>>,
}

impl Assignment {
    /// The assignment of a flat partition list, grouped by topic in first-seen order.
    pub fn from_partitions(tps: &[(String, i32)]) -> Self {
        let mut grouped: Vec<(String, Vec<i32>)> = Vec::new();
        for (t, p) in tps {
            match grouped.iter_mut().find(|(name, _)| name == t) {
                Some((_, ps)) => ps.push(*p),
                None => grouped.push((t.clone(), vec![*p])),
            }
        }
        Assignment {
            partitions: grouped,
            user_data: None,
        }
    }

    /// The assigned partitions as (topic, partition) pairs, sorted.
    pub fn topic_partitions(&self) -> Vec<(String, i32)> {
        let mut all: Vec<(String, i32)> = self
            .partitions
            .iter()
            .flat_map(|(t, ps)| ps.iter().map(move |p| (t.clone(), *p)))
            .collect();
        all.sort();
        all
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn i16(&mut self, v: i16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn string(&mut self, s: &str) {
        self.i16(s.len().min(i16::MAX as usize) as i16);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn bytes(&mut self, b: &Option<Vec<u8>>) {
        match b {
            None => self.i32(-1),
            Some(b) => {
                self.i32(b.len() as i32);
                self.0.extend_from_slice(b);
            }
        }
    }
    fn topic_partitions(&mut self, tps: &[(String, Vec<i32>)]) {
        self.i32(tps.len() as i32);
        for (t, ps) in tps {
            self.string(t);
            self.i32(ps.len() as i32);
            for p in ps {
                self.i32(*p);
            }
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        if self.buf.len() - self.pos < n {
            return Err(ProtocolError(format!(
                "need {n} bytes at position {}",
                self.pos
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }
    fn i16(&mut self) -> Result<i16, ProtocolError> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> Result<i32, ProtocolError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn count(&mut self) -> Result<usize, ProtocolError> {
        let n = self.i32()?;
        if n < 0 {
            return Err(ProtocolError(format!("negative array length {n}")));
        }
        Ok(n as usize)
    }
    fn string(&mut self) -> Result<String, ProtocolError> {
        let n = self.i16()?;
        if n < 0 {
            return Err(ProtocolError(
                "null string where a string is required".into(),
            ));
        }
        let b = self.take(n as usize)?;
        String::from_utf8(b.to_vec()).map_err(|e| ProtocolError(e.to_string()))
    }
    fn bytes(&mut self) -> Result<Option<Vec<u8>>, ProtocolError> {
        let n = self.i32()?;
        if n < 0 {
            return Ok(None);
        }
        Ok(Some(self.take(n as usize)?.to_vec()))
    }
    fn topic_partitions(&mut self) -> Result<Vec<(String, Vec<i32>)>, ProtocolError> {
        let n = self.count()?;
        let mut out = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let t = self.string()?;
            let m = self.count()?;
            let mut ps = Vec::with_capacity(m.min(4096));
            for _ in 0..m {
                ps.push(self.i32()?);
            }
            out.push((t, ps));
        }
        Ok(out)
    }
}

/// Encode a subscription at `version` (0 or 1; owned partitions only exist from v1).
pub fn encode_subscription(sub: &Subscription, version: i16) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.i16(version);
    w.i32(sub.topics.len() as i32);
    for t in &sub.topics {
        w.string(t);
    }
    w.bytes(&sub.user_data);
    if version >= 1 {
        w.topic_partitions(&sub.owned_partitions);
    }
    w.0
}

/// Decode a subscription of any version (fields added after v1 are ignored).
pub fn decode_subscription(data: &[u8]) -> Result<Subscription, ProtocolError> {
    let mut r = Reader { buf: data, pos: 0 };
    let version = r.i16()?;
    if version < 0 {
        return Err(ProtocolError(format!(
            "unsupported subscription version {version}"
        )));
    }
    let n = r.count()?;
    let mut topics = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        topics.push(r.string()?);
    }
    let user_data = r.bytes()?;
    let owned_partitions = if version >= 1 && !r.at_end() {
        r.topic_partitions()?
    } else {
        Vec::new()
    };
    Ok(Subscription {
        topics,
        user_data,
        owned_partitions,
    })
}

/// Encode an assignment (v0 and v1 share one layout).
pub fn encode_assignment(a: &Assignment, version: i16) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.i16(version);
    w.topic_partitions(&a.partitions);
    w.bytes(&a.user_data);
    w.0
}

/// Decode an assignment; empty bytes (what the coordinator stores for a member the leader
/// left out) mean "nothing assigned".
pub fn decode_assignment(data: &[u8]) -> Result<Assignment, ProtocolError> {
    if data.is_empty() {
        return Ok(Assignment::default());
    }
    let mut r = Reader { buf: data, pos: 0 };
    let version = r.i16()?;
    if version < 0 {
        return Err(ProtocolError(format!(
            "unsupported assignment version {version}"
        )));
    }
    let partitions = r.topic_partitions()?;
    let user_data = if r.at_end() { None } else { r.bytes()? };
    Ok(Assignment {
        partitions,
        user_data,
    })
}

/// Group a list of (topic, partition) pairs by topic with sorted partitions.
pub fn by_topic(tps: &[(String, i32)]) -> BTreeMap<String, Vec<i32>> {
    let mut out: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for (t, p) in tps {
        out.entry(t.clone()).or_default().push(*p);
    }
    for ps in out.values_mut() {
        ps.sort_unstable();
    }
    out
}

/// The topics of an OffsetCommit request: one entry per topic, offsets committed with empty
/// metadata (what every committing tool here sends).
pub fn offset_commit_topics(offsets: &BTreeMap<(String, i32), i64>) -> Vec<OffsetCommitRequestTopic> {
    let mut topics: Vec<OffsetCommitRequestTopic> = Vec::new();
    for ((t, p), off) in offsets {
        let part = OffsetCommitRequestPartition::default()
            .with_partition_index(*p)
            .with_committed_offset(*off)
            .with_committed_metadata(Some(StrBytes::from_static_str("")));
        match topics.iter_mut().find(|x| x.name.0.as_str() == t) {
            Some(x) => x.partitions.push(part),
            None => topics.push(
                OffsetCommitRequestTopic::default()
                    .with_name(TopicName(StrBytes::from_string(t.clone())))
                    .with_partitions(vec![part]),
            ),
        }
    }
    topics
}

/// The topics of an OffsetFetch request for `tps`: one entry per topic, in first-seen order,
/// partitions in the order given (shared by the group member and the legacy v0 path).
pub fn offset_fetch_topics(tps: &[(String, i32)]) -> Vec<OffsetFetchRequestTopic> {
    let mut topics: Vec<OffsetFetchRequestTopic> = Vec::new();
    for (t, p) in tps {
        match topics.iter_mut().find(|x| x.name.0.as_str() == t) {
            Some(x) => x.partition_indexes.push(*p),
            None => topics.push(
                OffsetFetchRequestTopic::default()
                    .with_name(TopicName(StrBytes::from_string(t.clone())))
                    .with_partition_indexes(vec![*p]),
            ),
        }
    }
    topics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_fetch_topics_group_by_topic_in_first_seen_order() {
        let tps = [("b".to_string(), 1), ("a".to_string(), 0), ("b".to_string(), 0)];
        let got: Vec<(String, Vec<i32>)> = offset_fetch_topics(&tps)
            .into_iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes))
            .collect();
        assert_eq!(got, vec![("b".to_string(), vec![1, 0]), ("a".to_string(), vec![0])]);
        assert!(offset_fetch_topics(&[]).is_empty());
    }

    #[test]
    fn subscription_v0_bytes() {
        let sub = Subscription {
            topics: vec!["ab".into()],
            user_data: None,
            owned_partitions: vec![],
        };
        let b = encode_subscription(&sub, 0);
        assert_eq!(
            b,
            vec![0, 0, 0, 0, 0, 1, 0, 2, b'a', b'b', 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(decode_subscription(&b).unwrap(), sub);
    }

    #[test]
    fn subscription_v1_round_trip_and_newer_versions() {
        let sub = Subscription {
            topics: vec!["t1".into(), "t2".into()],
            user_data: Some(vec![1, 2]),
            owned_partitions: vec![("t1".into(), vec![0, 2])],
        };
        let b = encode_subscription(&sub, 1);
        assert_eq!(decode_subscription(&b).unwrap(), sub);
        // A v3 subscription (generation id and rack appended) still reads.
        let mut v3 = b.clone();
        v3[1] = 3;
        v3.extend_from_slice(&7i32.to_be_bytes());
        v3.extend_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(decode_subscription(&v3).unwrap(), sub);
        assert!(decode_subscription(&b[..b.len() - 3]).is_err());
    }

    #[test]
    fn assignment_round_trip() {
        let a = Assignment::from_partitions(&[("t".into(), 1), ("u".into(), 0), ("t".into(), 0)]);
        assert_eq!(
            a.partitions,
            vec![("t".to_string(), vec![1, 0]), ("u".to_string(), vec![0])]
        );
        let b = encode_assignment(&a, 1);
        let back = decode_assignment(&b).unwrap();
        assert_eq!(back, a);
        assert_eq!(
            back.topic_partitions(),
            vec![
                ("t".to_string(), 0),
                ("t".to_string(), 1),
                ("u".to_string(), 0)
            ]
        );
        assert_eq!(decode_assignment(&[]).unwrap(), Assignment::default());
        assert!(decode_assignment(&[0, 0, 0]).is_err());
    }
}
