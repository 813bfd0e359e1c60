"""The wiring as a graph: which node publishes and subscribes to which topic, with what is wrong
marked on it. Rendered as Mermaid (GitHub/GitLab markdown) or DOT (Graphviz).

Pure: built from a plan and, when the broker was read, the unowned topics. Topics are grouped by
producer segment (with the contracts of that node), so a hundred nodes stay a hundred boxes;
`collapse_healthy` draws healthy topics as direct node-to-node edges to cut the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from .naming import NamingRules, corrected_name, parse_topic
from .planner import PUBLISH, Plan, TopicState, TopicStatus
from .report import is_unsafe
from .unowned import Unowned, liveness

OTHER_GROUP = ""  # topics whose name has no producer segment we can read


class Mark(StrEnum):
    """What a topic shows, most urgent first; a topic is drawn with its most urgent mark."""

    BROKEN = "broken wire"
    CONFLICT = "conflict"
    INVALID = "invalid name"
    UNSAFE = "UNSAFE drift"
    FAILED = "create failed"
    DRIFT = "drift"
    UNOWNED = "unowned"
    MISSING = "not created yet"
    UNKNOWN = "unknown"
    HEALTHY = "healthy"


_ORDER = {mark: rank for rank, mark in enumerate(Mark)}


class EdgeKind(StrEnum):
    PUBLISH = "publish"
    SUBSCRIBE = "subscribe"
    BROKEN = "broken"  # a subscription no contract publishes
    CONFLICT = "conflict"  # a publisher whose declaration lost to an older one
    INVALID = "invalid"  # a name that breaks the naming rules
    SUGGEST = "suggest"  # broken name -> the published name it was probably meant to be
    COLLAPSED = "collapsed"  # publisher -> subscriber through healthy topics


@dataclass(frozen=True)
class ContractNode:
    id: str
    key: str
    node: str  # the producer segment it owns
    label: str
    hidden_topics: int = 0  # healthy topics folded away by collapse_healthy


@dataclass(frozen=True)
class TopicNode:
    id: str
    name: str
    label: str
    group: str  # producer segment, OTHER_GROUP when unknown
    marks: tuple[Mark, ...]
    note: str = ""  # e.g. the unowned topic's liveness

    @property
    def mark(self) -> Mark:
        return self.marks[0]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: EdgeKind
    label: str = ""


@dataclass(frozen=True)
class Graph:
    contracts: tuple[ContractNode, ...]
    topics: tuple[TopicNode, ...]
    edges: tuple[Edge, ...]
    hidden_healthy: int = 0
    title: str = ""

    def groups(self) -> dict[str, tuple[list[ContractNode], list[TopicNode]]]:
        """Producer segment -> (its contracts, its topics); contracts whose node publishes no
        drawn topic stay outside any group (key absent)."""
        out: dict[str, tuple[list[ContractNode], list[TopicNode]]] = {}
        for t in self.topics:
            out.setdefault(t.group, ([], []))[1].append(t)
        for c in self.contracts:
            if c.node in out and c.node != OTHER_GROUP:
                out[c.node][0].append(c)
        return dict(sorted(out.items()))

    def ungrouped(self) -> list[ContractNode]:
        grouped = {t.group for t in self.topics} - {OTHER_GROUP}
        return [c for c in self.contracts if c.node not in grouped]


@dataclass
class _Topic:
    name: str
    marks: set[Mark] = field(default_factory=set)
    publishers: list[tuple[str, TopicStatus]] = field(default_factory=list)
    subscribers: list[tuple[str, TopicStatus]] = field(default_factory=list)


_STATE_MARK = {
    TopicState.CONFLICT: Mark.CONFLICT,
    TopicState.INVALID: Mark.INVALID,
    TopicState.FAILED: Mark.FAILED,
    TopicState.ORPHANED: Mark.BROKEN,
    TopicState.MISSING: Mark.MISSING,
    TopicState.PENDING: Mark.MISSING,
    TopicState.UNKNOWN: Mark.UNKNOWN,
}


def _mark_of(status: TopicStatus) -> Mark | None:
    if status.state is TopicState.DRIFTED:
        return Mark.UNSAFE if is_unsafe(status) else Mark.DRIFT
    return _STATE_MARK.get(status.state)


def _group_and_label(name: str, rules: NamingRules) -> tuple[str, str]:
    """Producer segment and a short label (the producer is the group's title already)."""
    parts = parse_topic(name, rules)
    if parts is None:
        fixed = corrected_name(name, rules)
        near = parse_topic(fixed, rules) if fixed else None
        return (near.producer or OTHER_GROUP) if near else OTHER_GROUP, name
    if parts.kind and parts.event:
        version = f".v{parts.version}" if parts.version is not None else ""
        return parts.producer or OTHER_GROUP, f"{parts.kind}.{parts.event}{version}"
    return parts.producer or OTHER_GROUP, name


def build_graph(
    plan: Plan,
    *,
    unowned: Unowned | None = None,
    end_offsets: dict[str, int | None] | None = None,
    rules: NamingRules | None = None,
    collapse_healthy: bool = False,
    title: str = "",
) -> Graph:
    """Nodes, topics and edges of `plan`, each topic marked with what is wrong with it."""
    rules = rules or NamingRules()
    topics = _topics(plan, unowned or Unowned())
    contract_ids = {cp.contract.key: f"c{i}" for i, cp in enumerate(plan.contracts)}
    namespaces = {cp.contract.namespace for cp in plan.contracts}
    contracts = [
        ContractNode(
            contract_ids[cp.contract.key],
            cp.contract.key,
            cp.contract.node,
            (cp.contract.key if len(namespaces) > 1 else cp.contract.name)
            + (" (paused)" if cp.contract.paused else ""),
        )
        for cp in plan.contracts
    ]
    offsets = end_offsets or {}
    nodes = [_topic_node(i, topics[name], rules, offsets) for i, name in enumerate(sorted(topics))]
    edges = _edges(plan, nodes, topics, contract_ids)
    graph = Graph(tuple(contracts), tuple(nodes), tuple(edges), title=title)
    return _collapse(graph) if collapse_healthy else graph


def _topics(plan: Plan, unowned: Unowned) -> dict[str, _Topic]:
    """Every topic any contract names (or the broker holds unowned), with its marks."""
    topics: dict[str, _Topic] = {}
    for cp in plan.contracts:
        for status in cp.topics:
            t = topics.setdefault(status.name, _Topic(status.name))
            role = t.publishers if status.role == PUBLISH else t.subscribers
            role.append((cp.contract.key, status))
            mark = _mark_of(status)
            # Unknown only means something when the broker was asked and did not answer.
            if mark is Mark.UNKNOWN and plan.broker_error is None:
                mark = None
            if mark is not None:
                t.marks.add(mark)
    for u in unowned.topics:
        topics.setdefault(u.name, _Topic(u.name)).marks.add(Mark.UNOWNED)
    return topics


def _topic_node(
    i: int, t: _Topic, rules: NamingRules, end_offsets: Mapping[str, int | None]
) -> TopicNode:
    group, label = _group_and_label(t.name, rules)
    marks = tuple(sorted(t.marks, key=_ORDER.__getitem__)) or (Mark.HEALTHY,)
    drifted = sorted({d.field for _, st in t.publishers for d in st.drift})
    notes = [", ".join(drifted)] if drifted else []
    if Mark.UNOWNED in marks and t.name in end_offsets:
        notes.append(liveness(end_offsets[t.name]))
    return TopicNode(f"t{i}", t.name, label, group, marks, "; ".join(notes))


def _edges(
    plan: Plan,
    nodes: list[TopicNode],
    topics: Mapping[str, _Topic],
    contract_ids: Mapping[str, str],
) -> list[Edge]:
    topic_ids = {n.name: n.id for n in nodes}
    suggested: dict[str, tuple[str, ...]] = {}
    for wire in plan.broken_wires:
        suggested.setdefault(wire.topic, wire.suggestions)
    edges: list[Edge] = []
    for node in nodes:
        t = topics[node.name]
        for key, status in t.publishers:
            kind = {
                TopicState.CONFLICT: EdgeKind.CONFLICT,
                TopicState.INVALID: EdgeKind.INVALID,
            }.get(status.state, EdgeKind.PUBLISH)
            label = "conflict" if kind is EdgeKind.CONFLICT else ""
            edges.append(Edge(contract_ids[key], node.id, kind, label))
        for key, status in t.subscribers:
            kind = {
                TopicState.ORPHANED: EdgeKind.BROKEN,
                TopicState.INVALID: EdgeKind.INVALID,
            }.get(status.state, EdgeKind.SUBSCRIBE)
            edges.append(Edge(node.id, contract_ids[key], kind))
        if Mark.BROKEN in node.marks:
            # The plan's own suggestion (the one the status names), when it is drawn here.
            drawn = [s for s in suggested.get(node.name, ()) if s in topic_ids]
            if drawn:
                edges.append(Edge(node.id, topic_ids[drawn[0]], EdgeKind.SUGGEST, "did you mean?"))
    return edges


def _collapse(graph: Graph) -> Graph:
    """Fold healthy topics into publisher -> subscriber edges; count the ones with no reader."""
    healthy = {t.id for t in graph.topics if t.mark is Mark.HEALTHY}
    touching: dict[str, list[Edge]] = {}
    for e in graph.edges:
        for end in (e.source, e.target):
            if end in healthy:
                touching.setdefault(end, []).append(e)
    # Only topics on plain publish/subscribe edges fold: one a suggestion points at stays
    # visible, since it is the fix for a broken wire.
    healthy = {
        t
        for t in healthy
        if all(e.kind in (EdgeKind.PUBLISH, EdgeKind.SUBSCRIBE) for e in touching.get(t, []))
    }
    labels = {t.id: t.label for t in graph.topics}
    through: dict[tuple[str, str], list[str]] = {}
    hidden: dict[str, int] = {}
    for t in sorted(healthy):
        pubs = [e.source for e in touching.get(t, []) if e.kind is EdgeKind.PUBLISH]
        subs = [e.target for e in touching.get(t, []) if e.kind is EdgeKind.SUBSCRIBE]
        for p in pubs:
            hidden[p] = hidden.get(p, 0) + 1
            for s in subs:
                through.setdefault((p, s), []).append(labels[t])
    edges = [e for e in graph.edges if e.source not in healthy and e.target not in healthy]
    for (p, s), names in sorted(through.items()):
        label = names[0] if len(names) == 1 else f"{len(names)} topics"
        edges.append(Edge(p, s, EdgeKind.COLLAPSED, label))
    contracts = tuple(replace(c, hidden_topics=hidden.get(c.id, 0)) for c in graph.contracts)
    return Graph(
        contracts,
        tuple(t for t in graph.topics if t.id not in healthy),
        tuple(edges),
        hidden_healthy=len(healthy),
        title=graph.title,
    )
