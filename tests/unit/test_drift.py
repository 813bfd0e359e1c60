from contract_operator.core.drift import UNSET, drift_of, normalize
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
