"""Apply-time feedback for one incoming contract: what to refuse and what to warn about, no I/O.

The admission webhook asks `decide()` about the operator's in-memory view plus the incoming
object. The rules are the ones the planner and `validate` use (naming, wiring, conflicts,
drift), evaluated only for what concerns the incoming contract: a `FleetView` indexes the
published names once, so an answer stays in milliseconds with 10,000 contracts in the view.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from ..model.contract import PAUSED_ANNOTATION
from .checks import disqualified, merge_problems, per_contract
from .collisions import colliding_names, collision_problem
from .drift import drift_of
from .naming import NamingRules
from .nearmiss import near_keys
from .problems import Problem, Severity
from .snapshot import BrokerSnapshot
from .wiring import check_wiring

if TYPE_CHECKING:
    from ..model.contract import Contract

# Names that can never be created (or may only be created by another node) are refused;
# everything else is admitted with a warning, because the reconcile loop reports it anyway.
REFUSED_CODES = frozenset({"name-pattern", "unknown-kind", "foreign-producer"})

# Up to this many published names, a broken wire's "did you mean" compares it with every one
# of them, exactly as `validate` does; above it, only with the names FleetView.candidates finds
# (spelling-only differences compared across the whole fleet cost ~40 us per name).
FULL_SEARCH_NAMES = 500


class AdmissionMode(StrEnum):
    DENY = "deny"  # refuse names that break the rules
    WARN = "warn"  # admit everything, warn instead (for teams migrating existing contracts)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Decision:
    """The answer for one object: refused when `denials` is non-empty."""

    denials: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.denials

    def warning_lines(self) -> list[str]:
        """One line per warning, as kubectl prints them after `Warning: `."""
        return [render(p) for p in self.warnings]

    def denial_message(self) -> str:
        return " | ".join(render(p) for p in self.denials)


def render(problem: Problem) -> str:
    """`[rule] what is wrong. Fix: what to do.` on one line."""
    text = f"[{problem.code}] {problem.message}"
    if problem.fix and not text.endswith((".", "?", "!")):
        text += "."
    if problem.fix:
        text += f" Fix: {problem.fix}"
    return text


class FleetView:
    """Every contract the operator knows, with the names it may publish indexed by the shapes of
    a near miss (see core.nearmiss): the same name up to '-'/'_' and case, the same name but one
    segment, and names under the same producer.

    Each contract's own rules (naming, settings) are checked once, when it is put: a
    declaration they disqualify never owns its topic, as in the planner. Updated in place
    (`put`, `remove`) as watch events arrive, so a webhook call never walks the whole fleet.
    """

    def __init__(self, contracts: Iterable[Contract] = (), rules: NamingRules | None = None):
        self.rules = rules or NamingRules()
        self.contracts: dict[str, Contract] = {}
        # topic -> key -> the contract reduced to what it publishes: another contract's own
        # subscriptions never change what is said about the incoming one.
        self.publishers: dict[str, dict[str, Contract]] = {}
        self.disqualified: dict[str, dict[tuple[str, str], str]] = {}  # key -> (key, topic) -> why
        self._owners: dict[str, set[str]] = {}  # topic -> keys whose declaration counts
        self._near: dict[tuple[object, ...], set[str]] = {}  # shape key -> owned names
        for contract in contracts:
            self.put(contract)

    def __len__(self) -> int:
        return len(self.contracts)

    def put(self, contract: Contract) -> None:
        """Add or replace the contract with this key."""
        self.remove(contract.key)
        key = contract.key
        self.contracts[key] = contract
        bad = disqualified([contract], per_contract(contract, self.rules))
        if bad:
            self.disqualified[key] = bad
        publishing = _publishing_only(contract) if contract.subscribed else contract
        for topic in contract.published:
            self.publishers.setdefault(topic.name, {})[key] = publishing
            if (key, topic.name) in bad:
                continue
            owners = self._owners.setdefault(topic.name, set())
            if not owners:
                for near in near_keys(topic.name):
                    self._near.setdefault(near, set()).add(topic.name)
            owners.add(key)

    def remove(self, key: str) -> None:
        old = self.contracts.pop(key, None)
        if old is None:
            return
        self.disqualified.pop(key, None)
        for topic in old.published:
            declarers = self.publishers.get(topic.name, {})
            declarers.pop(key, None)
            if not declarers:
                self.publishers.pop(topic.name, None)
            owners = self._owners.get(topic.name)
            if owners is None or key not in owners:
                continue
            owners.discard(key)
            if not owners:
                del self._owners[topic.name]
                for near in near_keys(topic.name):
                    names = self._near.get(near)
                    if names is not None:
                        names.discard(topic.name)
                        if not names:
                            del self._near[near]

    def owned(self, name: str, besides: str) -> bool:
        """Whether a declaration other than `besides`'s may own `name`."""
        return bool(self._owners.get(name, set()) - {besides})

    def owned_count(self) -> int:
        return len(self._owners)

    def owned_names(self) -> set[str]:
        return set(self._owners)

    def candidates(self, name: str) -> set[str]:
        """Owned names `name` may have been meant to be (a superset; wiring ranks them)."""
        found: set[str] = set()
        for key in near_keys(name):
            found |= self._near.get(key, set())
        return found

    def owners(self, names: Iterable[str], besides: str) -> dict[str, Contract]:
        """The contracts declaring any of `names`, except the one keyed `besides`."""
        out: dict[str, Contract] = {}
        for name in names:
            for key, contract in self.publishers.get(name, {}).items():
                if key != besides:
                    out[key] = contract
        return out


