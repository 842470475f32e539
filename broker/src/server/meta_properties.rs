//! `meta.properties` in every log dir: which broker and which cluster the data belongs to
//! (`version=0`, `broker.id`, `cluster.id` for ZooKeeper-mode brokers). It stops a broker from
//! starting on another broker's or another cluster's data.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::parse_properties;

/// File name inside each log dir.
pub const META_PROPERTIES: &str = "meta.properties";

/// The identity stored in a log dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerMetadata {
    pub broker_id: i32,
    pub cluster_id: Option<String>,
}

/// Read `meta.properties` of one dir: `Ok(None)` if absent.
pub fn read(dir: &Path) -> Result<Option<BrokerMetadata>, String> {
    read_checked(dir).map_err(|e| match e {
        MetaReadError::Io(m) | MetaReadError::Invalid(m) => m,
    })
}

/// Why `meta.properties` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetaReadError {
    /// The file system failed (the log dir is then offline, as in Kafka).
    #[error("{0}")]
    Io(String),
    /// The file is there but not a ZooKeeper-mode broker's (fatal).
    #[error("{0}")]
    Invalid(String),
}

fn read_checked(dir: &Path) -> Result<Option<BrokerMetadata>, MetaReadError> {
    let path = dir.join(META_PROPERTIES);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(MetaReadError::Io(format!("Failed to read {}: {e}", path.display()))),
    };
    parse(&path, &text).map_err(MetaReadError::Invalid)
}

fn parse(path: &Path, text: &str) -> Result<Option<BrokerMetadata>, String> {
    let props = parse_properties(text);
    let version = props.get("version").map(|v| v.trim().to_string());
    if version.as_deref() != Some("0") {
        return Err(format!(
            "{} has version {} but a ZooKeeper-mode broker requires version 0",
            path.display(),
            version.as_deref().unwrap_or("(missing)")
        ));
    }
    let broker_id = props
        .get("broker.id")
        .and_then(|v| v.trim().parse::<i32>().ok())
        .ok_or_else(|| format!("{} has no valid broker.id", path.display()))?;
    let cluster_id = props.get("cluster.id").map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    Ok(Some(BrokerMetadata { broker_id, cluster_id }))
}

/// Read every dir and check they agree; the common identity, if any dir has one.
pub fn read_all(dirs: &[PathBuf]) -> Result<Option<BrokerMetadata>, String> {
    read_all_with_offline(dirs).map(|(m, _)| m)
}

/// Dirs left out of [`read_all_with_offline`], with why: `(dir, reason)`.
pub type OfflineDirs = Vec<(PathBuf, String)>;

/// [`read_all`] where a dir whose file cannot be read (an I/O error) is left out and returned as
/// `(dir, reason)`: it is offline from the start (Kafka's `getBrokerMetadataAndOfflineDirs`).
pub fn read_all_with_offline(dirs: &[PathBuf]) -> Result<(Option<BrokerMetadata>, OfflineDirs), String> {
    let mut found: BTreeMap<String, BrokerMetadata> = BTreeMap::new();
    let mut offline = Vec::new();
    for dir in dirs {
        match read_checked(dir) {
            Ok(Some(m)) => {
                found.insert(dir.display().to_string(), m);
            }
            Ok(None) => {}
            Err(MetaReadError::Io(e)) => offline.push((dir.clone(), e)),
            Err(MetaReadError::Invalid(e)) => return Err(e),
        }
    }
    let mut distinct: Vec<&BrokerMetadata> = found.values().collect();
    distinct.dedup();
    if distinct.len() > 1 {
        let listing: Vec<String> = found
            .iter()
            .map(|(d, m)| format!("{d}: broker.id={}, cluster.id={}", m.broker_id, m.cluster_id.as_deref().unwrap_or("none")))
            .collect();
        return Err(format!(
            "BrokerMetadata is not consistent across log.dirs. This could happen if multiple brokers shared a log directory \
             (log.dirs) or partial data was manually copied from another broker. Found: {}",
            listing.join("; ")
        ));
    }
    Ok((distinct.first().map(|m| (*m).clone()), offline))
}

/// Write `meta.properties` atomically (temp file + rename) into `dir`.
pub fn write(dir: &Path, meta: &BrokerMetadata) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{META_PROPERTIES}.tmp"));
    let mut text = String::from("#\n#Written by the Kafka broker; do not edit while it runs.\n");
    if let Some(c) = &meta.cluster_id {
        text.push_str(&format!("cluster.id={c}\n"));
    }
    text.push_str("version=0\n");
    text.push_str(&format!("broker.id={}\n", meta.broker_id));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(META_PROPERTIES))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_consistency() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        assert_eq!(read_all(&dirs).unwrap(), None);
        let m = BrokerMetadata { broker_id: 3, cluster_id: Some("abc".into()) };
        write(a.path(), &m).unwrap();
        assert_eq!(read_all(&dirs).unwrap(), Some(m.clone()));
        write(b.path(), &m).unwrap();
        assert_eq!(read_all(&dirs).unwrap(), Some(m.clone()));
        write(b.path(), &BrokerMetadata { broker_id: 4, cluster_id: Some("abc".into()) }).unwrap();
        assert!(read_all(&dirs).unwrap_err().contains("not consistent"));
    }

    #[test]
    fn reads_kafka_written_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join(META_PROPERTIES),
            "#\n#Fri Jun 11 10:00:00 UTC 2021\ncluster.id=Zk7Yf3Q2RkWl4nFv0XmQYw\nversion=0\nbroker.id=0\n",
        )
        .unwrap();
        assert_eq!(
            read(d.path()).unwrap(),
            Some(BrokerMetadata { broker_id: 0, cluster_id: Some("Zk7Yf3Q2RkWl4nFv0XmQYw".into()) })
        );
        std::fs::write(d.path().join(META_PROPERTIES), "version=1\nnode.id=1\n").unwrap();
        assert!(read(d.path()).is_err());
    }
}
