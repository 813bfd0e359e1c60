"""The webhook's handler as a plain function (controller/admission.review): what it answers for
one request, given the operator's view. No kopf, no server."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from contract_operator.controller.admission import NOT_READY_WARNING, review
from contract_operator.controller.admission_view import AdmissionView
from contract_operator.controller.records import Record
from contract_operator.core.admission import AdmissionMode
from contract_operator.core.planner import PlanOptions

from .factories import broker, contract, observed

ROUTED = "onex.evt.router.routing-complete.v1"


def _body(name: str, namespace: str = "agents", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "eventbus.dev/v1alpha1",
        "kind": "NodeContract",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"node": name, "eventBus": spec},
    }


def _loop(cycles: int = 1, namespaces: tuple[str, ...] = ()) -> SimpleNamespace:
    return SimpleNamespace(
        cycles=cycles,
        last_snapshot=broker(observed(ROUTED, 3)),
        settings=SimpleNamespace(plan_options=PlanOptions(), namespaces=namespaces),
    )


def _records() -> list[Record]:
    router = contract("router", publish=[ROUTED])
    return [Record("agents", "router", "uid-router", 1, None, router)]


def _review(body: dict[str, Any], mode: AdmissionMode, loop: Any, view: AdmissionView) -> Any:
    records = _records()
    return review(body, loop, lambda: records, len(records), view, mode)


BAD_NAME = _body("billing", publishTopics=[{"name": "Billing.Invoice"}])
TYPO = _body("notifier", subscribeTopics=["onex.evt.router.routing_complete.v1"])


def test_deny_mode_refuses_a_name_that_breaks_the_rules_and_warn_mode_admits_it() -> None:
    denied = _review(BAD_NAME, AdmissionMode.DENY, _loop(), AdmissionView())
    assert denied.denial is not None and "admission mode deny" in denied.denial
    warned = _review(BAD_NAME, AdmissionMode.WARN, _loop(), AdmissionView())
    assert warned.denial is None and warned.warnings


def test_a_broken_wire_is_a_warning_with_the_name_meant_in_either_mode() -> None:
    for mode in AdmissionMode:
        verdict = _review(TYPO, mode, _loop(), AdmissionView())
        assert verdict.denial is None
        assert any(ROUTED in line for line in verdict.warnings)


def test_a_namespace_the_operator_does_not_watch_gets_no_opinion() -> None:
    loop = _loop(namespaces=("billing",))
    verdict = _review(BAD_NAME, AdmissionMode.DENY, loop, AdmissionView())
    assert verdict.denial is None and verdict.warnings == ()
    watched = _review(
        _body("billing", "billing", publishTopics=[{"name": "X"}]),
        AdmissionMode.DENY,
        loop,
        AdmissionView(),
    )
    assert watched.denial is not None


def test_before_the_first_cycle_or_event_only_names_are_checked_and_it_says_so() -> None:
    """A fleet only half listed would call the notifier's subscription unpublished: until the
    view is complete the webhook does not judge wiring, and warns that it did not."""
    view = AdmissionView()
    early = _review(TYPO, AdmissionMode.DENY, _loop(cycles=0), view)
    assert early.warnings == (NOT_READY_WARNING,)
    view.update("agents/router", _records()[0])  # kopf's first event: the listing is complete
    ready = _review(TYPO, AdmissionMode.DENY, _loop(cycles=0), view)
    assert NOT_READY_WARNING not in ready.warnings
    assert any(ROUTED in line for line in ready.warnings)


def test_an_object_the_parser_refuses_is_denied_with_the_field() -> None:
    body = _body("x", publishTopics=[{"name": ROUTED, "partitions": "many"}])
    verdict = _review(body, AdmissionMode.WARN, _loop(), AdmissionView())
    assert verdict.denial is not None and verdict.denial.startswith("not a valid NodeContract")
    assert "partitions" in verdict.denial