def decide(
    incoming: Contract,
    view: FleetView,
    snapshot: BrokerSnapshot | None,
    mode: AdmissionMode = AdmissionMode.DENY,
    *,
    view_ready: bool = True,
) -> Decision:
    """Denials and warnings for `incoming`, which replaces any contract with the same key, under
    the view's naming rules.

    `view_ready` False means the operator has not read every contract yet: only the rules that
    need nothing but the incoming object (naming, settings) are applied.
    """
    own = per_contract(incoming, view.rules)
    if view_ready:  # Kafka's '.'/'_' collisions, against the fleet's names and the broker's
        own += _collisions(incoming, view, snapshot)
    problems = _rule_findings(incoming, view, snapshot, own) if view_ready else own
    refused = [p for p in problems if p.code in REFUSED_CODES and p.is_error]
    warned = [p for p in problems if not (p.code in REFUSED_CODES and p.is_error)]
    if view_ready:
        warned += _drift_findings(incoming, snapshot, problems)
    if incoming.paused and snapshot is not None:
        warned += _paused_findings(incoming, snapshot)
    if mode is AdmissionMode.WARN:
        refused, warned = [], refused + warned
    return Decision(tuple(refused), tuple(warned))


def _rule_findings(
    incoming: Contract,
    view: FleetView,
    snapshot: BrokerSnapshot | None,
    own: list[Problem],
) -> list[Problem]:
    """`validate`'s findings about `incoming`: the same wiring check, run on the contracts that
    can change its answer (declarers of what it names and of near misses of what it names)."""
    key = incoming.key
    published = {t.name for t in incoming.published}
    names = published | set(incoming.subscribed)
    broker = snapshot.all_names if snapshot is not None else frozenset()
    small = view.owned_count() + len(broker) <= FULL_SEARCH_NAMES
    broker_only: set[str] = set()
    if small:
        broker_only = {n for n in broker if n not in view.publishers and n not in published}
    for sub in incoming.subscribed:
        if not view.owned(sub, besides=key):
            names |= view.owned_names() if small else view.candidates(sub)
    declarers = view.owners(names, besides=key)
    # Subscriptions to topics only the broker has are left behind; with a small view, those
    # names are also candidates for "did you mean", as in the planner.
    known = broker_only | {
        s for s in incoming.subscribed if s in broker and s not in view.publishers
    }
    bad = disqualified([incoming], own)
    for declarer in declarers:
        bad.update(view.disqualified.get(declarer, {}))
    # Oldest first, so "published by" lists owners in the order their declarations count.
    ordered = sorted(
        [*declarers.values(), incoming], key=lambda c: (c.created is None, c.created or "", c.key)
    )
    report = check_wiring(ordered, known_topics=known, disqualified=bad)
    return [
        p
        for p in merge_problems(own, report)
        if p.contract == key and p.severity is not Severity.INFO
    ]


