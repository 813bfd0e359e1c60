"""Contracts from what a cluster already has: the broker's topics and its consumer groups.

Pure: the broker snapshot and the group reading come in, contract specs and everything that was
not adopted (with the reason) go out. Each adopted topic declares exactly what the broker has
(partitions, replication factor, the configs set on the topic itself), so applying the result
creates nothing and reports no drift. Nothing is guessed: a name that breaks the naming rules,
a group no rule maps to a node and a subscription that would be a broken wire are listed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from contract_operator.core.adopt_names import (
    PLACEHOLDER_NODE,
    RuleBreaker,
    rule_breaker,
    twin_of_existing,
)
from contract_operator.core.naming import NamingRules, check_contract, corrected_name, parse_topic
from contract_operator.core.snapshot import BrokerSnapshot, ObservedTopic
from contract_operator.model.contract import NODE_PATTERN, Contract, ContractSpec, PublishTopic
from contract_operator.model.limits import MAX_PUBLISH_TOPICS, MAX_SUBSCRIBE_TOPICS

# The spelling of {node} in a --group-to-node template: a NodeContract node (a DNS label).
_NODE_GROUP = r"(?P<node>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)"
_NODE_RE = re.compile(NODE_PATTERN)


@dataclass(frozen=True)
class GroupReading:
    """The broker's consumer groups and the topics each reads (committed offsets, or assigned
    to a member); `unreadable` maps the groups the broker would not describe to its reason."""

    topics: Mapping[str, frozenset[str]] = field(default_factory=dict)
    unreadable: Mapping[str, str] = field(default_factory=dict)


def group_rule(text: str) -> re.Pattern[str]:
    """A --group-to-node rule: a template such as '{node}-consumer', or a regex with a `node`
    group. Raises ValueError with what to write instead."""
    if "{node}" in text:
        before, _, after = text.partition("{node}")
        if "{node}" in after:
            raise ValueError(f"group rule {text!r} names {{node}} twice")
        return re.compile(re.escape(before) + _NODE_GROUP + re.escape(after))
    try:
        pattern = re.compile(text)
    except re.error as exc:
        raise ValueError(f"group rule {text!r} is not a valid regex: {exc}") from None
    if "node" not in pattern.groupindex:
        raise ValueError(
            f"group rule {text!r} needs {{node}} (a template such as '{{node}}-consumer') "
            "or a regex with a (?P<node>...) group"
        )
    return pattern


def is_internal(topic: str) -> bool:
    """Kafka's own topics (__consumer_offsets, __transaction_state) and tools' (_schemas)."""
    return topic.startswith("_")


@dataclass(frozen=True)
class Withheld:
    """A subscription a group shows but that the written contract leaves out, and why."""

    node: str
    group: str
    topic: str
    reason: str


@dataclass(frozen=True)
class AdoptedContract:
    name: str  # the NodeContract's metadata.name (the node, unless that name is taken)
    spec: ContractSpec


@dataclass(frozen=True)
class Adoption:
    contracts: tuple[AdoptedContract, ...] = ()
    rule_breakers: tuple[RuleBreaker, ...] = ()
    owned: Mapping[str, str] = field(default_factory=dict)  # topic -> contract already owning it
    unmapped_groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    withheld: tuple[Withheld, ...] = ()
    unreadable_groups: Mapping[str, str] = field(default_factory=dict)
    internal: tuple[str, ...] = ()

    @property
    def topics(self) -> int:
        return sum(len(c.spec.event_bus.publish_topics) for c in self.contracts)


def declared(topic: ObservedTopic) -> dict[str, object]:
    """The declaration that matches `topic` exactly: what the broker has, with only the configs
    set on the topic itself (defaults are the cluster's, and stay undeclared)."""
    out: dict[str, object] = {"name": topic.name, "partitions": topic.partitions}
    if topic.replication_factor > 0:
        out["replicationFactor"] = topic.replication_factor
    config = {k: v for k, v in sorted(topic.config.items()) if k in topic.dynamic and v is not None}
    if config:
        out["config"] = config
    return out


def _unfit(topic: ObservedTopic, readers: tuple[str, ...]) -> RuleBreaker | None:
    """A topic whose settings no contract can declare (a config value the CRD refuses)."""
    try:
        PublishTopic.model_validate(declared(topic))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        return RuleBreaker(
            topic.name,
            f"{topic.name}: its settings cannot be declared in a contract: {error['msg']}",
            "Declare it by hand, or change the topic on the broker.",
            readers,
        )
    return None


def _node_of(group: str, group_rules: Sequence[re.Pattern[str]]) -> str | None:
    for rule in group_rules:
        match = rule.fullmatch(group)
        if match and match.group("node") and _NODE_RE.match(match.group("node")):
            return match.group("node")
    return None


def adopt(
    snapshot: BrokerSnapshot,
    groups: GroupReading,
    rules: NamingRules,
    group_rules: Sequence[re.Pattern[str]] = (),
    existing: Sequence[Contract] = (),
    taken_names: Collection[str] = (),
    scope: re.Pattern[str] | None = None,
) -> Adoption:
    """One contract per producer segment for the topics on the broker, with the subscriptions
    of the consumer groups `group_rules` map to nodes. Topics `existing` contracts publish are
    left to them; `taken_names` are NodeContract names already used in the target namespace.
    With `scope`, only topics whose names it matches are looked at (a team at a time)."""
    if scope is not None:
        snapshot, groups = _in_scope(snapshot, groups, scope)
    readers: dict[str, list[str]] = {}
    for group, topics in sorted(groups.topics.items()):
        for topic in topics:
            readers.setdefault(topic, []).append(group)
    owned = _owned(existing, rules)
    internal = tuple(sorted(n for n in snapshot.all_names if is_internal(n)))
    publish: dict[str, list[dict[str, object]]] = {}
    breakers: list[RuleBreaker] = []
    for name in sorted(snapshot.all_names - owned.keys() - set(internal)):
        breaker = rule_breaker(name, rules, tuple(readers.get(name, ())))
        observed = snapshot.get(name)
        if breaker is None and observed is not None:
            breaker = _unfit(observed, tuple(readers.get(name, ())))
        if breaker is not None:
            breakers.append(twin_of_existing(breaker, snapshot.all_names, rules))
        elif observed is not None:  # listed but gone before it was described: not adopted
            parts = parse_topic(name, rules)
            node = (parts and parts.producer) or PLACEHOLDER_NODE
            publish.setdefault(node, []).append(declared(observed))
    published = {str(t["name"]) for topics in publish.values() for t in topics} | owned.keys()
    subscribe, withheld, unmapped = _subscriptions(
        groups, group_rules, published, {b.topic: b for b in breakers}, existing, rules
    )
    contracts = _contracts(publish, subscribe, set(taken_names))
    return Adoption(
        contracts=tuple(contracts),
        rule_breakers=tuple(breakers),
        owned={k: v for k, v in sorted(owned.items()) if k in snapshot.all_names},
        unmapped_groups=unmapped,
        withheld=tuple(withheld),
        unreadable_groups=dict(groups.unreadable),
        internal=internal,
    )


def _owned(existing: Sequence[Contract], rules: NamingRules) -> dict[str, str]:
    """Topics existing contracts publish under the rules (a declaration that breaks them owns
    nothing, as in the operator), by the first contract declaring each."""
    owned: dict[str, str] = {}
    for contract in existing:
        broken = {p.topic for p in check_contract(contract, rules) if p.is_error}
        for topic in contract.published:
            if topic.name not in broken:
                owned.setdefault(topic.name, contract.key)
    return owned


def _in_scope(
    snapshot: BrokerSnapshot, groups: GroupReading, scope: re.Pattern[str]
) -> tuple[BrokerSnapshot, GroupReading]:
    """The topics `scope` matches, and the groups reading any of them (those topics only)."""
    names = frozenset(n for n in snapshot.all_names if scope.search(n))
    topics = {n: t for n, t in snapshot.topics.items() if n in names}
    reads = {g: frozenset(t for t in ts if scope.search(t)) for g, ts in groups.topics.items()}
    return (
        BrokerSnapshot(topics, names, snapshot.cluster),
        GroupReading({g: ts for g, ts in reads.items() if ts}, groups.unreadable),
    )


def _subscriptions(
    groups: GroupReading,
    group_rules: Sequence[re.Pattern[str]],
    published: Collection[str],
    breakers: Mapping[str, RuleBreaker],
    existing: Sequence[Contract],
    rules: NamingRules,
) -> tuple[dict[str, set[str]], list[Withheld], dict[str, frozenset[str]]]:
    """Each mapped group's topics as its node's subscriptions. A topic nobody would publish is
    withheld (it would be a broken wire), with the rename when its name breaks the rules."""
    already = {(c.node, s) for c in existing for s in c.subscribed}
    subscribe: dict[str, set[str]] = {}
    withheld: list[Withheld] = []
    unmapped: dict[str, frozenset[str]] = {}
    for group, topics in sorted(groups.topics.items()):
        node = _node_of(group, group_rules)
        if node is None:
            unmapped[group] = topics
            continue
        subscribe.setdefault(node, set())
        for topic in sorted(t for t in topics if not is_internal(t)):
            if topic in published:
                if (node, topic) not in already:
                    subscribe[node].add(topic)
            elif topic in breakers:
                fix = breakers[topic].fix
                renamed = corrected_name(topic, rules)
                if renamed in published:  # the consumer's typo of a topic that is adopted
                    fix = f"Subscribe to {renamed} instead (it is published)."
                reason = f"its name breaks the naming rules. {fix}".strip()
                withheld.append(Withheld(node, group, topic, reason))
            else:
                reason = "no topic of that name is on the broker, and no contract publishes it"
                withheld.append(Withheld(node, group, topic, reason))
    return subscribe, withheld, unmapped


def _contracts(
    publish: Mapping[str, list[dict[str, object]]],
    subscribe: Mapping[str, set[str]],
    taken: set[str],
) -> list[AdoptedContract]:
    """Specs per node, split where a node has more topics than one contract may hold."""
    out: list[AdoptedContract] = []
    for node in sorted(publish.keys() | {n for n, s in subscribe.items() if s}):
        topics = publish.get(node, [])
        subs = sorted(subscribe.get(node, ()))
        chunks = max(
            1,
            -(-len(topics) // MAX_PUBLISH_TOPICS),
            -(-len(subs) // MAX_SUBSCRIBE_TOPICS),
        )
        for index in range(chunks):
            name = node if index == 0 else f"{node}-{index + 1}"
            while name in taken:
                name = f"{name}-adopted"
            taken.add(name)
            pub = topics[index * MAX_PUBLISH_TOPICS : (index + 1) * MAX_PUBLISH_TOPICS]
            sub = subs[index * MAX_SUBSCRIBE_TOPICS : (index + 1) * MAX_SUBSCRIBE_TOPICS]
            body = {"node": node, "eventBus": {"publishTopics": pub, "subscribeTopics": sub}}
            out.append(AdoptedContract(name, ContractSpec.model_validate(body)))
    return out
