#!/usr/bin/env python3
"""Seed a Kafka cluster with an unmanaged bus for the README's "Bring your existing bus":
topics of four services created by hand (with their own partitions, replication factors and
configs), a consumer's typo auto-created on the broker, a legacy topic outside the naming
rules, and consumer groups with committed offsets (nothing is consumed).

    eval "$(hack/testbed.sh up)" && .venv/bin/python hack/seed_unmanaged_bus.py
"""

from __future__ import annotations

import os
import sys

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

TOPICS = [
    ("onex.evt.checkout.order-placed.v1", 6, 3, {"retention.ms": "604800000"}),
    ("onex.cmd.checkout.reserve-stock.v1", 3, 3, {}),
    ("onex.evt.payments.payment-captured.v1", 6, 3, {"min.insync.replicas": "2"}),
    ("onex.snapshot.payments.balances.v1", 1, 3, {"cleanup.policy": "compact"}),
    ("onex.evt.shipping.parcel-shipped.v1", 3, 2, {"retention.ms": "259200000"}),
    ("onex.evt.payments.payment_captured.v1", 3, 3, {}),  # auto-created by a consumer's typo
    ("LegacyInvoices", 1, 1, {}),
]
GROUPS = {
    "payments-consumer": ["onex.evt.checkout.order-placed.v1"],
    "shipping-consumer": [
        "onex.evt.checkout.order-placed.v1",
        "onex.cmd.checkout.reserve-stock.v1",
    ],
    "emails-consumer": [
        "onex.evt.shipping.parcel-shipped.v1",
        "onex.evt.payments.payment_captured.v1",
    ],
    "checkout-consumer": ["onex.evt.payments.payment-captured.v1"],
    "bi-nightly-export": ["onex.evt.checkout.order-placed.v1", "LegacyInvoices"],
}


def main() -> int:
    bootstrap = os.environ["BOOTSTRAP_SERVERS"]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    requests = [NewTopic(n, p, rf, config=c) for n, p, rf, c in TOPICS]
    for future in admin.create_topics(requests).values():
        future.result(timeout=30)
    for group, topics in GROUPS.items():
        consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
        )
        consumer.commit(offsets=[TopicPartition(t, 0, 0) for t in topics], asynchronous=False)
        consumer.close()
    print(f"{len(TOPICS)} topics, {len(GROUPS)} consumer groups", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
