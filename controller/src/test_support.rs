//! Test doubles: an in-memory ZooKeeper implementing [`ControllerZk`] with Kafka's fencing
//! semantics, a request sink that records what the controller sends, and cluster helpers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};

use zk_schema::client::ZkOp;
use zk_schema::model::{BrokerEndpoint, BrokerRegistration, ControllerEpoch, ControllerZNode, PartitionStateZNode, TopicZNode};
use zk_schema::{paths, ZkError, ZkStat};

use crate::channel_manager::BrokerRequestSink;
use crate::config::ControllerConfig;
use crate::context::{LiveBroker, TopicPartition};
use crate::controller_core::{ControllerCore, SharedControllerState};
use crate::request_batch::ControllerRequest;
use crate::zk_backend::{ControllerZk, NodeData, WatchTarget, ZkResult};

#[derive(Debug, Clone)]
struct Node {
    data: Vec<u8>,
    version: i32,
    czxid: i64,
}

#[derive(Debug, Default)]
struct State {
    nodes: BTreeMap<String, Node>,
    zxid: i64,
    watches: BTreeSet<String>,
    bad_version_once: BTreeSet<String>,
    set_data_calls: Vec<String>,
}

impl State {
    fn stat(&self, path: &str) -> Option<ZkStat> {
        self.nodes.get(path).map(|n| ZkStat {
            czxid: n.czxid,
            version: n.version,
            ephemeral_owner: 0,
            num_children: self.children(path).len() as i32,
            ctime: 0,
            mtime: 0,
        })
    }

    fn children(&self, path: &str) -> Vec<String> {
        let prefix = if path == "/" { "/".to_string() } else { format!("{path}/") };
        self.nodes
            .range(prefix.clone()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(&prefix))
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|rest| !rest.is_empty() && !rest.contains('/'))
            .map(str::to_string)
            .collect()
    }

    fn create(&mut self, path: &str, data: &[u8]) -> ZkResult<Option<ZkStat>> {
        if self.nodes.contains_key(path) {
            return Err(ZkError::NodeExists(path.into()));
        }
        let parent = path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
        if !parent.is_empty() && !self.nodes.contains_key(parent) {
            return Err(ZkError::NoNode(path.into()));
        }
        self.zxid += 1;
        self.nodes.insert(path.into(), Node { data: data.to_vec(), version: 0, czxid: self.zxid });
        Ok(self.stat(path))
    }

    fn apply(&mut self, op: &ZkOp) -> ZkResult<Option<ZkStat>> {
        match op {
            ZkOp::Create { path, data } => self.create(path, data),
            ZkOp::SetData { path, data, version } => {
                self.set_data_calls.push(path.clone());
                let n = self.nodes.get_mut(path).ok_or_else(|| ZkError::NoNode(path.clone()))?;
                if version.is_some_and(|v| v != n.version) {
                    return Err(ZkError::BadVersion(path.clone()));
                }
                n.data = data.clone();
                n.version += 1;
                Ok(self.stat(path))
            }
            ZkOp::Delete { path, version } => {
                let n = self.nodes.get(path).ok_or_else(|| ZkError::NoNode(path.clone()))?;
                if version.is_some_and(|v| v != n.version) {
                    return Err(ZkError::BadVersion(path.clone()));
                }
                if !self.children(path).is_empty() {
                    return Err(ZkError::NotEmpty(path.clone()));
                }
                self.nodes.remove(path);
                Ok(None)
            }
        }
    }

    fn check_epoch(&self, epoch_zk_version: i32) -> ZkResult<()> {
        match self.nodes.get(paths::CONTROLLER_EPOCH) {
            Some(n) if n.version == epoch_zk_version => Ok(()),
            _ => Err(ZkError::ControllerMoved),
        }
    }
}

/// In-memory ZooKeeper shared by every clone (several controllers can race on one instance).
#[derive(Clone, Default)]
pub struct FakeZk {
    state: Arc<Mutex<State>>,
}

