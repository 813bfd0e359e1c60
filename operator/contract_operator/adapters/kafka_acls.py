"""Every Kafka operation the operator performs, as ACLs: the one list a cluster admin grants.

The broker adapter (adapters/broker.py) makes exactly these requests; the integration suite
runs the operator under a principal holding only these ACLs on a real Kafka cluster with an
authorizer, and once more per ACL without it, to prove each is needed
(tests/integration/test_kafka_acls.py). A new broker request needs an entry here first.

    python -m contract_operator.adapters.kafka_acls print --principal User:contract-operator
    python -m contract_operator.adapters.kafka_acls grant --bootstrap-servers HOST:PORT \\
        --principal User:contract-operator

`print` gives the `kafka-acls.sh` command lines; `grant` creates the ACLs with an AdminClient
(the connection must be allowed to alter ACLs, e.g. a super user's).
"""

from __future__ import annotations

import argparse
import sys
from typing import NamedTuple

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)


class Acl(NamedTuple):
    resource_type: str  # "TOPIC" | "CLUSTER" | "GROUP"
    name: str  # "*" for every resource of that type; "kafka-cluster" for the cluster
    operation: str  # an AclOperation name
    why: str


OPERATOR_ACLS: tuple[Acl, ...] = (
    # Broker.describe / end_offsets: one Metadata request lists every topic the principal may
    # describe, with partitions and replicas; ListOffsets (report's end offsets) needs it too.
    Acl("TOPIC", "*", "DESCRIBE", "list topics, their partitions and replicas"),
    # Broker._describe_batch: the declared config keys of each topic.
    Acl("TOPIC", "*", "DESCRIBE_CONFIGS", "read the declared configs to report drift"),
    # Broker.create_missing: CreateTopics, the only write. Never ALTER, ALTER_CONFIGS or DELETE.
    Acl("TOPIC", "*", "CREATE", "create missing topics"),
    # Broker.cluster_settings: default.replication.factor and auto.create.topics.enable, for
    # the min.insync.replicas and auto-create warnings (once at start, then hourly).
    Acl("CLUSTER", "kafka-cluster", "DESCRIBE_CONFIGS", "read the cluster's topic defaults"),
)

# `contract-operator adopt` is run by a person or CI, not by the operator: its principal reads
# topics and consumer groups and never creates anything (tests/integration/test_adopt.py runs
# it holding only these, and once without the GROUP entry).
ADOPT_ACLS: tuple[Acl, ...] = (
    # Broker.describe: Metadata (partitions, replicas), DescribeTopicPartitions (topic ids).
    Acl("TOPIC", "*", "DESCRIBE", "list topics, their partitions and replicas"),
    # Broker._describe_batch: the configs set on each topic, declared as they are.
    Acl("TOPIC", "*", "DESCRIBE_CONFIGS", "read the configs set on each topic"),
    # Broker.consumer_groups: ListGroups lists only the groups the principal may describe;
    # DescribeGroups (assignments) and OffsetFetch (committed offsets) need it per group.
    Acl("GROUP", "*", "DESCRIBE", "list consumer groups, their members and committed offsets"),
)


def bindings(principal: str, acls: tuple[Acl, ...] = OPERATOR_ACLS) -> list[AclBinding]:
    """The AdminClient's bindings for `acls`, allowed to `principal` from any host."""
    return [
        AclBinding(
            # Kafka's CLUSTER resource is librdkafka's BROKER resource type.
            ResourceType.BROKER if a.resource_type == "CLUSTER" else ResourceType[a.resource_type],
            a.name,
            ResourcePatternType.LITERAL,
            principal,
            "*",
            AclOperation[a.operation],
            AclPermissionType.ALLOW,
        )
        for a in acls
    ]


def kafka_acls_commands(principal: str, acls: tuple[Acl, ...] = OPERATOR_ACLS) -> list[str]:
    """The same grants as `kafka-acls.sh` command lines, for a cluster admin's runbook."""
    out = []
    for a in acls:
        target = (
            "--cluster"
            if a.resource_type == "CLUSTER"
            else (f"--{a.resource_type.lower()} '{a.name}'")
        )
        op = "".join(word.capitalize() for word in a.operation.split("_"))  # DescribeConfigs
        out.append(
            "kafka-acls.sh --bootstrap-server BROKER --command-config admin.properties "
            f"--add --allow-principal {principal} --operation {op} {target}"
        )
    return out


def grant(admin: AdminClient, principal: str, acls: tuple[Acl, ...] = OPERATOR_ACLS) -> None:
    """Create the ACLs and wait for the broker's answer; raise on the first refusal."""
    for future in admin.create_acls(bindings(principal, acls), request_timeout=30).values():
        future.result(timeout=35)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m contract_operator.adapters.kafka_acls",
        description="The Kafka ACLs the operator's principal needs: print or grant them.",
    )
    parser.add_argument("action", choices=("print", "grant"))
    parser.add_argument("--principal", default="User:contract-operator")
    parser.add_argument(
        "--for",
        dest="who",
        choices=("operator", "adopt"),
        default="operator",
        help="the operator's ACLs (default) or those `contract-operator adopt` needs",
    )
    parser.add_argument("--bootstrap-servers", help="for grant: an admin-capable listener")
    args = parser.parse_args(argv)
    acls = ADOPT_ACLS if args.who == "adopt" else OPERATOR_ACLS
    if args.action == "print":
        print("\n".join(kafka_acls_commands(args.principal, acls)))
        return 0
    if not args.bootstrap_servers:
        parser.error("grant needs --bootstrap-servers")
    admin = AdminClient({"bootstrap.servers": args.bootstrap_servers, "log_level": 0})
    grant(admin, args.principal, acls)
    print(f"granted {len(acls)} ACLs to {args.principal}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
