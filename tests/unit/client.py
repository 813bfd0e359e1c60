"""A client-library AdminClient that never reaches a broker: building a CreateTopics request
with it runs the library's own range checks, synchronously, with no network."""

from __future__ import annotations

from functools import lru_cache

from confluent_kafka.admin import AdminClient


@lru_cache(maxsize=1)
def client_library() -> AdminClient:
    # Port 1 on loopback: nothing listens, requests stay queued and are dropped with the client.
    return AdminClient({"bootstrap.servers": "127.0.0.1:1", "log_level": 0})
