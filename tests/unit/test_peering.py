import datetime as dt

from contract_operator.controller.peering import outranked

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


def peer(priority: int, seconds_ago: int = 5, lifetime: int = 60) -> dict:
    seen = (NOW - dt.timedelta(seconds=seconds_ago)).isoformat()
    return {"priority": priority, "lastseen": seen, "lifetime": lifetime}


def test_highest_priority_replica_is_active() -> None:
    assert not outranked({"me": peer(500), "other": peer(100)}, "me", 500, NOW)


def test_replica_with_a_live_higher_peer_stands_by() -> None:
    assert outranked({"me": peer(100), "other": peer(500)}, "me", 100, NOW)


def test_equal_priority_stands_by_like_kopf() -> None:
    assert outranked({"me": peer(7), "other": peer(7)}, "me", 7, NOW)


def test_dead_peer_does_not_outrank() -> None:
    assert not outranked({"other": peer(500, seconds_ago=120)}, "me", 100, NOW)


def test_malformed_entries_are_ignored() -> None:
    assert not outranked({"other": {"priority": "x"}, "junk": "text"}, "me", 1, NOW)
