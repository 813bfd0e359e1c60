import pytest

from contract_operator.adapters.broker import BrokerError, BrokerSettings


def test_missing_bootstrap_says_which_flag_and_variable() -> None:
    with pytest.raises(BrokerError, match=r"--bootstrap-server.*BOOTSTRAP_SERVERS"):
        BrokerSettings.from_env({})


def test_flag_overrides_environment() -> None:
    got = BrokerSettings.from_env({"BOOTSTRAP_SERVERS": "a:9092"}, bootstrap_servers="b:9092")
    assert got.bootstrap_servers == "b:9092"


def test_sasl_without_credentials_is_refused_before_connecting() -> None:
    with pytest.raises(BrokerError, match="needs a SASL mechanism, username and password"):
        BrokerSettings.from_env(
            {"BOOTSTRAP_SERVERS": "a:9092", "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}
        )


def test_unknown_protocol_and_mechanism_are_refused() -> None:
    with pytest.raises(BrokerError, match="unknown security protocol"):
        BrokerSettings.from_env({"BOOTSTRAP_SERVERS": "a:9092", "KAFKA_SECURITY_PROTOCOL": "TLS"})
    with pytest.raises(BrokerError, match="unknown SASL mechanism"):
        BrokerSettings.from_env(
            {
                "BOOTSTRAP_SERVERS": "a:9092",
                "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "KAFKA_SASL_MECHANISM": "GSSAPI",
                "KAFKA_SASL_USERNAME": "u",
                "KAFKA_SASL_PASSWORD": "p",
            }
        )


def test_missing_ca_file_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BrokerError, match="does not exist"):
        BrokerSettings.from_env(
            {"BOOTSTRAP_SERVERS": "a:9092", "KAFKA_SSL_CA_LOCATION": str(tmp_path / "ca.pem")}
        )


def test_password_never_appears_in_repr_but_reaches_the_client() -> None:
    settings = BrokerSettings.from_env(
        {
            "BOOTSTRAP_SERVERS": "a:9092",
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": "svc",
            "KAFKA_SASL_PASSWORD": "hunter2",
        }
    )
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
    conf = settings.client_config()
    assert conf["sasl.password"] == "hunter2"
    assert conf["allow.auto.create.topics"] is False


@pytest.mark.parametrize("timeout", [0, -1, 100000])
def test_broker_timeout_out_of_range_is_refused(timeout: float) -> None:
    with pytest.raises(BrokerError, match="out of range"):
        BrokerSettings.from_env({"BOOTSTRAP_SERVERS": "a:9092"}, timeout_s=timeout)
