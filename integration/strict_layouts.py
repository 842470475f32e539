"""Request and response layouts (see strictwire.py) at the newest version this broker serves.

Written from the protocol description of each API; in responses ``?`` marks fields Kafka 2.8 does
send as null (error messages when there is no error, sensitive config values, a DescribeConfigs
documentation that was not asked for, a JoinGroup/SyncGroup protocol before one is chosen, a
static member's instance id, aborted transactions under read_uncommitted) and ``!`` marks the
nullable fields Kafka always fills (Fetch records, CreateTopics configs, Metadata cluster id,
OffsetFetch metadata).
"""

I32S = ("arr", "i32")
STRS = ("arr", "str")

# api key -> (version, request layout, response layout)
API = {}


def api(key, version, req, resp):
    API[key] = (version, req, resp)


# --- Produce (0) v9
api(0, 9, [("transactional_id?", "str"), ("acks", "i16"), ("timeout_ms", "i32"),
           ("topics", ("arr", [("name", "str"), ("partitions", ("arr", [("index", "i32"), ("records", "records")]))]))],
    [("responses", ("arr", [("name", "str"), ("partitions", ("arr", [
        ("index", "i32"), ("error_code", "i16"), ("base_offset", "i64"), ("log_append_time_ms", "i64"),
        ("log_start_offset", "i64"),
        ("record_errors", ("arr", [("batch_index", "i32"), ("batch_index_error_message?", "str")])),
        ("error_message?", "str")]))])),
     ("throttle_time_ms", "i32")])

# --- Fetch (1) v12
api(1, 12, [("replica_id", "i32"), ("max_wait_ms", "i32"), ("min_bytes", "i32"), ("max_bytes", "i32"),
            ("isolation_level", "i8"), ("session_id", "i32"), ("session_epoch", "i32"),
            ("topics", ("arr", [("topic", "str"), ("partitions", ("arr", [
                ("partition", "i32"), ("current_leader_epoch", "i32"), ("fetch_offset", "i64"),
                ("last_fetched_epoch", "i32"), ("log_start_offset", "i64"), ("partition_max_bytes", "i32")]))])),
            ("forgotten", ("arr", [("topic", "str"), ("partitions", I32S)])), ("rack_id", "str")],
    [("throttle_time_ms", "i32"), ("error_code", "i16"), ("session_id", "i32"),
     ("responses", ("arr", [("topic", "str"), ("partitions", ("arr", [
         ("partition", "i32"), ("error_code", "i16"), ("high_watermark", "i64"), ("last_stable_offset", "i64"),
         ("log_start_offset", "i64"),
         ("aborted_transactions?", ("arr", [("producer_id", "i64"), ("first_offset", "i64")])),
         ("preferred_read_replica", "i32"), ("records!", "records")]))]))])

# --- ListOffsets (2) v6
api(2, 6, [("replica_id", "i32"), ("isolation_level", "i8"),
           ("topics", ("arr", [("name", "str"), ("partitions", ("arr", [
               ("partition_index", "i32"), ("current_leader_epoch", "i32"), ("timestamp", "i64")]))]))],
    [("throttle_time_ms", "i32"),
     ("topics", ("arr", [("name", "str"), ("partitions", ("arr", [
         ("partition_index", "i32"), ("error_code", "i16"), ("timestamp", "i64"), ("offset", "i64"),
         ("leader_epoch", "i32")]))]))])

# --- Metadata (3) v11
api(3, 11, [("topics", ("arr", [("topic_id", "uuid"), ("name", "str")])), ("allow_auto_topic_creation", "bool"),
            ("include_topic_authorized_operations", "bool")],
    [("throttle_time_ms", "i32"),
     ("brokers", ("arr", [("node_id", "i32"), ("host", "str"), ("port", "i32"), ("rack?", "str")])),
     ("cluster_id!", "str"), ("controller_id", "i32"),
     ("topics", ("arr", [("error_code", "i16"), ("name", "str"), ("topic_id", "uuid"), ("is_internal", "bool"),
                         ("partitions", ("arr", [
                             ("error_code", "i16"), ("partition_index", "i32"), ("leader_id", "i32"),
                             ("leader_epoch", "i32"), ("replica_nodes", I32S), ("isr_nodes", I32S),
                             ("offline_replicas", I32S)])),
                         ("topic_authorized_operations", "i32")]))])

# --- OffsetCommit (8) v8
api(8, 8, [("group_id", "str"), ("generation_id", "i32"), ("member_id", "str"), ("group_instance_id?", "str"),
           ("topics", ("arr", [("name", "str"), ("partitions", ("arr", [
               ("partition_index", "i32"), ("committed_offset", "i64"), ("committed_leader_epoch", "i32"),
               ("committed_metadata?", "str")]))]))],
    [("throttle_time_ms", "i32"),
     ("topics", ("arr", [("name", "str"), ("partitions", ("arr", [("partition_index", "i32"), ("error_code", "i16")]))]))])

