"""The standby gate's verdict, with kopf's peering semantics, and the peering lifetime setting."""

import datetime as dt
from typing import Any

import pytest

from contract_operator.cli.errors import UsageError
from contract_operator.cli.main import build_parser
from contract_operator.cli.run import operator_settings
from contract_operator.controller.peering import outranked, standby_reason

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


def peer(priority: int, seconds_ago: int = 5, lifetime: int = 60) -> dict[str, Any]:
    seen = (NOW - dt.timedelta(seconds=seconds_ago)).isoformat()
    return {"priority": priority, "lastseen": seen, "lifetime": lifetime}


def peering(**peers: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "status": peers}


def test_highest_priority_replica_is_active() -> None:
    assert not outranked({"me": peer(500), "other": peer(100)}, "me", 500, NOW)


def test_replica_with_a_live_higher_peer_stands_by() -> None:
    assert outranked({"me": peer(100), "other": peer(500)}, "me", 100, NOW)


def test_equal_priority_stands_by_like_kopf() -> None:
    assert outranked({"me": peer(7), "other": peer(7)}, "me", 7, NOW)


def test_dead_peer_does_not_outrank() -> None:
    assert not outranked({"other": peer(500, seconds_ago=120)}, "me", 100, NOW)


def test_a_peer_is_dead_exactly_at_lastseen_plus_its_lifetime() -> None:
    assert outranked({"other": peer(500, seconds_ago=14, lifetime=15)}, "me", 100, NOW)
    assert not outranked({"other": peer(500, seconds_ago=15, lifetime=15)}, "me", 100, NOW)


def test_a_peer_without_a_lifetime_lives_kopfs_default_60_seconds() -> None:
    entry = {"priority": 500, "lastseen": (NOW - dt.timedelta(seconds=59)).isoformat()}
    assert outranked({"other": entry}, "me", 100, NOW)


def test_malformed_entries_are_ignored() -> None:
    peers = {"other": {"priority": "x", "lastseen": "?"}, "junk": "text", "none": {"lifetime": 1}}
    assert not outranked(peers, "me", 1, NOW)


def test_outranked_in_any_namespace_stands_by() -> None:
    objects = {
        "team-a": peering(me=peer(100), low=peer(50)),
        "team-b": peering(me=peer(100), rival=peer(900)),
    }
    assert standby_reason(objects, "me", 100, NOW) == "outranked in namespace team-b by rival"


def test_highest_in_every_namespace_is_active() -> None:
    objects = {"team-a": peering(me=peer(100), low=peer(50)), "team-b": peering(me=peer(100))}
    assert standby_reason(objects, "me", 100, NOW) is None


def test_an_unreadable_peering_object_stands_by_like_kopf() -> None:
    objects = {"team-a": peering(me=peer(100)), "team-b": None}
    assert standby_reason(objects, "me", 100, NOW) == (
        "peering object in namespace team-b cannot be read"
    )


def test_a_peering_object_without_status_has_no_rival() -> None:
    assert standby_reason({"team-a": {"kind": "KopfPeering"}}, "me", 100, NOW) is None


def test_cluster_wide_peering_is_one_object() -> None:
    objects = {"": peering(me=peer(100), rival=peer(100))}
    assert standby_reason(objects, "me", 100, NOW) == "outranked cluster-wide by rival"


def test_peering_lifetime_defaults_to_15_seconds_and_comes_from_flag_or_environment() -> None:
    def lifetime(env: dict[str, str], *argv: str) -> int:
        args = build_parser().parse_args(["run", *argv])
        return operator_settings(args, env).peering_lifetime_seconds

    assert lifetime({}) == 15
    assert lifetime({"CONTRACT_OPERATOR_PEERING_LIFETIME_SECONDS": "8"}) == 8
    assert (
        lifetime(
            {"CONTRACT_OPERATOR_PEERING_LIFETIME_SECONDS": "8"}, "--peering-lifetime-seconds", "30"
        )
        == 30
    )


def test_a_peering_lifetime_too_short_for_a_keep_alive_is_refused() -> None:
    args = build_parser().parse_args(["run", "--peering-lifetime-seconds", "2"])
    with pytest.raises(
        UsageError,
        match=r"--peering-lifetime-seconds='2': too small; use a whole number of seconds, 5 or",
    ):
        operator_settings(args, {})
