"""The fleet the webhook answers from: a FleetView kept in step with kopf's `nodecontracts`
index, one watch event at a time, never rebuilt per request."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..core.admission import FleetView
from ..core.naming import NamingRules
from .records import Record


class AdmissionView:
    """A FleetView kept in step with the `nodecontracts` index, one watch event at a time."""

    def __init__(self) -> None:
        self.fleet: FleetView | None = None
        self._keys: set[str] = set()  # every record, parsable or not
        self.events_seen = False

    def ready(self, reconciler: Any) -> bool:
        """Whether the index holds every contract, not just the part listed so far.

        kopf calls event handlers only once the index holds the initial listing, and the loop
        runs only after that. Before either (the first seconds after a start, a standby
        replica, or no NodeContract at all yet), a subscription could look unpublished when
        its publisher is simply not listed yet.
        """
        return self.events_seen or getattr(reconciler, "cycles", 0) > 0

    def current(
        self, records: Callable[[], Iterable[Record]], size: int, rules: NamingRules
    ) -> FleetView:
        """The view, built whole on first use (about 1 s at 10,000 contracts, once) and then
        kept in step by watch events; if an event was ever missed, only the difference is
        applied."""
        if self.fleet is None:
            listed = list(records())
            self._keys = {r.key for r in listed}
            self.fleet = FleetView((r.contract for r in listed if r.contract is not None), rules)
        elif len(self._keys) != size:
            by_key = {r.key: r for r in records()}
            for key in self._keys - by_key.keys():
                self.fleet.remove(key)
            for key in by_key.keys() - self._keys:
                if (contract := by_key[key].contract) is not None:
                    self.fleet.put(contract)
            self._keys = set(by_key)
        return self.fleet

    def update(self, key: str, record: Record | None) -> None:
        self.events_seen = True
        if self.fleet is None:
            return
        if record is None:
            self._keys.discard(key)
        else:
            self._keys.add(key)
        if record is None or record.contract is None:
            self.fleet.remove(key)
        else:
            self.fleet.put(record.contract)