# --- OffsetFetch (9) v7
api(9, 7, [("group_id", "str"), ("topics?", ("arr", [("name", "str"), ("partition_indexes", I32S)])),
           ("require_stable", "bool")],
    [("throttle_time_ms", "i32"),
     ("topics", ("arr", [("name", "str"), ("partitions", ("arr", [
         ("partition_index", "i32"), ("committed_offset", "i64"), ("committed_leader_epoch", "i32"),
         ("metadata!", "str"), ("error_code", "i16")]))])),
     ("error_code", "i16")])

# --- FindCoordinator (10) v4
api(10, 4, [("key_type", "i8"), ("coordinator_keys", STRS)],
    [("throttle_time_ms", "i32"),
     ("coordinators", ("arr", [("key", "str"), ("node_id", "i32"), ("host", "str"), ("port", "i32"),
                               ("error_code", "i16"), ("error_message?", "str")]))])

# --- JoinGroup (11) v7
api(11, 7, [("group_id", "str"), ("session_timeout_ms", "i32"), ("rebalance_timeout_ms", "i32"), ("member_id", "str"),
            ("group_instance_id?", "str"), ("protocol_type", "str"),
            ("protocols", ("arr", [("name", "str"), ("metadata", "bytes")]))],
    [("throttle_time_ms", "i32"), ("error_code", "i16"), ("generation_id", "i32"), ("protocol_type?", "str"),
     ("protocol_name?", "str"), ("leader", "str"), ("member_id", "str"),
     ("members", ("arr", [("member_id", "str"), ("group_instance_id?", "str"), ("metadata", "bytes")]))])

# --- Heartbeat (12) v4
api(12, 4, [("group_id", "str"), ("generation_id", "i32"), ("member_id", "str"), ("group_instance_id?", "str")],
    [("throttle_time_ms", "i32"), ("error_code", "i16")])

# --- LeaveGroup (13) v4
api(13, 4, [("group_id", "str"), ("members", ("arr", [("member_id", "str"), ("group_instance_id?", "str")]))],
    [("throttle_time_ms", "i32"), ("error_code", "i16"),
     ("members", ("arr", [("member_id", "str"), ("group_instance_id?", "str"), ("error_code", "i16")]))])

# --- SyncGroup (14) v5
api(14, 5, [("group_id", "str"), ("generation_id", "i32"), ("member_id", "str"), ("group_instance_id?", "str"),
            ("protocol_type?", "str"), ("protocol_name?", "str"),
            ("assignments", ("arr", [("member_id", "str"), ("assignment", "bytes")]))],
    [("throttle_time_ms", "i32"), ("error_code", "i16"), ("protocol_type?", "str"), ("protocol_name?", "str"),
     ("assignment", "bytes")])

# --- DescribeGroups (15) v5
api(15, 5, [("groups", STRS), ("include_authorized_operations", "bool")],
    [("throttle_time_ms", "i32"),
     ("groups", ("arr", [("error_code", "i16"), ("group_id", "str"), ("group_state", "str"), ("protocol_type", "str"),
                         ("protocol_data", "str"),
                         ("members", ("arr", [("member_id", "str"), ("group_instance_id?", "str"), ("client_id", "str"),
                                              ("client_host", "str"), ("member_metadata", "bytes"),
                                              ("member_assignment", "bytes")])),
                         ("authorized_operations", "i32")]))])

# --- ListGroups (16) v4
api(16, 4, [("states_filter", STRS)],
    [("throttle_time_ms", "i32"), ("error_code", "i16"),
     ("groups", ("arr", [("group_id", "str"), ("protocol_type", "str"), ("group_state", "str")]))])

# --- ApiVersions (18) v3 (its response header has no tagged fields)
api(18, 3, [("client_software_name", "str"), ("client_software_version", "str")],
    [("error_code", "i16"), ("api_keys", ("arr", [("api_key", "i16"), ("min_version", "i16"), ("max_version", "i16")])),
     ("throttle_time_ms", "i32")])

_CONFIG_RESULT = [("name", "str"), ("value?", "str"), ("read_only", "bool"), ("config_source", "i8"),
                  ("is_sensitive", "bool")]

# --- CreateTopics (19) v7
api(19, 7, [("topics", ("arr", [("name", "str"), ("num_partitions", "i32"), ("replication_factor", "i16"),
                                ("assignments", ("arr", [("partition_index", "i32"), ("broker_ids", I32S)])),
                                ("configs", ("arr", [("name", "str"), ("value?", "str")]))])),
            ("timeout_ms", "i32"), ("validate_only", "bool")],
    [("throttle_time_ms", "i32"),
     ("topics", ("arr", [("name", "str"), ("topic_id", "uuid"), ("error_code", "i16"), ("error_message?", "str"),
                         ("num_partitions", "i32"), ("replication_factor", "i16"),
                         ("configs!", ("arr", _CONFIG_RESULT))]))])

