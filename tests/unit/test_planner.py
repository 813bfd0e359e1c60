from contract_operator.core.planner import PlanOptions, TopicState, plan
from contract_operator.core.snapshot import CreateResult

from .factories import broker, contract, observed

DONE = "onex.evt.router.routing-complete.v1"
REQUEST = "onex.cmd.gateway.route-request.v1"


def states(result, key):
    return {t.name: t.state for t in result.for_contract(key).topics}


def test_missing_published_topic_is_planned_with_declared_settings() -> None:
    router = contract(
        "router",
        publish=[
            {
                "name": DONE,
                "partitions": 6,
                "replicationFactor": 3,
                "config": {"retention.ms": 604800000},
            }
        ],
    )
    result = plan([router], broker())
    (request,) = result.to_create
    assert (request.name, request.partitions, request.replication_factor) == (DONE, 6, 3)
    assert dict(request.config) == {"retention.ms": "604800000"}
    assert states(result, "agents/router") == {DONE: TopicState.MISSING}


def test_existing_matching_topic_is_present_and_not_created() -> None:
    router = contract("router", publish=[{"name": DONE, "partitions": 6}])
    result = plan([router], broker(observed(DONE, 6)))
    assert result.to_create == ()
    assert states(result, "agents/router") == {DONE: TopicState.PRESENT}


def test_existing_topic_with_fewer_partitions_is_reported_not_altered() -> None:
    router = contract("router", publish=[{"name": DONE, "partitions": 6}])
    result = plan([router], broker(observed(DONE, 3)))
    assert result.to_create == ()
    (topic,) = result.for_contract("agents/router").topics
    assert topic.state is TopicState.DRIFTED
    assert [(d.field, d.declared, d.actual) for d in topic.drift] == [("partitions", "6", "3")]
    assert "never altered" in topic.message


def test_created_topics_are_reported_created_after_provisioning() -> None:
    router = contract("router", publish=[DONE])
    result = plan([router], broker(), outcome=CreateResult(created=frozenset({DONE})))
    assert states(result, "agents/router") == {DONE: TopicState.CREATED}


def test_refused_create_is_failed_with_the_broker_reason() -> None:
    router = contract("router", publish=[DONE])
    result = plan([router], broker(), outcome=CreateResult(failed={DONE: "INVALID_CONFIG: bad"}))
    (topic,) = result.for_contract("agents/router").topics
    assert topic.state is TopicState.FAILED and "INVALID_CONFIG" in topic.message


def test_unreadable_broker_makes_everything_unknown_and_creates_nothing() -> None:
    router = contract("router", publish=[DONE])
    result = plan([router], None, broker_error="cannot reach broker")
    assert result.to_create == ()
    assert states(result, "agents/router") == {DONE: TopicState.UNKNOWN}


def test_subscription_without_publisher_is_orphaned_and_not_created() -> None:
    router = contract("router", publish=[DONE])
    notifier = contract("notifier", subscribe=["onex.evt.router.routing_complete.v1"])
    result = plan([router, notifier], broker(observed(DONE)))
    (topic,) = result.for_contract("agents/notifier").topics
    assert topic.state is TopicState.ORPHANED
    assert DONE in topic.message
    assert result.to_create == ()


def test_orphaned_subscription_is_created_only_when_asked() -> None:
    notifier = contract("notifier", subscribe=[REQUEST])
    result = plan([notifier], broker(), PlanOptions(create_subscribed=True))
    assert [r.name for r in result.to_create] == [REQUEST]


def test_subscription_waits_for_its_publishers_topic() -> None:
    gateway = contract("gateway", publish=[REQUEST])
    router = contract("router", subscribe=[REQUEST])
    result = plan([gateway, router], broker())
    assert states(result, "agents/router") == {REQUEST: TopicState.PENDING}
    assert "agents/gateway" in result.for_contract("agents/router").topics[0].message
    present = plan([gateway, router], broker(observed(REQUEST)))
    assert states(present, "agents/router") == {REQUEST: TopicState.PRESENT}


def test_conflicting_declaration_loses_to_the_oldest_and_is_not_planned() -> None:
    old = contract(
        "router", publish=[{"name": DONE, "partitions": 6}], created="2026-01-01T00:00:00Z"
    )
    new = contract(
        "router-v2",
        node="router",
        publish=[{"name": DONE, "partitions": 12}],
        created="2026-02-01T00:00:00Z",
    )
    result = plan([new, old], broker())
    assert [(r.name, r.partitions) for r in result.to_create] == [(DONE, 6)]
    assert states(result, "agents/router") == {DONE: TopicState.MISSING}
    (topic,) = result.for_contract("agents/router-v2").topics
    assert topic.state is TopicState.CONFLICT and "agents/router" in topic.message


def test_name_that_breaks_the_rules_is_invalid_and_never_created() -> None:
    rogue = contract("billing", publish=["onex.evt.router.routing-complete.v1"])
    result = plan([rogue], broker())
    assert result.to_create == ()
    assert states(result, "agents/billing") == {DONE: TopicState.INVALID}


def test_one_topic_declared_identically_by_two_contracts_is_created_once() -> None:
    a = contract("router", publish=[DONE])
    b = contract("router-canary", node="router", publish=[DONE])
    result = plan([a, b], broker())
    assert [r.name for r in result.to_create] == [DONE]