impl FakeZk {
    /// A store with Kafka's top-level paths.
    pub fn new() -> Self {
        let zk = FakeZk::default();
        for p in ["/brokers", "/admin", "/config"].iter().chain(paths::PERSISTENT_PATHS) {
            let _ = zk.lock().create(p, &[]);
        }
        zk
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Unfenced write (admin tools, brokers), creating parents.
    pub fn put(&self, path: &str, data: &[u8]) {
        let mut s = self.lock();
        let mut prefix = String::new();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        for part in &parts[..parts.len() - 1] {
            prefix.push('/');
            prefix.push_str(part);
            let _ = s.create(&prefix, &[]);
        }
        if s.nodes.contains_key(path) {
            let _ = s.apply(&ZkOp::SetData { path: path.into(), data: data.to_vec(), version: None });
        } else {
            let _ = s.create(path, data);
        }
    }

    /// Unfenced delete of a node (a broker's ephemeral node vanishing).
    pub fn remove(&self, path: &str) {
        self.lock().nodes.remove(path);
    }

    /// Data of a node.
    pub fn data(&self, path: &str) -> Option<Vec<u8>> {
        self.lock().nodes.get(path).map(|n| n.data.clone())
    }

    /// Whether a node exists.
    pub fn exists(&self, path: &str) -> bool {
        self.lock().nodes.contains_key(path)
    }

    /// The partition state znode of `topic`-`p`.
    pub fn partition_state(&self, topic: &str, p: i32) -> Option<PartitionStateZNode> {
        let path = paths::partition_state(topic, p);
        self.data(&path).map(|d| PartitionStateZNode::decode(&path, &d).expect("valid state"))
    }

    /// zkVersion of a node.
    pub fn version(&self, path: &str) -> Option<i32> {
        self.lock().nodes.get(path).map(|n| n.version)
    }

    /// The next conditional set of `path` fails with BADVERSION after a "concurrent" write.
    pub fn inject_bad_version_once(&self, path: &str) {
        self.lock().bad_version_once.insert(path.to_string());
    }

    /// Unfenced create of a sequential child `prefix<10 digits>` (brokers' notifications).
    pub fn put_sequential(&self, prefix: &str, data: &[u8]) -> String {
        let n = self.lock().zxid + 1;
        let path = format!("{prefix}{n:010}");
        self.put(&path, data);
        path
    }

    /// Children of a node.
    pub fn children(&self, path: &str) -> Vec<String> {
        self.lock().children(path)
    }

    /// Paths passed to SetData so far.
    pub fn set_data_calls(&self) -> Vec<String> {
        self.lock().set_data_calls.clone()
    }

    /// Whether a watch is armed on `target`.
    pub fn is_watched(&self, target: &WatchTarget) -> bool {
        self.lock().watches.contains(&format!("{target:?}"))
    }

    /// Register broker `id` (PLAINTEXT on 127.0.0.1:<9000+id>); returns its epoch.
    pub fn register(&self, id: i32) -> i64 {
        self.remove(&paths::broker_id(id));
        self.put(&paths::broker_id(id), &registration(id).encode());
        self.lock().nodes[&paths::broker_id(id)].czxid
    }

    /// Create a topic as the admin tools do (with a topic id unless `with_id` is false).
    pub fn create_topic(&self, topic: &str, assignment: &[(i32, Vec<i32>)], with_id: bool) {
        let id = with_id.then(zk_schema::util::random_kafka_uuid);
        let node = TopicZNode::new(assignment.iter().cloned().collect(), id);
        self.put(&paths::topic(topic), &node.encode());
    }
}

/// A registration for broker `id` on 127.0.0.1:<9000+id>.
pub fn registration(id: i32) -> BrokerRegistration {
    let ep = BrokerEndpoint {
        listener: "PLAINTEXT".into(),
        security_protocol: "PLAINTEXT".into(),
        host: "127.0.0.1".into(),
        port: 9000 + id,
    };
    BrokerRegistration::new(&[ep], None, -1, 1)
}

/// A live broker with that registration.
pub fn live_broker(id: i32, epoch: i64) -> LiveBroker {
    let path = paths::broker_id(id);
    LiveBroker { id, epoch, endpoints: registration(id).parsed_endpoints(&path).expect("valid"), rack: None }
}

impl ControllerZk for FakeZk {
    async fn get_data_many(&self, node_paths: &[String]) -> ZkResult<Vec<NodeData>> {
        let s = self.lock();
        Ok(node_paths
            .iter()
            .map(|p| s.nodes.get(p).map(|n| (n.data.clone(), s.stat(p).expect("exists"))))
            .collect())
    }

    async fn get_children(&self, path: &str) -> ZkResult<Vec<String>> {
        Ok(self.lock().children(path))
    }

