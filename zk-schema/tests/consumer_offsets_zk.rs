//! Legacy consumer offsets (`/consumers/<group>/offsets/<topic>/<partition>`) against a real Apache
//! ZooKeeper (Debian's package, on the first free port of 23191–23199 with a throw-away data dir).
//! Skipped with a message when Java or the ZooKeeper jars are missing.

use std::time::{Duration, Instant};

use zk_schema::{paths, KafkaZkClient, ZkError};
use zk_testkit::ZooKeeper;

const PORTS: std::ops::RangeInclusive<u16> = 23191..=23199;

async fn connect(connect: &str) -> KafkaZkClient {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match KafkaZkClient::connect(connect, Duration::from_secs(6), Duration::from_secs(3)).await {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for ZooKeeper: {e}");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => panic!("ZooKeeper did not come up: {e}"),
        }
    }
}

#[tokio::test]
async fn consumer_offsets_are_created_overwritten_and_read_as_decimal_text() {
    let server = match ZooKeeper::builder("zk-consumer-offsets").ports(PORTS).tick_time_ms(500).start() {
        Ok(s) => s,
        Err(reason) => {
            eprintln!("skipping the ZooKeeper test: {reason}");
            return;
        }
    };
    // Under a chroot, as brokers usually run.
    let zk = connect(&format!("{}/kafka", server.connect_string())).await;

    assert_eq!(zk.get_consumer_offset("g", "t", 0).await.unwrap(), None);

    // First commit creates /consumers/g/offsets/t/0 and every missing parent.
    zk.set_consumer_offset("g", "t", 0, 42).await.unwrap();
    assert_eq!(zk.get_consumer_offset("g", "t", 0).await.unwrap(), Some(42));
    let (data, _) = zk.get_data("/consumers/g/offsets/t/0").await.unwrap().expect("node exists");
    assert_eq!(data, b"42");

    // Later commits overwrite; other partitions and groups are separate nodes.
    zk.set_consumer_offset("g", "t", 0, 1000).await.unwrap();
    zk.set_consumer_offset("g", "t", 1, -1).await.unwrap();
    zk.set_consumer_offset("other", "t", 0, 5).await.unwrap();
    assert_eq!(zk.get_consumer_offset("g", "t", 0).await.unwrap(), Some(1000));
    assert_eq!(zk.get_consumer_offset("g", "t", 1).await.unwrap(), Some(-1));
    assert_eq!(zk.get_consumer_offset("other", "t", 0).await.unwrap(), Some(5));
    assert_eq!(zk.get_consumer_offset("g", "u", 0).await.unwrap(), None);
    let mut partitions = zk.get_children("/consumers/g/offsets/t").await.unwrap();
    partitions.sort();
    assert_eq!(partitions, ["0", "1"]);

    // The chroot holds it all: seen from the root the node is under /kafka.
    let root = connect(&server.connect_string()).await;
    let (data, _) = root.get_data("/kafka/consumers/g/offsets/t/0").await.unwrap().expect("under the chroot");
    assert_eq!(data, b"1000");

    // What Kafka cannot parse is reported, not turned into an offset.
    root.set_data(&format!("/kafka{}", paths::consumer_offset("g", "t", 1)), b"not-a-number", None).await.unwrap();
    assert!(matches!(zk.get_consumer_offset("g", "t", 1).await, Err(ZkError::Malformed { .. })));
}
