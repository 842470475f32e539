//! Typed controller errors.

use zk_schema::ZkError;

/// Why a controller operation failed. `ControllerMoved` is special: the event loop answers it by
/// re-reading `/controller` and resigning (Kafka's `maybeResign`).
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// A fenced write found a newer `/controller_epoch`: another broker is the controller now.
    #[error("controller moved to another broker")]
    ControllerMoved,
    /// ZooKeeper failed (connection loss, malformed data, ...).
    #[error(transparent)]
    Zk(ZkError),
    /// The request batch was used wrongly (Kafka's `IllegalStateException` in `newBatch`).
    #[error("illegal state: {0}")]
    IllegalState(String),
}

impl From<ZkError> for ControllerError {
    fn from(e: ZkError) -> Self {
        match e {
            ZkError::ControllerMoved => ControllerError::ControllerMoved,
            other => ControllerError::Zk(other),
        }
    }
}

/// Result alias for controller operations.
pub type Result<T, E = ControllerError> = std::result::Result<T, E>;
