"""AsyncAPI on the real tools: exported documents pass the AsyncAPI project's own parser, and
AsyncAPI files are contract sources for `validate`, `plan` and `report` against the testbed."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from kubernetes import client

from contract_operator.model.asyncapi_write import to_asyncapi
from contract_operator.model.contract import GROUP, PLURAL, VERSION, Contract, ContractError
from contract_operator.model.loader import load_paths

from ..unit.test_contract_fuzz import SPECS
from ..unit.test_crd_model_agree import crd_accepts
from .conftest import ROOT, Testbed
from .test_operator import NodeContracts, _nc

pytestmark = pytest.mark.usefixtures("nodecontract_crd")
PARSER_SOURCES = ROOT / "hack" / "asyncapi"
Validator = Callable[[list[Path]], tuple[int, dict[str, list[dict[str, Any]]]]]


def _cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256((PARSER_SOURCES / "package.json").read_bytes()).hexdigest()[:12]
    return base / "contract-operator" / "asyncapi-node" / digest


@pytest.fixture(scope="session")
def asyncapi_validator() -> Iterator[Validator]:
    """`hack/asyncapi/validate.mjs` with the pinned @asyncapi/parser, installed with npm into
    the cache on first use (a lock keeps two sessions from installing at once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are not installed: the AsyncAPI parser cannot run")
    target = _cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "node_modules" / "@asyncapi" / "parser").is_dir():
            shutil.copy(PARSER_SOURCES / "package.json", target / "package.json")
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=target,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                pytest.fail(f"npm install of the AsyncAPI parser failed:\n{done.stderr}")
        shutil.copy(PARSER_SOURCES / "validate.mjs", target / "validate.mjs")

    def validate(paths: list[Path]) -> tuple[int, dict[str, list[dict[str, Any]]]]:
        done = subprocess.run(
            [node, str(target / "validate.mjs"), *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.stdout, done.stderr
        return done.returncode, json.loads(done.stdout)

    yield validate


def _errors(report: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [d for diagnostics in report.values() for d in diagnostics if d["severity"] == 0]


def test_exported_documents_are_valid_for_the_asyncapi_parser(
    testbed: Testbed, asyncapi_validator: Validator, tmp_path: Path
) -> None:
    sources = [str(ROOT / "examples" / "demo"), str(ROOT / "examples" / "nodecontracts")]
    for fmt in ("yaml", "json"):
        out = tmp_path / fmt
        done = testbed.cli("asyncapi", "export", *sources, "-o", str(out), "--format", fmt)
        assert done.returncode == 0, done.stderr
        bundle = testbed.cli("asyncapi", "export", *sources, "--bundle", "--format", fmt)
        (out / f"bus.{fmt}").write_text(bundle.stdout)
        files = sorted(out.iterdir())
        assert len(files) > 4
        code, report = asyncapi_validator(files)
        assert code == 0 and not _errors(report), _errors(report)


def test_the_parser_refuses_a_document_the_binding_schema_forbids(
    asyncapi_validator: Validator, tmp_path: Path
) -> None:
    """The check above can fail: the same parser refuses a binding with 0 replicas."""
    contract = Contract.from_manifest(
        {"node": "router", "event_bus": {"publish_topics": [{"name": "onex.evt.router.a.v1"}]}},
        "r",
    )
    doc = to_asyncapi([contract])
    doc["channels"]["onex.evt.router.a.v1"]["bindings"]["kafka"]["replicas"] = 0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    code, report = asyncapi_validator([path])
    assert code == 1
    assert any("replicas" in d["message"] for d in _errors(report))


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(specs=st.lists(SPECS, min_size=1, max_size=3))
def test_documents_of_any_admitted_contracts_are_valid(
    asyncapi_validator: Validator, tmp_path_factory: pytest.TempPathFactory, specs: list[Any]
) -> None:
    assume(all(crd_accepts(spec) for spec in specs))
    contracts = []
    for index, spec in enumerate(specs):
        try:
            contracts.append(Contract.from_manifest({**spec, "node": f"n{index}"}, f"c{index}"))
        except ContractError:
            continue
    assume(contracts)
    out = tmp_path_factory.mktemp("generated")
    paths = [out / "bundle.json"]
    paths[0].write_text(json.dumps(to_asyncapi(contracts)))
    code, report = asyncapi_validator(paths)
    assert code == 0 and not _errors(report), _errors(report)


ROUTER = """\
node: {p}router
event_bus:
  publish_topics:
    - {{name: onex.evt.{p}router.routing-complete.v1, partitions: 2, replication_factor: 1,
       config: {{retention.ms: 3600000, cleanup.policy: delete}}}}
"""
NOTIFIER = """\
node: {p}notifier
event_bus:
  subscribe_topics: [onex.evt.{p}router.routing_complete.v1]
"""


def test_asyncapi_files_are_contract_sources_for_validate_plan_and_report(
    testbed: Testbed, tmp_path: Path, topic_prefix: str
) -> None:
    contracts, docs = tmp_path / "contracts", tmp_path / "asyncapi"
    contracts.mkdir()
    (contracts / "router.yaml").write_text(ROUTER.format(p=topic_prefix))
    (contracts / "notifier.yaml").write_text(NOTIFIER.format(p=topic_prefix))
    exported = testbed.cli("asyncapi", "export", str(contracts), "-o", str(docs))
    assert exported.returncode == 0, exported.stderr
    files = sorted(str(p) for p in docs.iterdir())

    checked = testbed.cli("validate", *files)
    assert checked.returncode == 1
    assert f"Did you mean onex.evt.{topic_prefix}router.routing-complete.v1" in checked.stdout
    planned = testbed.cli("plan", files[1], "--format", "json")  # the router's document
    assert planned.returncode == 2, planned.stderr  # its topic would be created
    created = json.loads(planned.stdout)
    assert f"onex.evt.{topic_prefix}router.routing-complete.v1" in json.dumps(created)
    reported = testbed.cli("report", *files)
    assert reported.returncode == 1 and "Broken wires (1)" in reported.stdout

    back = tmp_path / "back"
    imported = testbed.cli(
        "asyncapi", "import", *files, "--format", "contract-yaml", "-o", str(back)
    )
    assert imported.returncode == 0, imported.stderr
    before, after = load_paths([contracts]), load_paths([back])
    assert not after.problems
    assert {c.node: c.spec for c in after.contracts} == {c.node: c.spec for c in before.contracts}


def test_the_clusters_nodecontracts_round_trip_through_one_bundle(
    testbed: Testbed,
    kube,
    namespace: str,
    tmp_path: Path,
    topic_prefix: str,  # type: ignore[no-untyped-def]
) -> None:
    node = f"{topic_prefix}router"
    ncs = NodeContracts(kube, namespace)
    ncs.apply(
        _nc(
            "router-nc",  # a name other than the node: it travels too
            node,
            [
                {
                    "name": f"onex.evt.{node}.done.v1",
                    "partitions": 3,
                    "config": {"retention.ms": "7"},
                }
            ],
            [f"onex.evt.{node}.done.v1"],
        )
    )
    ncs.apply(_nc("listener", f"{topic_prefix}listener", [], [f"onex.evt.{node}.done.v1"]))
    exported = testbed.cli("asyncapi", "export", "-n", namespace, "--bundle", "--title", "shop")
    assert exported.returncode == 0, exported.stderr
    bundle = tmp_path / "bus.asyncapi.yaml"
    bundle.write_text(exported.stdout)
    imported = testbed.cli("asyncapi", "import", str(bundle))
    assert imported.returncode == 0, imported.stderr
    back = {
        (d["metadata"]["namespace"], d["metadata"]["name"]): d["spec"]
        for d in yaml.safe_load_all(imported.stdout)
    }
    listed = client.CustomObjectsApi(kube).list_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL
    )["items"]
    assert back == {(namespace, o["metadata"]["name"]): o["spec"] for o in listed}
