"""The admin APIs through a real AdminClient (librdkafka): CreateTopics, DescribeConfigs,
AlterConfigs, CreatePartitions, DeleteTopics, and their Kafka error codes."""

from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewPartitions, NewTopic

from harness import wait_until


def admin(cluster):
    # librdkafka's AdminClient waits for a controller from Metadata and does not ask again soon if the
    # first answer has none, which happens when it connects right after the broker registered
    # (before the controller's first UpdateMetadata). Start from a broker that knows the cluster.
    cluster.wait_for_metadata()
    return AdminClient({"bootstrap.servers": cluster.bootstrap, "broker.address.family": "v4"})


def _result(futures, key):
    return futures[key].result(timeout=60)


def _error(futures, key):
    try:
        futures[key].result(timeout=60)
    except Exception as e:  # noqa: BLE001 - the KafkaException carries the KafkaError
        return e.args[0]
    return None


def test_create_describe_alter_partitions_delete(cluster):
    a = admin(cluster)
    topic = "admin-api"
    fs = a.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1,
                                   config={"retention.ms": "123456789"})], operation_timeout=30)
    assert _result(fs, topic) is None
    cluster.wait_for_leaders(topic, 2)
    assert cluster.zk.get_json(f"/brokers/topics/{topic}")["partitions"] == {"0": [1], "1": [1]}

    # the same name again: TOPIC_ALREADY_EXISTS (36)
    fs = a.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    assert _error(fs, topic).code() == KafkaError.TOPIC_ALREADY_EXISTS
    # more replicas than brokers: INVALID_REPLICATION_FACTOR (38)
    fs = a.create_topics([NewTopic("admin-rf3", num_partitions=1, replication_factor=3)])
    assert _error(fs, "admin-rf3").code() == KafkaError.INVALID_REPLICATION_FACTOR

    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    configs = _result(a.describe_configs([res]), res)
    assert configs["retention.ms"].value == "123456789"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["cleanup.policy"].value == "delete"
    assert configs["cleanup.policy"].source == ConfigSource.DEFAULT_CONFIG.value

    # AlterConfigs replaces the whole set of overrides
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"max.message.bytes": "64000"})
    assert _result(a.alter_configs([res]), res) is None
    assert cluster.zk.get_json(f"/config/topics/{topic}")["config"] == {"max.message.bytes": "64000"}
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    configs = _result(a.describe_configs([res]), res)
    assert configs["max.message.bytes"].value == "64000"
    assert configs["max.message.bytes"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    # no longer overridden: back to the broker's value (log.retention.hours=168 in server.properties)
    assert configs["retention.ms"].source != ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["retention.ms"].value == "604800000"

    fs = a.create_partitions([NewPartitions(topic, 4)])
    assert _result(fs, topic) is None
    cluster.wait_for_leaders(topic, 4)
    assert len(cluster.zk.get_json(f"/brokers/topics/{topic}")["partitions"]) == 4
    fs = a.create_partitions([NewPartitions(topic, 2)])  # fewer than now: INVALID_PARTITIONS (37)
    assert _error(fs, topic).code() == KafkaError.INVALID_PARTITIONS

    fs = a.delete_topics([topic], operation_timeout=30)
    assert _result(fs, topic) is None
    wait_until(lambda: not cluster.zk.exists(f"/brokers/topics/{topic}"), 60, f"{topic} to be deleted")
    fs = a.delete_topics(["no-such-topic"])
    assert _error(fs, "no-such-topic").code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_describe_unknown_topic(cluster):
    a = admin(cluster)
    res = ConfigResource(ConfigResource.Type.TOPIC, "never-created")
    err = _error(a.describe_configs([res]), res)
    assert err is not None and err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