# --- DeleteTopics (20) v6 (a name is null only for a topic id that does not exist)
api(20, 6, [("topics", ("arr", [("name?", "str"), ("topic_id", "uuid")])), ("timeout_ms", "i32")],
    [("throttle_time_ms", "i32"),
     ("responses", ("arr", [("name?", "str"), ("topic_id", "uuid"), ("error_code", "i16"), ("error_message?", "str")]))])

# --- DescribeConfigs (32) v4
api(32, 4, [("resources", ("arr", [("resource_type", "i8"), ("resource_name", "str"), ("configuration_keys?", STRS)])),
            ("include_synonyms", "bool"), ("include_documentation", "bool")],
    [("throttle_time_ms", "i32"),
     ("results", ("arr", [("error_code", "i16"), ("error_message?", "str"), ("resource_type", "i8"),
                          ("resource_name", "str"),
                          ("configs", ("arr", [("name", "str"), ("value?", "str"), ("read_only", "bool"),
                                               ("config_source", "i8"), ("is_sensitive", "bool"),
                                               ("synonyms", ("arr", [("name", "str"), ("value?", "str"), ("source", "i8")])),
                                               ("config_type", "i8"), ("documentation?", "str")]))]))])

# --- AlterConfigs (33) v2
api(33, 2, [("resources", ("arr", [("resource_type", "i8"), ("resource_name", "str"),
                                   ("configs", ("arr", [("name", "str"), ("value?", "str")]))])),
            ("validate_only", "bool")],
    [("throttle_time_ms", "i32"),
     ("responses", ("arr", [("error_code", "i16"), ("error_message?", "str"), ("resource_type", "i8"),
                            ("resource_name", "str")]))])

# --- CreatePartitions (37) v3
api(37, 3, [("topics", ("arr", [("name", "str"), ("count", "i32"), ("assignments?", ("arr", [("broker_ids", I32S)]))])),
            ("timeout_ms", "i32"), ("validate_only", "bool")],
    [("throttle_time_ms", "i32"),
     ("results", ("arr", [("name", "str"), ("error_code", "i16"), ("error_message?", "str")]))])

# --- DeleteGroups (42) v2
api(42, 2, [("groups_names", STRS)],
    [("throttle_time_ms", "i32"), ("results", ("arr", [("group_id", "str"), ("error_code", "i16")]))])

# --- ElectLeaders (43) v2
api(43, 2, [("election_type", "i8"), ("topic_partitions?", ("arr", [("topic", "str"), ("partition_id", I32S)])),
            ("timeout_ms", "i32")],
    [("throttle_time_ms", "i32"), ("error_code", "i16"),
     ("replica_election_results", ("arr", [("topic", "str"), ("partition_result", ("arr", [
         ("partition_id", "i32"), ("error_code", "i16"), ("error_message?", "str")]))]))])

# --- AlterPartitionReassignments (45) v0
api(45, 0, [("timeout_ms", "i32"),
            ("topics", ("arr", [("name", "str"), ("partitions", ("arr", [("partition_index", "i32"),
                                                                         ("replicas?", I32S)]))]))],
    [("throttle_time_ms", "i32"), ("error_code", "i16"), ("error_message?", "str"),
     ("responses", ("arr", [("name", "str"), ("partitions", ("arr", [
         ("partition_index", "i32"), ("error_code", "i16"), ("error_message?", "str")]))]))])

# --- ListPartitionReassignments (46) v0
api(46, 0, [("timeout_ms", "i32"), ("topics?", ("arr", [("name", "str"), ("partition_indexes", I32S)]))],
    [("throttle_time_ms", "i32"), ("error_code", "i16"), ("error_message?", "str"),
     ("topics", ("arr", [("name", "str"), ("partitions", ("arr", [
         ("partition_index", "i32"), ("replicas", I32S), ("adding_replicas", I32S), ("removing_replicas", I32S)]))]))])

# --- OffsetForLeaderEpoch (23) v4
api(23, 4, [("replica_id", "i32"),
            ("topics", ("arr", [("topic", "str"), ("partitions", ("arr", [
                ("partition", "i32"), ("current_leader_epoch", "i32"), ("leader_epoch", "i32")]))]))],
    [("throttle_time_ms", "i32"),
     ("topics", ("arr", [("topic", "str"), ("partitions", ("arr", [
         ("error_code", "i16"), ("partition", "i32"), ("leader_epoch", "i32"), ("end_offset", "i64")]))]))])

# --- OffsetDelete (47) v0 (not flexible)
api(47, 0, [("group_id", "str"), ("topics", ("arr", [("name", "str"), ("partitions", ("arr", [("partition_index", "i32")]))]))],
    [("error_code", "i16"), ("throttle_time_ms", "i32"),
     ("topics", ("arr", [("name", "str"), ("partitions", ("arr", [("partition_index", "i32"), ("error_code", "i16")]))]))])

# Versions that are not flexible.
NOT_FLEXIBLE = {47}
