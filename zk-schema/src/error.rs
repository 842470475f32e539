//! Errors of the ZooKeeper layer, typed so callers can tell fencing from plain failures.

/// Everything that can go wrong talking to ZooKeeper or decoding what is stored there.
#[derive(Debug, thiserror::Error)]
pub enum ZkError {
    /// The node does not exist.
    #[error("znode {0} does not exist")]
    NoNode(String),
    /// The node already exists (create raced with someone else).
    #[error("znode {0} already exists")]
    NodeExists(String),
    /// A conditional write found a different version.
    #[error("znode {0} has a different version than expected")]
    BadVersion(String),
    /// The `/controller_epoch` check of a fenced write failed: another controller was elected.
    #[error("controller moved: this broker is no longer the active controller")]
    ControllerMoved,
    /// The node has children and cannot be deleted non-recursively.
    #[error("znode {0} is not empty")]
    NotEmpty(String),
    /// The ZooKeeper session expired; a new one is being established.
    #[error("ZooKeeper session expired")]
    SessionExpired,
    /// Could not reach ZooKeeper in time.
    #[error("could not connect to ZooKeeper at {connect}: {reason}")]
    Connect { connect: String, reason: String },
    /// A payload stored in ZooKeeper is not what Kafka writes there.
    #[error("malformed data in znode {path}: {reason}")]
    Malformed { path: String, reason: String },
    /// An invalid argument (bad topic name, bad assignment, ...), phrased for the user.
    #[error("{0}")]
    Invalid(String),
    /// Any other ZooKeeper error, with the path it concerned.
    #[error("ZooKeeper error on {path}: {source}")]
    Other { path: String, #[source] source: zookeeper_client::Error },
}

impl ZkError {
    /// Map a `zookeeper-client` error for `path` into the typed error.
    pub fn from_zk(path: &str, err: zookeeper_client::Error) -> ZkError {
        use zookeeper_client::Error as E;
        match err {
            E::NoNode => ZkError::NoNode(path.to_string()),
            E::NodeExists => ZkError::NodeExists(path.to_string()),
            E::BadVersion => ZkError::BadVersion(path.to_string()),
            E::NotEmpty => ZkError::NotEmpty(path.to_string()),
            E::SessionExpired => ZkError::SessionExpired,
            other => ZkError::Other { path: path.to_string(), source: other },
        }
    }

    /// A decoding failure of the data at `path`.
    pub fn malformed(path: &str, reason: impl std::fmt::Display) -> ZkError {
        ZkError::Malformed { path: path.to_string(), reason: reason.to_string() }
    }
}

/// Result alias for this crate.
pub type Result<T, E = ZkError> = std::result::Result<T, E>;
