//! `KafkaZkClient`: the async ZooKeeper layer brokers, the controller and the tools share.
//!
//! It wraps `zookeeper-client` and adds what Kafka needs on top of plain ZooKeeper:
//! * chroot creation before use (`host:2181/kafka`), as Kafka does at startup;
//! * a new session after expiry, announced through [`SessionEvent`]s so the broker can re-register
//!   and the controller can resign and re-elect;
//! * one-shot watches that survive "not there yet" (an exists-watch when the node is absent);
//! * multi-ops whose first op checks `/controller_epoch`'s version, the fencing that stops a zombie
//!   controller from writing anything (see `controller_ops`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, RwLock};
use zookeeper_client as zk;

use crate::error::{Result, ZkError};

mod consumer_offsets;
mod controller_ops;
mod kafka_ops;
mod watch;

pub use consumer_offsets::{decode_consumer_offset, encode_consumer_offset};
pub use controller_ops::ZkOp;
pub use watch::{Watch, WatchEvent};

/// Session lifecycle events. Consumers re-create ephemeral state on `Reestablished`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// The session expired: every ephemeral node and watch of it is gone.
    Expired,
    /// A new session is up (new session id); ephemeral nodes must be re-created.
    Reestablished,
}

/// The parts of a znode's `Stat` Kafka uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkStat {
    /// Creation zxid: the broker epoch for `/brokers/ids/<id>`.
    pub czxid: i64,
    /// Data version, the basis of every conditional write.
    pub version: i32,
    /// Session owning an ephemeral node, 0 for persistent ones.
    pub ephemeral_owner: i64,
    /// Children count.
    pub num_children: i32,
    /// Creation time (ms).
    pub ctime: i64,
    /// Modification time (ms).
    pub mtime: i64,
}

impl From<&zk::Stat> for ZkStat {
    fn from(s: &zk::Stat) -> Self {
        ZkStat {
            czxid: s.czxid,
            version: s.version,
            ephemeral_owner: s.ephemeral_owner,
            num_children: s.num_children,
            ctime: s.ctime,
            mtime: s.mtime,
        }
    }
}

struct Inner {
    connect: String,
    session_timeout: Duration,
    client: RwLock<zk::Client>,
    events: broadcast::Sender<SessionEvent>,
    /// Session ids this process had before, so a broker can tell its own stale ephemeral node.
    previous_sessions: std::sync::Mutex<Vec<i64>>,
}

/// Kafka's ZooKeeper client. Cheap to clone; all clones share one session.
#[derive(Clone)]
pub struct KafkaZkClient {
    inner: Arc<Inner>,
}

/// Persistent node options with open ACLs (Kafka's default without `zookeeper.set.acl`).
pub(crate) fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

/// Ephemeral node options.
pub(crate) fn ephemeral() -> zk::CreateOptions<'static> {
    zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all())
}

/// Persistent-sequential node options.
pub(crate) fn persistent_sequential() -> zk::CreateOptions<'static> {
    zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all())
}

/// Split `h1:2181,h2:2181/kafka` into the host list and the chroot (if any).
pub fn split_chroot(connect: &str) -> (&str, Option<&str>) {
    match connect.find('/') {
        Some(i) if i + 1 < connect.len() => (&connect[..i], Some(&connect[i..])),
        Some(i) => (&connect[..i], None),
        None => (connect, None),
    }
}

async fn open_session(connect: &str, session_timeout: Duration, connection_timeout: Duration) -> Result<zk::Client> {
    let connector = zk::Client::connector().with_session_timeout(session_timeout).with_connection_timeout(connection_timeout);
    match tokio::time::timeout(connection_timeout + Duration::from_secs(1), connector.connect(connect)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(ZkError::Connect { connect: connect.to_string(), reason: e.to_string() }),
        Err(_) => Err(ZkError::Connect { connect: connect.to_string(), reason: "timed out".to_string() }),
    }
}

impl KafkaZkClient {
    /// Connect, creating the chroot path first if the connect string has one.
    pub async fn connect(connect: &str, session_timeout: Duration, connection_timeout: Duration) -> Result<Self> {
        let (hosts, chroot) = split_chroot(connect);
        if let Some(chroot) = chroot {
            let root = open_session(hosts, session_timeout, connection_timeout).await?;
            let mut path = String::new();
            for part in chroot.split('/').filter(|p| !p.is_empty()) {
                path.push('/');
                path.push_str(part);
                match root.create(&path, &[], &persistent()).await {
                    Ok(_) | Err(zk::Error::NodeExists) => {}
                    Err(e) => return Err(ZkError::from_zk(&path, e)),
                }
            }
        }
        let client = open_session(connect, session_timeout, connection_timeout).await?;
        let (events, _) = broadcast::channel(16);
        let inner = Arc::new(Inner {
            connect: connect.to_string(),
            session_timeout,
            client: RwLock::new(client),
            events,
            previous_sessions: std::sync::Mutex::new(Vec::new()),
        });
        tokio::spawn(session_monitor(Arc::downgrade(&inner), connection_timeout));
        Ok(KafkaZkClient { inner })
    }

