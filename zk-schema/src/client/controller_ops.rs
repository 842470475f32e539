//! Controller election and controller-epoch-fenced writes (spec §1.5).

use zookeeper_client as zk;

use super::{ephemeral, persistent, KafkaZkClient, ZkStat};
use crate::error::{Result, ZkError};
use crate::model::{ControllerEpoch, ControllerZNode};
use crate::paths;

/// One operation of a fenced multi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkOp {
    /// Create a persistent node.
    Create { path: String, data: Vec<u8> },
    /// Set data, conditional on `version` unless `None`.
    SetData { path: String, data: Vec<u8>, version: Option<i32> },
    /// Delete, conditional on `version` unless `None`.
    Delete { path: String, version: Option<i32> },
}

impl ZkOp {
    /// The path this op touches.
    pub fn path(&self) -> &str {
        match self {
            ZkOp::Create { path, .. } | ZkOp::SetData { path, .. } | ZkOp::Delete { path, .. } => path,
        }
    }
}

impl KafkaZkClient {
    /// The broker id in `/controller`, if any.
    pub async fn get_controller_id(&self) -> Result<Option<i32>> {
        match self.get_data(paths::CONTROLLER).await? {
            Some((data, _)) => Ok(Some(ControllerZNode::decode(&data)?.brokerid)),
            None => Ok(None),
        }
    }

    /// `/controller_epoch` value and zkVersion, `None` if absent.
    pub async fn get_controller_epoch(&self) -> Result<Option<ControllerEpoch>> {
        match self.get_data(paths::CONTROLLER_EPOCH).await? {
            Some((data, stat)) => Ok(Some(ControllerEpoch {
                epoch: ControllerEpoch::decode_epoch(&data)?,
                zk_version: stat.version,
            })),
            None => Ok(None),
        }
    }

    /// Try to become controller: one multi of `create /controller (ephemeral)` and
    /// `setData /controller_epoch = E+1 expecting V`. Returns the new epoch and its zkVersion, or
    /// `ControllerMoved` when another broker won. A lost response is resolved by re-reading, as Kafka does.
    pub async fn register_controller_and_increment_epoch(&self, broker_id: i32, now_ms: i64) -> Result<ControllerEpoch> {
        let current = match self.get_controller_epoch().await? {
            Some(e) => e,
            None => {
                match self.create_persistent(paths::CONTROLLER_EPOCH, &ControllerEpoch::encode(0)).await {
                    Ok(()) | Err(ZkError::NodeExists(_)) => {}
                    Err(e) => return Err(e),
                }
                self.get_controller_epoch()
                    .await?
                    .ok_or_else(|| ZkError::malformed(paths::CONTROLLER_EPOCH, "vanished right after creation"))?
            }
        };
        let new_epoch = current.epoch + 1;
        let client = self.raw().await;
        let data = ControllerZNode::new(broker_id, now_ms).encode();
        let epoch_data = ControllerEpoch::encode(new_epoch);
        let mut multi = client.new_multi_writer();
        multi.add_create(paths::CONTROLLER, &data, &ephemeral()).map_err(|e| ZkError::from_zk(paths::CONTROLLER, e))?;
        multi
            .add_set_data(paths::CONTROLLER_EPOCH, &epoch_data, Some(current.zk_version))
            .map_err(|e| ZkError::from_zk(paths::CONTROLLER_EPOCH, e))?;
        match multi.commit().await {
            Ok(results) => {
                let stat = results
                    .into_iter()
                    .find_map(|r| match r {
                        zk::MultiWriteResult::SetData { stat } => Some(stat),
                        _ => None,
                    })
                    .ok_or_else(|| ZkError::malformed(paths::CONTROLLER_EPOCH, "multi returned no set result"))?;
                Ok(ControllerEpoch { epoch: new_epoch, zk_version: stat.version })
            }
            Err(zk::MultiWriteError::OperationFailed { source: zk::Error::NodeExists | zk::Error::BadVersion, .. }) => {
                // Either someone else won, or we won and lost the response: check both nodes.
                let owner = self.get_controller_id().await?;
                let epoch = self.get_controller_epoch().await?;
                match (owner, epoch) {
                    (Some(id), Some(e)) if id == broker_id && e.epoch == new_epoch => Ok(e),
                    _ => Err(ZkError::ControllerMoved),
                }
            }
            Err(e) => Err(ZkError::from_zk(paths::CONTROLLER, e.into())),
        }
    }

    /// Run `ops` atomically, fenced by `check(/controller_epoch, epoch_zk_version)` as the first op.
    /// A failed check is `ControllerMoved` (the caller must resign); a failure of op `i` is reported as
    /// the error of the whole batch naming that op's path (nothing was applied).
    pub async fn fenced_multi(&self, epoch_zk_version: i32, ops: &[ZkOp]) -> Result<Vec<Option<ZkStat>>> {
        let client = self.raw().await;
        let mut multi = client.new_multi_writer();
        let add_err = |p: &str, e| ZkError::from_zk(p, e);
        multi
            .add_check_version(paths::CONTROLLER_EPOCH, epoch_zk_version)
            .map_err(|e| add_err(paths::CONTROLLER_EPOCH, e))?;
        for op in ops {
            match op {
                ZkOp::Create { path, data } => multi.add_create(path, data, &persistent()),
                ZkOp::SetData { path, data, version } => multi.add_set_data(path, data, *version),
                ZkOp::Delete { path, version } => multi.add_delete(path, *version),
            }
            .map_err(|e| add_err(op.path(), e))?;
        }
        match multi.commit().await {
            Ok(results) => Ok(results
                .into_iter()
                .skip(1)
                .map(|r| match r {
                    zk::MultiWriteResult::Create { stat, .. } | zk::MultiWriteResult::SetData { stat } => {
                        Some(ZkStat::from(&stat))
                    }
                    _ => None,
                })
                .collect()),
            Err(zk::MultiWriteError::OperationFailed { index: 0, .. }) => Err(ZkError::ControllerMoved),
            Err(zk::MultiWriteError::OperationFailed { index, source }) => {
                let path = ops.get(index - 1).map(|o| o.path()).unwrap_or(paths::CONTROLLER_EPOCH);
                Err(ZkError::from_zk(path, source))
            }
            Err(zk::MultiWriteError::RequestFailed { source }) => Err(ZkError::from_zk(paths::CONTROLLER_EPOCH, source)),
        }
    }

    /// Run many independent fenced single-op multis pipelined (one round trip for all), each op on its
    /// own so one BADVERSION does not fail the others (Kafka's batched partition-state updates).
    pub async fn fenced_each(&self, epoch_zk_version: i32, ops: &[ZkOp]) -> Vec<Result<Option<ZkStat>>> {
        let futures: Vec<_> = ops
            .iter()
            .map(|op| async move {
                self.fenced_multi(epoch_zk_version, std::slice::from_ref(op)).await.map(|mut v| v.pop().flatten())
            })
            .collect();
        futures::future::join_all(futures).await
    }

    /// Delete `/controller` only if it still names `broker_id` (forcing a new election after an error).
    pub async fn delete_controller_if_owner(&self, broker_id: i32) -> Result<()> {
        if let Some((data, stat)) = self.get_data(paths::CONTROLLER).await? {
            if ControllerZNode::decode(&data)?.brokerid == broker_id {
                return self.delete(paths::CONTROLLER, Some(stat.version)).await;
            }
        }
        Ok(())
    }
}
