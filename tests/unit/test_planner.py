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


def test_omitted_partitions_and_replication_factor_ask_for_the_cluster_default() -> None:
    result = plan([contract("router", publish=[DONE])], broker())
    (request,) = result.to_create
    assert (request.partitions, request.replication_factor) == (None, None)


def test_existing_topic_with_undeclared_partitions_is_present_with_its_actual_values() -> None:
    result = plan([contract("router", publish=[DONE])], broker(observed(DONE, 5, 3)))
    (topic,) = result.for_contract("agents/router").topics
    assert topic.state is TopicState.PRESENT
    assert topic.to_dict() | {"partitions": 5, "replicationFactor": 3} == topic.to_dict()


def test_subscriber_status_shows_the_topics_actual_values() -> None:
    contracts = [contract("router", publish=[DONE]), contract("audit", subscribe=[DONE])]
    result = plan(contracts, broker(observed(DONE, 4, 1)))
    (topic,) = result.for_contract("agents/audit").topics
    assert (topic.partitions, topic.replication_factor) == (4, 1)


def test_declared_key_the_broker_does_not_report_is_an_unverifiable_note() -> None:
    pub = {"name": DONE, "config": {"redpanda.remote.write": "true"}}
    result = plan([contract("router", publish=[pub])], broker(observed(DONE)))
    (topic,) = result.for_contract("agents/router").topics
    assert topic.state is TopicState.PRESENT
    assert topic.unverifiable == ("redpanda.remote.write",)
    assert "unverifiable" in topic.message and "redpanda.remote.write" in topic.message


def test_retention_cut_is_unsafe_drift_and_partition_difference_is_not() -> None:
    pubs = [
        {"name": DONE, "config": {"retention.ms": "604800000"}},
        {"name": "onex.evt.router.route-failed.v1", "partitions": 6},
    ]
    result = plan(
        [contract("router", publish=pubs)],
        broker(
            observed(DONE, **{"retention.ms": "3600000"}),
            observed("onex.evt.router.route-failed.v1", 3),
        ),
    )
    unsafe = {t.name: t.unsafe for _, t in result.drifted}
    assert unsafe == {DONE: True, "onex.evt.router.route-failed.v1": False}
    assert [t.name for _, t in result.unsafe_drift] == [DONE]


def test_a_numeric_config_written_with_units_is_invalid_and_never_created() -> None:
    pub = {"name": DONE, "config": {"retention.ms": "7d"}}
    result = plan([contract("router", publish=[pub])], broker())
    (topic,) = result.for_contract("agents/router").topics
    assert result.to_create == ()
    assert topic.state is TopicState.INVALID and "retention.ms" in topic.message


def test_foreign_producer_declaration_never_owns_the_topic_even_when_older() -> None:
    paid = "onex.evt.billing.paid.v1"
    rogue = contract(
        "rogue", publish=[{"name": paid, "partitions": 1}], created="2020-01-01T00:00:00Z"
    )
    billing = contract(
        "billing", publish=[{"name": paid, "partitions": 6}], created="2026-01-01T00:00:00Z"
    )
    result = plan([rogue, billing], broker())
    (request,) = result.to_create
    assert (request.name, request.partitions) == (paid, 6)
    assert states(result, "agents/rogue") == {paid: TopicState.INVALID}
    assert states(result, "agents/billing") == {paid: TopicState.MISSING}
    assert not [p for p in result.problems if p.code == "conflict"]


def test_subscriber_of_a_topic_only_an_invalid_contract_publishes_is_a_broken_wire() -> None:
    paid = "onex.evt.billing.paid.v1"
    rogue = contract("rogue", publish=[paid])
    ledger = contract("ledger", subscribe=[paid])
    result = plan([rogue, ledger], broker())
    (topic,) = result.for_contract("agents/ledger").topics
    assert topic.state is TopicState.ORPHANED
    assert topic.message.startswith(
        "its only publisher, agents/rogue, declares it under another node's producer segment"
    )
    assert result.to_create == ()


def test_create_subscribed_never_creates_a_topic_an_invalid_contract_declares() -> None:
    paid = "onex.evt.billing.paid.v1"
    contracts = [contract("rogue", publish=[paid]), contract("ledger", subscribe=[paid])]
    assert plan(contracts, broker(), PlanOptions(create_subscribed=True)).to_create == ()
