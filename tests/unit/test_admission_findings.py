"""The exact findings admission adds for one incoming contract: pause warnings and Kafka's
'.'/'_' collisions (against the fleet and against the broker)."""

from __future__ import annotations

from contract_operator.core.admission import AdmissionMode, FleetView, decide
from contract_operator.core.naming import NamingRules
from contract_operator.model.contract import Contract
from contract_operator.model.problems import Problem, Severity

from .factories import broker, contract, observed
from .fakes import manifest

R = "onex.evt.router"
# A custom pattern that allows '_', the only way two names can differ in '.' vs '_' alone.
LOOSE = NamingRules(pattern=r"^(?P<producer>[a-z0-9]+)\.[a-z0-9._]+$", kinds=frozenset())


def _paused(value: str, publish: list[str]) -> Contract:
    body = manifest("router", publish=publish)
    body["metadata"]["annotations"] = {"eventbus.dev/paused": value}
    return Contract.from_manifest(body, source="agents/router")


def _paused_problem(missing: str) -> Problem:
    return Problem(
        Severity.WARNING,
        "provisioning-paused",
        f'agents/router is paused (eventbus.dev/paused: "true"): {missing} do not exist yet and '
        "are not created while it stays paused",
        "Remove the annotation to create them.",
        source="agents/router",
        contract="agents/router",
    )


def test_a_paused_contract_is_told_which_of_its_topics_wait() -> None:
    incoming = _paused("true", [f"{R}.a.v1", f"{R}.b.v1", f"{R}.c.v1"])
    decision = decide(incoming, FleetView(), broker(observed(f"{R}.b.v1")))
    assert decision.allowed
    assert decision.warnings == (_paused_problem(f"{R}.a.v1, {R}.c.v1"),)


def test_a_paused_contract_whose_topics_all_exist_gets_no_pause_warning() -> None:
    incoming = _paused("true", [f"{R}.a.v1"])
    assert decide(incoming, FleetView(), broker(observed(f"{R}.a.v1"))).warnings == ()


def test_without_a_broker_snapshot_nothing_is_said_about_waiting_topics() -> None:
    assert decide(_paused("true", [f"{R}.a.v1"]), FleetView(), None).warnings == ()


def test_an_unclear_pause_value_pauses_and_says_so() -> None:
    decision = decide(_paused("yes", [f"{R}.a.v1"]), FleetView(), broker())
    assert decision.allowed
    assert decision.warnings == (
        Problem(
            Severity.WARNING,
            "pause-annotation-unclear",
            'agents/router has eventbus.dev/paused: "yes", which is neither "true" nor '
            '"false": it is treated as paused, so nothing is created for it',
            'Write eventbus.dev/paused: "true" to keep it paused, or remove the annotation (or '
            'write "false") to resume.',
            source="agents/router",
            contract="agents/router",
            field="metadata.annotations['eventbus.dev/paused']",
        ),
        _paused_problem(f"{R}.a.v1"),
    )


def _collision(other: str, where: str) -> Problem:
    return Problem(
        Severity.ERROR,
        "topic-collision",
        f"agents/p2 publishes p.a_b.c, which collides with {other} ({where}): Kafka treats '.' "
        "and '_' alike in topic names and refuses the second one",
        f"Rename p.a_b.c so it differs from {other} in more than '.' vs '_'.",
        source="agents/p2",
        contract="agents/p2",
        topic="p.a_b.c",
        field="spec.eventBus.publishTopics[1].name",
    )


INCOMING = contract("p2", node="p", publish=["p.x.y", "p.a_b.c"])
DECLARED = contract("p1", node="p", publish=["p.a.b_c"])


def collisions(view: FleetView, *on_broker: str) -> list[Problem]:
    decision = decide(INCOMING, view, broker(extra=on_broker), AdmissionMode.DENY)
    assert decision.allowed  # said, not refused: the loop reports it on the contract too
    return [p for p in decision.warnings if p.code == "topic-collision"]


def test_a_name_colliding_with_another_declaration_is_said() -> None:
    assert collisions(FleetView([DECLARED], LOOSE)) == [_collision("p.a.b_c", "declared too")]


def test_a_name_colliding_with_a_topic_on_the_broker_is_said() -> None:
    assert collisions(FleetView([], LOOSE), "p.a.b_c") == [_collision("p.a.b_c", "on the broker")]


def test_the_broker_collision_is_named_before_the_declared_one() -> None:
    other = contract("p3", node="p", publish=["p_a.b.c"])
    assert collisions(FleetView([other], LOOSE), "p.a.b_c") == [
        _collision("p.a.b_c", "on the broker")
    ]


def test_a_name_already_on_the_broker_is_never_the_one_at_fault() -> None:
    assert collisions(FleetView([DECLARED], LOOSE), "p.a_b.c", "p.a.b_c") == []


def test_the_incoming_contract_does_not_collide_with_its_own_older_version() -> None:
    assert collisions(FleetView([INCOMING], LOOSE)) == []


def test_until_the_view_is_complete_collisions_are_not_checked() -> None:
    decision = decide(INCOMING, FleetView([DECLARED], LOOSE), broker(), view_ready=False)
    assert [p for p in decision.warnings if p.code == "topic-collision"] == []
