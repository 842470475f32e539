//! One-shot watches as plain futures.

use zookeeper_client as zk;

/// What a fired watch reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// The node was created.
    Created(String),
    /// The node was deleted.
    Deleted(String),
    /// The node's data changed.
    DataChanged(String),
    /// The node's children changed.
    ChildrenChanged(String),
    /// The session ended (expired or closed) before the watch fired: the caller must re-read and
    /// re-watch after the next `SessionEvent::Reestablished`.
    SessionLost,
}

/// A one-shot watch registered by a read. Await [`Watch::changed`] to learn what happened.
pub struct Watch(zk::OneshotWatcher);

impl Watch {
    pub(crate) fn new(w: zk::OneshotWatcher) -> Self {
        Watch(w)
    }

    /// Wait for the watch to fire.
    pub async fn changed(self) -> WatchEvent {
        let ev = self.0.changed().await;
        match ev.event_type {
            zk::EventType::NodeCreated => WatchEvent::Created(ev.path),
            zk::EventType::NodeDeleted => WatchEvent::Deleted(ev.path),
            zk::EventType::NodeDataChanged => WatchEvent::DataChanged(ev.path),
            zk::EventType::NodeChildrenChanged => WatchEvent::ChildrenChanged(ev.path),
            zk::EventType::Session => WatchEvent::SessionLost,
        }
    }
}