def _collisions(
    incoming: Contract, view: FleetView, snapshot: BrokerSnapshot | None
) -> list[Problem]:
    """Names of `incoming` that collide in '.' vs '_' with a topic on the broker or one
    another contract publishes (a few look-ups per name, never a pass over the fleet)."""
    broker = snapshot.all_names if snapshot is not None else frozenset()
    mine = {t.name for t in incoming.published}
    out = []
    for index, topic in enumerate(incoming.published):
        if topic.name in broker:
            continue  # already there: never the one at fault
        on_broker = colliding_names(topic.name, lambda n: n in broker and n not in mine)
        declared = colliding_names(
            topic.name,
            lambda n: n not in mine and bool(set(view.publishers.get(n, {})) - {incoming.key}),
        )
        for other, where in ((on_broker, "on the broker"), (declared, "declared too")):
            if other:
                out.append(collision_problem(incoming, index, topic.name, other[0], where))
                break
    return out


def _paused_findings(incoming: Contract, snapshot: BrokerSnapshot) -> list[Problem]:
    """A paused contract that declares topics the broker does not have: they wait."""
    missing = [t.name for t in incoming.published if t.name not in snapshot.all_names]
    if not missing:
        return []
    return [
        Problem(
            Severity.WARNING,
            "provisioning-paused",
            f'{incoming.key} is paused ({PAUSED_ANNOTATION}: "true"): {", ".join(missing)} '
            "do not exist yet and are not created while it stays paused",
            "Remove the annotation to create them.",
            source=incoming.source,
            contract=incoming.key,
        )
    ]


def _publishing_only(contract: Contract) -> Contract:
    bus = contract.spec.event_bus.model_copy(update={"subscribe_topics": []})
    return contract.model_copy(update={"spec": contract.spec.model_copy(update={"event_bus": bus})})


def _drift_findings(
    incoming: Contract, snapshot: BrokerSnapshot | None, problems: list[Problem]
) -> list[Problem]:
    """Declared settings that differ from the topic already on the broker, as the loop would
    report them. Topics refused by a rule, or whose declaration loses a conflict, are skipped
    as in the planner."""
    if snapshot is None:
        return []
    skipped = {p.topic for p in problems if p.is_error and p.code != "broken-wire"}
    out: list[Problem] = []
    for index, topic in enumerate(incoming.published):
        observed = snapshot.get(topic.name)
        if topic.name in skipped or observed is None:
            continue
        drift = drift_of(topic, observed)
        if not drift:
            continue
        unsafe = [d for d in drift if getattr(d, "unsafe", False)]
        fields = "; ".join(str(d) for d in drift)
        message = (
            f"{topic.name} already exists on the broker with other settings ({fields}): "
            "it will be reported as drift and never altered."
        )
        if unsafe:
            message += (
                " Unsafe: the broker keeps fewer copies or less data than declared ("
                + ", ".join(d.field for d in unsafe)
                + ")."
            )
        out.append(
            Problem(
                Severity.WARNING,
                "unsafe-drift" if unsafe else "drift",
                message,
                "Declare the broker's values, or change the topic on the broker yourself.",
                source=incoming.source,
                contract=incoming.key,
                topic=topic.name,
                field=incoming.field_path("publish", index),
            )
        )
    return out
