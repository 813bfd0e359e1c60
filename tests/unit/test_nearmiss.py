"""The near-miss index gives exactly the suggestions of the pairwise search it replaces."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract_operator.core import nearmiss, wiring
from contract_operator.core.naming import DEFAULT_KINDS
from contract_operator.core.nearmiss import NearMiss, NearMissIndex, Shape
from contract_operator.model.contract import Contract

# --------------------------------------------------------------------------- the reference
# The pairwise search as it was before the index: every candidate compared with the topic.
# Kept here, not in the package, as the definition the index must reproduce.

_RANK = {shape: rank for rank, shape in enumerate(Shape)}
_VERSION = re.compile(r"^v[0-9]+$")


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def _singulars(word: str) -> set[str]:
    out = {word}
    if word.endswith("ies"):
        out.add(word[:-3] + "y")
    if word.endswith("es"):
        out.add(word[:-2])
    if word.endswith("s"):
        out.add(word[:-1])
    return out


def _is_plural_pair(a: str, b: str) -> bool:
    words_a, words_b = re.split(r"[-_]", a), re.split(r"[-_]", b)
    if len(words_a) != len(words_b):
        return False
    differing = [(x, y) for x, y in zip(words_a, words_b, strict=True) if x != y]
    if len(differing) != 1:
        return False
    x, y = differing[0]
    return bool(_singulars(x) & _singulars(y))


def pairwise_shape(topic: str, candidate: str) -> Shape | None:
    if topic == candidate:
        return None
    a, b = _normal(topic), _normal(candidate)
    if a == b:
        return Shape.SEPARATOR
    segments_a, segments_b = a.split("."), b.split(".")
    if len(segments_a) == len(segments_b):
        differing = [(x, y) for x, y in zip(segments_a, segments_b, strict=True) if x != y]
        if len(differing) == 1:
            x, y = differing[0]
            if _VERSION.match(x) and _VERSION.match(y):
                return Shape.VERSION
            if _is_plural_pair(x, y):
                return Shape.PLURAL
            return Shape.RENAMED_SEGMENT
    if difflib.SequenceMatcher(None, a, b).ratio() >= 0.8:
        return Shape.SIMILAR
    return None


def pairwise(
    topic: str, candidates: Iterable[str], others: Iterable[str] = ()
) -> tuple[NearMiss, ...]:
    """Every candidate compared with `topic`; `others` rank after `candidates` of one shape."""
    preferred = set(candidates)
    found = []
    for candidate in preferred | set(others):
        shape = pairwise_shape(topic, candidate)
        if shape is not None:
            ratio = difflib.SequenceMatcher(None, topic, candidate).ratio()
            tier = 0 if candidate in preferred else 1
            found.append((_RANK[shape], tier, -ratio, candidate, shape))
    found.sort()
    return tuple(NearMiss(name, shape) for _, _, _, name, shape in found[:3])


def indexed(
    topic: str, candidates: Iterable[str], others: Iterable[str] = ()
) -> tuple[NearMiss, ...]:
    return NearMissIndex(candidates, others).near_misses(topic)


# --------------------------------------------------------------------------- known cases

ROUTING = "onex.evt.router.routing-complete.v1"

KNOWN_CASES = [
    ("onex.evt.router.routing_complete.v1", [ROUTING]),
    ("onex.evt.router.Routing-Complete.v1", [ROUTING]),
    ("onex.cmd.gateway.route-request.v1", ["onex.cmd.gateway.routes-request.v1", ROUTING]),
    (
        "onex.evt.policy-engine.policy-updated.v1",
        ["onex.evt.policy-engine.policies-updated.v1", ROUTING],
    ),
    ("onex.evt.deploy.statuses-changed.v1", ["onex.evt.deploy.status-changed.v1", ROUTING]),
    ("onex.evt.inventory.stock-reserved.v1", ["onex.evt.inventory.stock-reserved.v2"]),
    ("onex.evt.payments.payment-completed.v1", ["onex.evt.payments.payment-settled.v1"]),
    ("onex.evt.router.routing-complete.v1", ["onex.evt.router-v2.routing-complete.v1"]),
    ("onex.evt.router.routng-complete.v2", [ROUTING]),
    ("onex.evt.billing.invoice-paid.v1", ["onex.cmd.gateway.route-request.v1"]),
    (
        "onex.evt.router.routing_complete.v1",
        [
            "onex.evt.router.routing-failed.v1",
            "onex.evt.router.routing-complete.v2",
            ROUTING,
        ],
    ),
    ("Routing_Complete", [ROUTING]),
    ("onex.evt.router.routing-complete.v1", [ROUTING]),  # itself: no near miss
]


@pytest.mark.parametrize(("topic", "candidates"), KNOWN_CASES)
def test_index_matches_the_pairwise_search_on_the_known_cases(
    topic: str, candidates: list[str]
) -> None:
    assert indexed(topic, candidates) == pairwise(topic, candidates)
    assert wiring.near_misses(topic, candidates) == pairwise(topic, candidates)


def test_the_best_three_of_a_thousand_siblings_are_those_the_pairwise_search_picks() -> None:
    # One producer with a thousand events: every one is a renamed segment of the topic.
    siblings = [f"onex.evt.router.event-{i:04d}.v1" for i in range(1000)]
    for topic in ("onex.evt.router.event-0042-x.v1", "onex.evt.router.evnt-0042.v2"):
        assert indexed(topic, siblings) == pairwise(topic, siblings)


def test_many_names_sharing_the_pattern_do_not_change_the_similar_ranking() -> None:
    names = [f"onex.evt.node-{i % 50:02d}.event-{i:05d}.v{1 + i % 3}" for i in range(3000)]
    for topic in ("onex.evt.node-07.evnt-00007.v3", "onex.evt.node07.event-00107.v9", "x"):
        assert indexed(topic, names) == pairwise(topic, names)


def test_a_preferred_name_outranks_another_of_the_same_shape_only() -> None:
    published = ["onex.evt.router.routing-failed.v1"]  # renamed segment
    on_broker = ["onex.evt.router.routing-complete.v1", "onex.evt.router.routing-done.v1"]
    topic = "onex.evt.router.routing_complete.v1"
    assert indexed(topic, published, on_broker) == (
        NearMiss("onex.evt.router.routing-complete.v1", Shape.SEPARATOR),
        NearMiss("onex.evt.router.routing-failed.v1", Shape.RENAMED_SEGMENT),
        NearMiss("onex.evt.router.routing-done.v1", Shape.RENAMED_SEGMENT),
    )
    assert indexed(topic, published, on_broker) == pairwise(topic, published, on_broker)


def test_check_wiring_builds_one_index_for_every_broken_wire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[NearMissIndex] = []
    asked: list[str] = []

    class Counting(NearMissIndex):
        def __init__(self, names: Iterable[str], others: Iterable[str] = ()) -> None:
            super().__init__(names, others)
            built.append(self)

        def near_misses(self, topic: str) -> tuple[NearMiss, ...]:
            asked.append(topic)
            return super().near_misses(topic)

    monkeypatch.setattr(wiring, "NearMissIndex", Counting)
    router = _contract("router", publish=[ROUTING])
    consumers = [
        _contract(f"consumer-{i}", subscribe=[f"onex.evt.router.routing-complete.v{i + 2}"])
        for i in range(3)
    ]
    report = wiring.check_wiring([router, *consumers], known_topics={"onex.evt.x.y.v1"})
    assert len(built) == 1 and len(asked) == 3
    assert [w.suggestions for w in report.broken_wires] == [(ROUTING,)] * 3


def test_an_index_nobody_asks_builds_no_keys() -> None:
    index = NearMissIndex([ROUTING])
    assert not any(key.startswith("_by") or key == "_normals" for key in vars(index))
    index.near_misses("onex.evt.router.routing_complete.v1")
    assert {"_normals", "_by_normal", "_by_blanked"} <= vars(index).keys()


# --------------------------------------------------------------------------- generated cases

_WORDS = ["route", "routes", "policy", "policies", "status", "statuses", "bus", "order", "paid"]
_PRODUCERS = ["router", "billing", "policy-engine", "gateway"]

words = st.sampled_from(_WORDS)
segment_words = st.lists(words, min_size=1, max_size=3).map("-".join)
pattern_names = st.builds(
    "onex.{}.{}.{}.v{}".format,
    st.sampled_from(sorted(DEFAULT_KINDS)),
    st.sampled_from(_PRODUCERS),
    segment_words,
    st.integers(1, 3),
)


def _mutate_separator(name: str, data: st.DataObject) -> str:
    swapped = name.replace("-", "_") if "-" in name else name
    upper = data.draw(st.booleans())
    return swapped.upper() if upper else swapped


def _mutate_plural(name: str, data: st.DataObject) -> str:
    segments = name.split(".")
    position = data.draw(st.integers(0, len(segments) - 1))
    segment_words = segments[position].split("-")
    index = data.draw(st.integers(0, len(segment_words) - 1))
    word = segment_words[index]
    segment_words[index] = data.draw(
        st.sampled_from([word + "s", word + "es", word[:-1] + "ies", word.removesuffix("s")])
    )
    segments[position] = "-".join(segment_words)
    return ".".join(segments)


def _mutate_version(name: str, data: st.DataObject) -> str:
    return re.sub(r"\.v\d+$", f".v{data.draw(st.integers(1, 4))}", name)


def _mutate_segment(name: str, data: st.DataObject) -> str:
    segments = name.split(".")
    position = data.draw(st.integers(0, len(segments) - 1))
    segments[position] = data.draw(st.one_of(segment_words, st.sampled_from(_PRODUCERS)))
    return ".".join(segments)


def _mutate_similar(name: str, data: st.DataObject) -> str:
    position = data.draw(st.integers(0, len(name) - 1))
    typo = name[:position] + name[position + 1 :]  # a dropped letter...
    return _mutate_version(typo, data)  # ...and another version: no single shape


MUTATIONS = {
    Shape.SEPARATOR: _mutate_separator,
    Shape.PLURAL: _mutate_plural,
    Shape.VERSION: _mutate_version,
    Shape.RENAMED_SEGMENT: _mutate_segment,
    Shape.SIMILAR: _mutate_similar,
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(pattern_names, min_size=1, max_size=40, unique=True),
    shapes=st.lists(st.sampled_from(list(Shape)), min_size=1, max_size=2),
    data=st.data(),
)
def test_index_matches_the_pairwise_search_on_mutated_pattern_names(
    names: list[str], shapes: list[Shape], data: st.DataObject
) -> None:
    topic = data.draw(st.sampled_from(names))
    for shape in shapes:
        topic = MUTATIONS[shape](topic, data)
    split = data.draw(st.integers(0, len(names)))
    published, on_broker = names[:split], names[split:]
    assert indexed(topic, published, on_broker) == pairwise(topic, published, on_broker)
    assert indexed(topic, names) == pairwise(topic, names)


# Any text at all: short names from a tiny alphabet make every corner (empty segments, empty
# words, 'v' followed by digits, 's'/'es'/'ies' endings, case) collide often.
odd_names = st.text(alphabet="ab.-_sSeiyvV12", max_size=10)


@settings(max_examples=500, deadline=None)
@given(topic=odd_names, published=st.lists(odd_names), on_broker=st.lists(odd_names))
def test_index_matches_the_pairwise_search_on_any_text(
    topic: str, published: list[str], on_broker: list[str]
) -> None:
    assert indexed(topic, published, on_broker) == pairwise(topic, published, on_broker)


# Names of 200 characters and more: difflib then treats frequent characters as junk, which
# lowers its ratio below the bound the index ranks by; the ranking must still be difflib's.
long_names = st.builds(
    "{}.{}.v{}".format,
    st.text(alphabet="ab-_.", min_size=190, max_size=200),
    st.text(alphabet="abc-", min_size=1, max_size=8),
    st.integers(1, 3),
)


@settings(max_examples=100, deadline=None)
@given(names=st.lists(long_names, min_size=1, max_size=8), data=st.data())
def test_index_matches_the_pairwise_search_on_long_names(
    names: list[str], data: st.DataObject
) -> None:
    topic = data.draw(st.sampled_from(names))
    topic = MUTATIONS[data.draw(st.sampled_from(list(Shape)))](topic, data)
    assert indexed(topic, names) == pairwise(topic, names)


# --------------------------------------------------------------------------- helpers


def _contract(name: str, publish: Sequence[str] = (), subscribe: Sequence[str] = ()) -> Contract:
    return Contract.from_manifest(
        {
            "apiVersion": "eventbus.dev/v1alpha1",
            "kind": "NodeContract",
            "metadata": {"name": name, "namespace": "agents"},
            "spec": {
                "node": name,
                "eventBus": {
                    "publishTopics": [{"name": t} for t in publish],
                    "subscribeTopics": list(subscribe),
                },
            },
        },
        f"{name}.yaml",
    )


def test_names_whose_keys_collide_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    # The index keeps only the hash of a blanked name: with every hash equal, each bucket holds
    # every name, and the lookup alone must tell which ones really differ in one segment.
    monkeypatch.setattr(nearmiss, "hash", lambda _: 0, raising=False)
    names = [
        ROUTING,
        "onex.evt.router.routing-failed.v1",
        "onex.evt.router.routing.complete.v1",
        "onex.evt.billing.routing-complete.v1",
        "onex.cmd.router.routing-completes.v2",
        "onex.evt.router.routing-complete.v1.extra",
        "evt.router.routing-complete.v1",
    ]
    for topic in (ROUTING, "onex.evt.router.routing_completes.v1", "onex.evt.router.x.v1"):
        assert indexed(topic, names) == pairwise(topic, names)
    overlapping = ["a.a", "a.c.a"]  # "a." + ".a" fits in "a.a" only if they overlap
    assert indexed("a.b.a", overlapping) == pairwise("a.b.a", overlapping)
