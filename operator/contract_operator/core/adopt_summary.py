"""What `adopt` did and what it left out, as text for the person who ran it."""

from __future__ import annotations

from collections.abc import Sequence

from contract_operator.core.adopt import Adoption

MAX_LISTED_TOPICS = 5


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _some(names: Sequence[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED_TOPICS])
    more = len(names) - MAX_LISTED_TOPICS
    return shown + (f", ... ({more} more)" if more > 0 else "")


def render_summary(result: Adoption, broker: str, paths: Sequence[str] = ()) -> str:
    """Counts first, then one section per kind of thing left out, each item with its fix."""
    nodes = sorted({c.spec.node for c in result.contracts})
    subscriptions = sum(len(c.spec.event_bus.subscribe_topics) for c in result.contracts)
    lines = [
        f"Adopted {_plural(result.topics, 'topic')} and {_plural(subscriptions, 'subscription')} "
        f"into {_plural(len(result.contracts), 'contract')} ({_some(nodes) or 'none'}) from "
        f"broker {broker}."
    ]
    if paths:
        lines.append(f"Wrote {_plural(len(paths), 'file')}: {_some(list(paths))}")
    if result.owned:
        lines += ["", f"Skipped ({len(result.owned)}) - already published by a NodeContract:"]
        lines += [f"  = {topic}  ({owner})" for topic, owner in result.owned.items()]
    if result.rule_breakers:
        lines += ["", f"Not adopted ({len(result.rule_breakers)}) - names that break the rules:"]
        for b in result.rule_breakers:
            lines += [f"  ! {b.message}"]
            lines += [f"      fix: {b.fix}"] if b.fix else []
            lines += [f"      read by: {', '.join(b.readers)}"] if b.readers else []
    if result.withheld:
        lines += [
            "",
            f"Subscriptions left out ({len(result.withheld)}) - they would be broken wires:",
        ]
        for w in result.withheld:
            lines += [f"  x {w.node} (group {w.group}) reads {w.topic}", f"      {w.reason}"]
    if result.unmapped_groups:
        lines += [
            "",
            f"Unmapped consumer groups ({len(result.unmapped_groups)}) - no --group-to-node "
            "rule maps them to a node:",
        ]
        for group, topics in result.unmapped_groups.items():
            lines.append(
                f"  ? {group}  reads {_plural(len(topics), 'topic')}: {_some(sorted(topics))}"
            )
    if result.unreadable_groups:
        lines += ["", f"Unreadable consumer groups ({len(result.unreadable_groups)}):"]
        lines += [f"  ? {g}: {why}" for g, why in result.unreadable_groups.items()]
    if result.internal:
        lines += ["", f"Internal topics ignored: {_some(list(result.internal))}"]
    return "\n".join(lines) + "\n"
