"""Every size and range a contract may use, in one place: the CRD schema and the model share them.

tests/unit/test_crd_model_agree.py fails when crds/nodecontract.yaml (or the chart's copy)
carries another value than this module. Each maximum is one that the Kafka client library and
the brokers accept, so a value admitted here can always be turned into a create request.
"""

from __future__ import annotations

# Kafka-legal topic names are 1-249 characters (Kafka's own limit).
TOPIC_NAME_MAX_LENGTH = 249
# A node is a Kubernetes-style DNS label, so it can also name the NodeContract.
NODE_MAX_LENGTH = 63

MIN_PARTITIONS = 1
# librdkafka's NewTopic refuses num_partitions outside 1..100000 before anything is sent.
MAX_PARTITIONS = 100_000

MIN_REPLICATION_FACTOR = 1
# librdkafka accepts up to 10000, but a topic can never have more replicas than the cluster has
# brokers, and no real cluster keeps more than a handful of copies (Redpanda and Kafka guides stop
# at 5 or 7). 32 leaves ample room for large clusters and still turns a typo such as 300 or
# 1000000000 into an admission error instead of a create the broker refuses on every cycle.
MAX_REPLICATION_FACTOR = 32

# Config entries per topic: Kafka defines about 35 topic configs, Redpanda about 25 more.
MAX_CONFIG_ENTRIES = 100
# A config value travels as a Kafka protocol string (at most 32767 bytes); no topic config needs
# more than a few hundred characters, and the whole object must fit in etcd (1.5 MiB).
MAX_CONFIG_VALUE_LENGTH = 4096

MAX_PUBLISH_TOPICS = 1000
MAX_SUBSCRIBE_TOPICS = 1000

# Why each range exists, for error messages that name the limit.
WHY = {
    "partitions": f"the Kafka client accepts {MIN_PARTITIONS} to {MAX_PARTITIONS} partitions",
    "replication_factor": (
        f"a topic keeps {MIN_REPLICATION_FACTOR} to {MAX_REPLICATION_FACTOR} copies, "
        "never more than the cluster has brokers"
    ),
    "config": f"a topic takes at most {MAX_CONFIG_ENTRIES} config entries",
    "config_value": f"a config value is at most {MAX_CONFIG_VALUE_LENGTH} characters",
    "publish_topics": f"a contract publishes at most {MAX_PUBLISH_TOPICS} topics",
    "subscribe_topics": f"a contract subscribes to at most {MAX_SUBSCRIBE_TOPICS} topics",
}

# Files the loader reads (not part of the CRD): one contract file is small, and a YAML
# document may not grow through aliases far beyond what is written in it.
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ALIAS_EXPANSION = 100_000
