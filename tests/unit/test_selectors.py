"""--selector: `kubectl -l` syntax parsed once, matched against a contract's labels, and written
as the LabelSelector a webhook's objectSelector takes."""

from __future__ import annotations

import pytest

from contract_operator.core.selectors import Requirement, SelectorError, parse_selector

TEAM = {"team": "payments", "tier": "prod"}


@pytest.mark.parametrize(
    ("text", "requirements"),
    [
        ("team=payments", [("team", "In", ("payments",))]),
        ("team==payments", [("team", "In", ("payments",))]),
        ("team != payments", [("team", "NotIn", ("payments",))]),
        ("env in (prod, staging)", [("env", "In", ("prod", "staging"))]),
        ("env notin (dev,,test )", [("env", "NotIn", ("dev", "test"))]),
        ("owner", [("owner", "Exists", ())]),
        ("!owner", [("owner", "DoesNotExist", ())]),
        ("! owner", [("owner", "DoesNotExist", ())]),
        ("eventbus.dev/cluster=a", [("eventbus.dev/cluster", "In", ("a",))]),
        ("team=", [("team", "In", ("",))]),
        (
            "team=payments, env in (a,b),!legacy",
            [
                ("team", "In", ("payments",)),
                ("env", "In", ("a", "b")),
                ("legacy", "DoesNotExist", ()),
            ],
        ),
    ],
)
def test_each_requirement_form_parses(text: str, requirements: list[tuple]) -> None:  # type: ignore[type-arg]
    selector = parse_selector(text)
    assert selector.text == text
    assert [(r.key, r.operator, r.values) for r in selector.requirements] == requirements


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_selector_matches_everything(text: str) -> None:
    selector = parse_selector(text)
    assert selector.requirements == ()
    assert selector.matches({}) and selector.matches(None) and selector.matches(TEAM)
    assert selector.label_selector() == {}


@pytest.mark.parametrize(
    ("text", "labels", "matched"),
    [
        ("team=payments", TEAM, True),
        ("team=payments", {"team": "search"}, False),
        ("team=payments", {}, False),
        ("team!=payments", TEAM, False),
        ("team!=payments", {"team": "search"}, True),
        ("team!=payments", {}, True),  # NotIn: an absent key matches
        ("tier in (prod, staging)", TEAM, True),
        ("tier in (dev)", TEAM, False),
        ("tier notin (dev)", TEAM, True),
        ("tier notin (prod)", TEAM, False),
        ("team", TEAM, True),
        ("owner", TEAM, False),
        ("!owner", TEAM, True),
        ("!team", TEAM, False),
        ("team=payments,tier=prod", TEAM, True),
        ("team=payments,tier=test", TEAM, False),
        ("team=payments", None, False),
        ("!team", None, True),
    ],
)
def test_matching(text: str, labels: dict[str, str] | None, matched: bool) -> None:
    assert parse_selector(text).matches(labels) is matched


def test_requirements_match_alone() -> None:
    assert Requirement("a", "Exists").matches({"a": ""})
    assert not Requirement("a", "DoesNotExist").matches({"a": ""})
    assert Requirement("a", "In", ("x", "y")).matches({"a": "y"})
    assert not Requirement("a", "NotIn", ("x", "y")).matches({"a": "y"})


def test_the_label_selector_object() -> None:
    selector = parse_selector("team=payments, env in (a, b), tier!=test, owner, !legacy")
    assert selector.label_selector() == {
        "matchLabels": {"team": "payments"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["a", "b"]},
            {"key": "tier", "operator": "NotIn", "values": ["test"]},
            {"key": "owner", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    assert parse_selector("team=a").label_selector() == {"matchLabels": {"team": "a"}}
    assert parse_selector("!a").label_selector() == {
        "matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]
    }


def test_commas_inside_parentheses_do_not_split() -> None:
    selector = parse_selector("env in (a,b),tier notin (c,d)")
    assert [r.values for r in selector.requirements] == [("a", "b"), ("c", "d")]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("env in ()", "'in' needs at least one value"),
        ("env notin ( , )", "'notin' needs at least one value"),
        ("team=pay ments", "is not a label selector requirement"),
        ("team=payments,", "is not a label selector requirement"),
        ("=payments", "is not a label selector requirement"),
        ("team>3", "is not a label selector requirement"),
    ],
)
def test_a_bad_selector_says_which_part_and_the_syntax(text: str, says: str) -> None:
    with pytest.raises(SelectorError) as error:
        parse_selector(text)
    assert says in str(error.value)
    if "not a label selector" in says:
        assert "use key=value, key!=value, key in (a,b), key notin (a,b), key or !key" in str(
            error.value
        )
