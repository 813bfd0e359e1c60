import pytest

from contract_operator.core.drift import UNSET, drift_of, is_unsafe, normalize, unverifiable_keys
from contract_operator.model.contract import PublishTopic

from .factories import observed

TOPIC = "onex.evt.router.routing-complete.v1"


def test_integer_config_values_compare_equal_across_spellings() -> None:
    assert normalize("retention.ms", "604800000") == normalize("retention.ms", 604800000)
    assert normalize("retention.ms", " 604800000 ") == normalize("retention.ms", "6.048e8")
    assert normalize("retention.ms", "604800000") != normalize("retention.ms", "86400000")


def test_booleans_and_set_valued_configs_are_normalized() -> None:
    assert normalize("unclean.leader.election.enable", "True") == "true"
    assert normalize("cleanup.policy", "delete,compact") == normalize(
        "cleanup.policy", "compact,delete"
    )
    assert normalize("cleanup.policy", "delete") != normalize("cleanup.policy", "compact")


def test_missing_value_is_unset() -> None:
    assert normalize("retention.ms", None) == UNSET


def test_matching_topic_has_no_drift() -> None:
    declared = PublishTopic(name=TOPIC, partitions=6, config={"retention.ms": "604800000"})
    assert drift_of(declared, observed(TOPIC, 6, 1, **{"retention.ms": "604800000"})) == ()


def test_each_drifted_field_is_reported_with_declared_and_actual() -> None:
    declared = PublishTopic(
        name=TOPIC,
        partitions=6,
        replication_factor=3,
        config={
            "retention.ms": "604800000",
            "retention.bytes": "1073741824",
            "cleanup.policy": "delete",
            "max.message.bytes": "2097152",
        },
    )
    actual = observed(
        TOPIC,
        3,
        1,
        **{
            "retention.ms": "86400000",
            "retention.bytes": "-1",
            "cleanup.policy": "compact",
            "max.message.bytes": "1048576",
        },
    )
    fields = {d.field: (d.declared, d.actual) for d in drift_of(declared, actual)}
    assert fields == {
        "partitions": ("6", "3"),
        "replicationFactor": ("3", "1"),
        "retention.ms": ("604800000", "86400000"),
        "retention.bytes": ("1073741824", "-1"),
        "cleanup.policy": ("delete", "compact"),
        "max.message.bytes": ("2097152", "1048576"),
    }


def test_undeclared_broker_configs_are_not_drift() -> None:
    declared = PublishTopic(name=TOPIC, partitions=1)
    assert drift_of(declared, observed(TOPIC, 1, 1, **{"retention.ms": "1"})) == ()


def test_undeclared_partitions_and_replication_factor_are_never_drift() -> None:
    declared = PublishTopic(name=TOPIC)
    assert drift_of(declared, observed(TOPIC, 5, 3)) == ()


@pytest.mark.parametrize(
    ("field", "declared", "actual"),
    [
        ("replicationFactor", "3", "1"),
        ("min.insync.replicas", "2", "1"),
        ("retention.ms", "604800000", "3600000"),
        ("retention.bytes", "1073741824", "1048576"),
        ("retention.ms", "-1", "604800000"),  # unlimited declared, a limit on the broker
        ("cleanup.policy", "compact", "delete"),
        ("cleanup.policy", "compact", "compact,delete"),
    ],
)
def test_drift_that_keeps_fewer_copies_or_less_data_is_unsafe(
    field: str, declared: str, actual: str
) -> None:
    assert is_unsafe(field, declared, actual)


@pytest.mark.parametrize(
    ("field", "declared", "actual"),
    [
        ("partitions", "6", "3"),
        ("replicationFactor", "1", "3"),
        ("min.insync.replicas", "1", "2"),
        ("retention.ms", "3600000", "604800000"),
        ("retention.ms", "604800000", "-1"),  # unlimited on the broker keeps more
        ("retention.bytes", "-1", "-1"),
        ("cleanup.policy", "delete", "compact"),
        ("cleanup.policy", "compact,delete", "compact"),
        ("max.message.bytes", "2097152", "1048576"),
        ("retention.ms", "604800000", "soon"),  # not a number: cannot be judged
    ],
)
def test_other_drift_is_not_unsafe(field: str, declared: str, actual: str) -> None:
    assert not is_unsafe(field, declared, actual)


def test_unsafe_is_reported_on_the_drifted_field() -> None:
    declared = PublishTopic(name=TOPIC, partitions=6, config={"retention.ms": "604800000"})
    drift = {
        d.field: d for d in drift_of(declared, observed(TOPIC, 3, **{"retention.ms": "3600000"}))
    }
    assert (drift["partitions"].unsafe, drift["retention.ms"].unsafe) == (False, True)
    assert drift["retention.ms"].to_dict()["unsafe"] is True
    assert "unsafe" not in drift["partitions"].to_dict()


def test_a_declared_key_the_broker_does_not_report_is_unverifiable_not_drift() -> None:
    declared = PublishTopic(
        name=TOPIC, config={"redpanda.remote.read": "true", "retention.ms": "1"}
    )
    actual = observed(TOPIC, **{"retention.ms": "1"})
    assert drift_of(declared, actual) == ()
    assert unverifiable_keys(declared, actual) == ("redpanda.remote.read",)