    async fn fenced_multi(&self, epoch_zk_version: i32, ops: &[ZkOp]) -> ZkResult<Vec<Option<ZkStat>>> {
        let mut s = self.lock();
        s.check_epoch(epoch_zk_version)?;
        for op in ops {
            if let ZkOp::SetData { path, .. } = op {
                if s.bad_version_once.remove(path) {
                    // A concurrent writer got there first.
                    s.set_data_calls.push(path.clone());
                    if let Some(n) = s.nodes.get_mut(path) {
                        n.version += 1;
                    }
                    return Err(ZkError::BadVersion(path.clone()));
                }
            }
        }
        if let [op] = ops {
            // A failed single op changes nothing: no backup needed (keeps 10k-partition tests fast).
            return s.apply(op).map(|st| vec![st]);
        }
        let backup = (s.nodes.clone(), s.zxid);
        let mut out = Vec::new();
        for op in ops {
            match s.apply(op) {
                Ok(st) => out.push(st),
                Err(e) => {
                    (s.nodes, s.zxid) = backup;
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    async fn fenced_each(&self, epoch_zk_version: i32, ops: &[ZkOp]) -> Vec<ZkResult<Option<ZkStat>>> {
        let mut out = Vec::new();
        for op in ops {
            out.push(self.fenced_multi(epoch_zk_version, std::slice::from_ref(op)).await.map(|mut v| v.pop().flatten()));
        }
        out
    }

    async fn get_controller_id(&self) -> ZkResult<Option<i32>> {
        match self.data(paths::CONTROLLER) {
            Some(d) => Ok(Some(ControllerZNode::decode(&d)?.brokerid)),
            None => Ok(None),
        }
    }

    async fn register_controller_and_increment_epoch(&self, broker_id: i32) -> ZkResult<ControllerEpoch> {
        let mut s = self.lock();
        if !s.nodes.contains_key(paths::CONTROLLER_EPOCH) {
            s.create(paths::CONTROLLER_EPOCH, b"0")?;
        }
        if s.nodes.contains_key(paths::CONTROLLER) {
            return Err(ZkError::ControllerMoved);
        }
        let epoch = ControllerEpoch::decode_epoch(&s.nodes[paths::CONTROLLER_EPOCH].data)? + 1;
        s.create(paths::CONTROLLER, &ControllerZNode::new(broker_id, 1).encode())?;
        let stat = s.apply(&ZkOp::SetData {
            path: paths::CONTROLLER_EPOCH.into(),
            data: ControllerEpoch::encode(epoch),
            version: None,
        })?;
        Ok(ControllerEpoch { epoch, zk_version: stat.map(|s| s.version).unwrap_or(0) })
    }

    async fn delete_controller_if_owner(&self, broker_id: i32) -> ZkResult<()> {
        if self.get_controller_id().await? == Some(broker_id) {
            self.remove(paths::CONTROLLER);
        }
        Ok(())
    }

    async fn register_broker(&self, id: i32, registration: &BrokerRegistration) -> ZkResult<i64> {
        self.remove(&paths::broker_id(id));
        self.put(&paths::broker_id(id), &registration.encode());
        Ok(self.lock().nodes[&paths::broker_id(id)].czxid)
    }

    async fn watch(&self, target: WatchTarget) -> ZkResult<()> {
        self.lock().watches.insert(format!("{target:?}"));
        Ok(())
    }

    fn unwatch(&self, target: &WatchTarget) {
        self.lock().watches.remove(&format!("{target:?}"));
    }

    fn unwatch_all_but_controller(&self) {
        let keep = format!("{:?}", WatchTarget::Controller);
        self.lock().watches.retain(|w| *w == keep);
    }
}

/// Records every request the controller sends, in order.
#[derive(Clone, Default)]
pub struct RecordingSink {
    sent: Arc<Mutex<Vec<(i32, ControllerRequest)>>>,
    brokers: Arc<Mutex<BTreeSet<i32>>>,
}

impl RecordingSink {
    /// Take the requests sent so far.
    pub fn take(&self) -> Vec<(i32, ControllerRequest)> {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Brokers with an open channel.
    pub fn brokers(&self) -> BTreeSet<i32> {
        self.brokers.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl BrokerRequestSink for RecordingSink {
    fn add_broker(&mut self, broker: &LiveBroker) {
        self.brokers.lock().unwrap_or_else(|e| e.into_inner()).insert(broker.id);
    }
    fn remove_broker(&mut self, id: i32) {
        self.brokers.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
    }
    fn send(&mut self, broker: i32, request: ControllerRequest) {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).push((broker, request));
    }
    fn shutdown(&mut self) {
        self.brokers.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// A controller core for broker `id` on `zk`, with the sink it sends to and its broker epoch.
pub fn core(zk: &FakeZk, config: ControllerConfig) -> (ControllerCore<FakeZk>, RecordingSink, Arc<AtomicI64>) {
    let sink = RecordingSink::default();
    let epoch = Arc::new(AtomicI64::new(0));
    let c = ControllerCore::new(
        config.clone(),
        zk.clone(),
        Box::new(sink.clone()),
        registration(config.broker_id),
        epoch.clone(),
        Arc::new(SharedControllerState::default()),
    );
    (c, sink, epoch)
}

/// Register brokers `1..=n`, start controller `id` on them and drain what failover sent.
pub async fn started(zk: &FakeZk, n: i32, config: ControllerConfig) -> (ControllerCore<FakeZk>, RecordingSink) {
    for b in 1..=n {
        zk.register(b);
    }
    let (mut c, sink, _) = core(zk, config);
    c.process(crate::event::ControllerEvent::Startup).await;
    assert!(c.is_active());
    sink.take();
    (c, sink)
}

/// The `/brokers/topics/<T>` znode.
pub fn topic_znode(zk: &FakeZk, topic: &str) -> TopicZNode {
    TopicZNode::decode("t", &zk.data(&paths::topic(topic)).expect("topic znode")).expect("valid topic znode")
}

/// Requests of kind `name` sent to `broker`.
pub fn sent_to<'a>(requests: &'a [(i32, ControllerRequest)], broker: i32, name: &str) -> Vec<&'a ControllerRequest> {
    requests.iter().filter(|(b, r)| *b == broker && r.name() == name).map(|(_, r)| r).collect()
}

/// Shorthand for a partition.
pub fn tp(topic: &str, p: i32) -> TopicPartition {
    TopicPartition::new(topic, p)
}

/// Short description of each request, for order assertions: (broker, name).
pub fn summary(requests: &[(i32, ControllerRequest)]) -> Vec<(i32, &'static str)> {
    requests.iter().map(|(b, r)| (*b, r.name())).collect()
}
