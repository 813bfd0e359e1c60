"""`plan`/`provision` argument and input errors, which need no broker."""

from pathlib import Path

import pytest

from contract_operator.cli.main import main


@pytest.mark.parametrize("command", ["plan", "provision"])
def test_unreadable_input_is_reported_without_contacting_the_broker(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens on port 1: contacting it would end in "cannot reach broker".
    code = main([command, str(tmp_path / "missing"), "--bootstrap-server", "127.0.0.1:1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "nothing to plan" in err and "does not exist" in err
    assert "cannot reach" not in err


def test_missing_broker_address_says_how_to_give_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOOTSTRAP_SERVERS", raising=False)
    path = tmp_path / "contract.yaml"
    path.write_text(
        "node: router\nevent_bus:\n  publish_topics: [{name: onex.evt.router.done.v1}]\n"
    )
    assert main(["plan", str(path)]) == 1
    assert "--bootstrap-server" in capsys.readouterr().err
