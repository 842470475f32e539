//! Leader election tools.
//!
//! * [`preferred`] — `kafka-preferred-replica-election` (`--zookeeper` writes
//!   `/admin/preferred_replica_election`; `--bootstrap-server` sends ElectLeaders);
//! * [`leader`] — `kafka-leader-election` (ElectLeaders, preferred or unclean, to the controller);
//! * [`client`] — the ElectLeaders exchange (ApiVersions, Metadata for the controller id,
//!   ElectLeaders v0–v2, NOT_CONTROLLER retries, overall timeout);
//! * [`json`] — the partition-list file both tools read.

pub mod client;
pub mod json;
pub mod leader;
pub mod preferred;

use crate::reassign::json::Tp;

/// Java class of Kafka's `AdminOperationException`.
pub const ADMIN_OPERATION: &str = "kafka.admin.AdminOperationException";
/// Java class of Kafka's `AdminCommandFailedException`.
pub const ADMIN_COMMAND_FAILED: &str = "kafka.common.AdminCommandFailedException";

/// The first line the JVM prints for an exception that escapes `main`.
pub fn uncaught(class: &str, message: &str) -> String {
    format!("Exception in thread \"main\" {class}: {message}")
}

/// Read a file named on the command line; a missing file reads like Java's
/// `NoSuchFileException` escaping `main`.
pub fn read_file(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => uncaught("java.nio.file.NoSuchFileException", path),
        _ => uncaught("java.io.IOException", &format!("{path}: {e}")),
    })
}

/// Partitions sorted by topic, then partition number.
pub fn sorted_tps(mut tps: Vec<Tp>) -> Vec<Tp> {
    tps.sort();
    tps.dedup();
    tps
}
