"""Options shared by subcommands, and the error that means "you called me wrong" (exit 2)."""

from __future__ import annotations

import argparse

from contract_operator.core.naming import DEFAULT_KINDS, DEFAULT_PATTERN, NamingRules


class UsageError(Exception):
    """Bad arguments that argparse cannot see (e.g. an invalid regex); main() exits 2."""


def add_naming_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("naming rules")
    group.add_argument(
        "--pattern",
        default=DEFAULT_PATTERN,
        metavar="REGEX",
        help="topic name pattern (a Python regex) with the named groups kind and producer; "
        "default: onex.<kind>.<producer>.<event>.v<N> in lowercase words joined by '-'",
    )
    group.add_argument(
        "--kinds",
        default=",".join(sorted(DEFAULT_KINDS)),
        metavar="A,B,C",
        help="allowed values of the kind segment; empty to allow any (default: %(default)s)",
    )
    group.add_argument(
        "--no-producer-rule",
        dest="enforce_producer",
        action="store_false",
        help="let a contract publish under another node's producer segment",
    )


def naming_rules(args: argparse.Namespace) -> NamingRules:
    kinds = frozenset(k.strip() for k in args.kinds.split(",") if k.strip())
    try:
        return NamingRules(
            pattern=args.pattern, kinds=kinds, enforce_producer=args.enforce_producer
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def add_known_topics_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--known-topics",
        default="",
        metavar="A,B",
        help="topics that exist on the broker; a subscription to one that no contract "
        "publishes is reported as left behind",
    )


def known_topics(args: argparse.Namespace) -> frozenset[str]:
    return frozenset(t.strip() for t in args.known_topics.split(",") if t.strip())