    /// The current underlying session (cloned handle).
    pub async fn raw(&self) -> zk::Client {
        self.inner.client.read().await.clone()
    }

    /// Subscribe to session expiry / re-establishment.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.inner.events.subscribe()
    }

    /// Current session id.
    pub async fn session_id(&self) -> i64 {
        self.raw().await.session_id().0
    }

    /// Session ids of earlier (expired) sessions of this client.
    pub fn previous_session_ids(&self) -> Vec<i64> {
        self.inner.previous_sessions.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The connect string this client was created with (chroot included).
    pub fn connect_string(&self) -> &str {
        &self.inner.connect
    }

    /// Configured session timeout.
    pub fn session_timeout(&self) -> Duration {
        self.inner.session_timeout
    }

    /// Read a node; `None` if it does not exist.
    pub async fn get_data(&self, path: &str) -> Result<Option<(Vec<u8>, ZkStat)>> {
        match self.raw().await.get_data(path).await {
            Ok((data, stat)) => Ok(Some((data, ZkStat::from(&stat)))),
            Err(zk::Error::NoNode) => Ok(None),
            Err(e) => Err(ZkError::from_zk(path, e)),
        }
    }

    /// Read many nodes with pipelined requests (one round trip for all, not one per node).
    pub async fn get_data_many(&self, paths: &[String]) -> Result<Vec<Option<(Vec<u8>, ZkStat)>>> {
        let client = self.raw().await;
        let futures: Vec<_> = paths.iter().map(|p| client.get_data(p)).collect();
        let results = futures::future::join_all(futures).await;
        results
            .into_iter()
            .zip(paths)
            .map(|(r, p)| match r {
                Ok((data, stat)) => Ok(Some((data, ZkStat::from(&stat)))),
                Err(zk::Error::NoNode) => Ok(None),
                Err(e) => Err(ZkError::from_zk(p, e)),
            })
            .collect()
    }

    /// Stat of a node, `None` if absent.
    pub async fn exists(&self, path: &str) -> Result<Option<ZkStat>> {
        match self.raw().await.check_stat(path).await {
            Ok(stat) => Ok(stat.as_ref().map(ZkStat::from)),
            Err(e) => Err(ZkError::from_zk(path, e)),
        }
    }

    /// Children names (unsorted, as ZooKeeper returns them); empty if the node is absent.
    pub async fn get_children(&self, path: &str) -> Result<Vec<String>> {
        match self.raw().await.list_children(path).await {
            Ok(c) => Ok(c),
            Err(zk::Error::NoNode) => Ok(Vec::new()),
            Err(e) => Err(ZkError::from_zk(path, e)),
        }
    }

    /// Create a persistent node (parent must exist). Returns the stat.
    pub async fn create_persistent(&self, path: &str, data: &[u8]) -> Result<()> {
        self.raw().await.create(path, data, &persistent()).await.map(|_| ()).map_err(|e| ZkError::from_zk(path, e))
    }

    /// Create a persistent-sequential node under `prefix`; returns the full created path.
    pub async fn create_sequential(&self, prefix: &str, data: &[u8]) -> Result<String> {
        let (_, seq) = self
            .raw()
            .await
            .create(prefix, data, &persistent_sequential())
            .await
            .map_err(|e| ZkError::from_zk(prefix, e))?;
        Ok(format!("{prefix}{seq}"))
    }

    /// Create a persistent node and any missing parents (parents get empty data). NODEEXISTS on the
    /// node itself is reported; on parents it is ignored.
    pub async fn create_recursive(&self, path: &str, data: &[u8]) -> Result<()> {
        let client = self.raw().await;
        match client.create(path, data, &persistent()).await {
            Ok(_) => return Ok(()),
            Err(zk::Error::NoNode) => {}
            Err(e) => return Err(ZkError::from_zk(path, e)),
        }
        let mut prefix = String::new();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            prefix.push('/');
            prefix.push_str(part);
            match client.create(&prefix, &[], &persistent()).await {
                Ok(_) | Err(zk::Error::NodeExists) => {}
                Err(e) => return Err(ZkError::from_zk(&prefix, e)),
            }
        }
        client.create(path, data, &persistent()).await.map(|_| ()).map_err(|e| ZkError::from_zk(path, e))
    }

    /// Conditional (or unconditional with `None`) set.
    pub async fn set_data(&self, path: &str, data: &[u8], version: Option<i32>) -> Result<ZkStat> {
        self.raw().await.set_data(path, data, version).await.map(|s| ZkStat::from(&s)).map_err(|e| ZkError::from_zk(path, e))
    }

    /// Overwrite `path` with `data`, or create it and any missing parents (the set-or-create of
    /// Kafka's `setOrCreateConsumerOffset` and `setOrCreateEntityConfigs`). If another writer
    /// creates it in between, it is overwritten: last write wins.
    pub async fn set_or_create(&self, path: &str, data: &[u8]) -> Result<()> {
        match self.set_data(path, data, None).await {
            Ok(_) => Ok(()),
            Err(ZkError::NoNode(_)) => match self.create_recursive(path, data).await {
                Ok(()) => Ok(()),
                Err(ZkError::NodeExists(_)) => self.set_data(path, data, None).await.map(|_| ()),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Delete one node (absent is fine).
    pub async fn delete(&self, path: &str, version: Option<i32>) -> Result<()> {
        match self.raw().await.delete(path, version).await {
            Ok(()) | Err(zk::Error::NoNode) => Ok(()),
            Err(e) => Err(ZkError::from_zk(path, e)),
        }
    }

    /// Delete a node and everything under it (absent is fine).
    pub async fn delete_recursive(&self, path: &str) -> Result<()> {
        let children = self.get_children(path).await?;
        for child in children {
            Box::pin(self.delete_recursive(&format!("{path}/{child}"))).await?;
        }
        self.delete(path, None).await
    }

    /// Read with a one-shot watch: a data watch if the node exists, an exists-watch otherwise, so the
    /// caller hears about creation, change and deletion alike.
    pub async fn get_data_and_watch(&self, path: &str) -> Result<(Option<(Vec<u8>, ZkStat)>, Watch)> {
        let client = self.raw().await;
        loop {
            match client.get_and_watch_data(path).await {
                Ok((data, stat, w)) => return Ok((Some((data, ZkStat::from(&stat))), Watch::new(w))),
                Err(zk::Error::NoNode) => {}
                Err(e) => return Err(ZkError::from_zk(path, e)),
            }
            match client.check_and_watch_stat(path).await {
                Ok((None, w)) => return Ok((None, Watch::new(w))),
                // Created in between: drop this watch by reading again with a data watch.
                Ok((Some(_), _)) => continue,
                Err(e) => return Err(ZkError::from_zk(path, e)),
            }
        }
    }

    /// Exists with a one-shot watch (fires on create, delete and data change).
    pub async fn exists_and_watch(&self, path: &str) -> Result<(Option<ZkStat>, Watch)> {
        match self.raw().await.check_and_watch_stat(path).await {
            Ok((stat, w)) => Ok((stat.as_ref().map(ZkStat::from), Watch::new(w))),
            Err(e) => Err(ZkError::from_zk(path, e)),
        }
    }

    /// Children with a one-shot child watch. The parent must exist (Kafka creates all of them at
    /// startup); an absent parent yields an exists-watch instead.
    pub async fn get_children_and_watch(&self, path: &str) -> Result<(Vec<String>, Watch)> {
        let client = self.raw().await;
        match client.list_and_watch_children(path).await {
            Ok((children, w)) => Ok((children, Watch::new(w))),
            Err(zk::Error::NoNode) => {
                let (_, w) = client.check_and_watch_stat(path).await.map_err(|e| ZkError::from_zk(path, e))?;
                Ok((Vec::new(), Watch::new(w)))
            }
            Err(e) => Err(ZkError::from_zk(path, e)),
        }
    }
}

/// Watches the session; on expiry announces it, opens a new session (retrying), swaps it in and
/// announces the new one. Ends when the last `KafkaZkClient` clone is dropped.
async fn session_monitor(inner: std::sync::Weak<Inner>, connection_timeout: Duration) {
    loop {
        let mut states = match inner.upgrade() {
            Some(i) => i.client.read().await.state_watcher(),
            None => return,
        };
        loop {
            let state = states.changed().await;
            match state {
                zk::SessionState::Expired => break,
                zk::SessionState::Closed | zk::SessionState::AuthFailed => return,
                other => tracing::debug!("ZooKeeper session state {other:?}"),
            }
        }
        let Some(i) = inner.upgrade() else { return };
        tracing::warn!("ZooKeeper session expired; opening a new session");
        let _ = i.events.send(SessionEvent::Expired);
        let old_id = i.client.read().await.session_id().0;
        if let Ok(mut prev) = i.previous_sessions.lock() {
            prev.push(old_id);
        }
        let (connect, timeout) = (i.connect.clone(), i.session_timeout);
        drop(i);
        let mut backoff = Duration::from_millis(100);
        let fresh = loop {
            match open_session(&connect, timeout, connection_timeout).await {
                Ok(c) => break c,
                Err(e) => {
                    tracing::warn!("could not re-establish ZooKeeper session: {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    if inner.strong_count() == 0 {
                        return;
                    }
                }
            }
        };
        let Some(i) = inner.upgrade() else { return };
        *i.client.write().await = fresh;
        tracing::info!("ZooKeeper session re-established");
        let _ = i.events.send(SessionEvent::Reestablished);
    }
}
