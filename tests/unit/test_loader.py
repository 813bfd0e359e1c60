"""The loader: files, directories, multi-document YAML, cluster objects; bad input is a Problem."""

from __future__ import annotations

import os
from pathlib import Path

from contract_operator.core.problems import Severity
from contract_operator.model.limits import MAX_FILE_BYTES, MAX_PUBLISH_TOPICS
from contract_operator.model.loader import load_objects, load_paths

ROOT = Path(__file__).resolve().parents[2]

ROUTER = """\
apiVersion: eventbus.dev/v1alpha1
kind: NodeContract
metadata: {name: router, namespace: agents}
spec:
  node: router
  eventBus:
    publishTopics:
      - name: onex.evt.router.routing-complete.v1
"""

NOTIFIER_FILE = """\
node: notifier
event_bus:
  subscribe_topics: [onex.evt.router.routing-complete.v1]
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def codes(result: object) -> list[tuple[str, str]]:
    return [(p.severity.value, p.code) for p in result.problems]  # type: ignore[attr-defined]


def test_directory_is_searched_recursively_for_yaml_and_yml_in_sorted_order(tmp_path: Path) -> None:
    write(tmp_path / "z" / "router.yml", ROUTER)
    write(tmp_path / "a" / "notifier" / "contract.yaml", NOTIFIER_FILE)
    write(tmp_path / "README.md", "not yaml")
    result = load_paths([tmp_path])
    assert [c.key for c in result.contracts] == ["notifier", "agents/router"]
    assert result.problems == []
    assert len(result.files) == 2


def test_hidden_directories_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / ".git" / "x.yaml", "node: [")
    write(tmp_path / "router.yaml", ROUTER)
    assert codes(load_paths([tmp_path])) == []


def test_multi_document_file_yields_every_contract(tmp_path: Path) -> None:
    path = write(tmp_path / "all.yaml", ROUTER + "---\n" + NOTIFIER_FILE + "---\n")
    result = load_paths([path])
    assert [c.key for c in result.contracts] == ["agents/router", "notifier"]
    assert {c.source for c in result.contracts} == {str(path)}


def test_other_kinds_in_the_same_file_are_skipped_with_an_info_note(tmp_path: Path) -> None:
    namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: agents}\n---\n"
    result = load_paths([write(tmp_path / "all.yaml", namespace + ROUTER)])
    assert [c.key for c in result.contracts] == ["agents/router"]
    assert codes(result) == [("info", "skipped-kind")]
    assert "Namespace agents" in result.problems[0].message


def test_a_list_kind_is_unpacked(tmp_path: Path) -> None:
    items = ROUTER.replace("\n", "\n    ")
    text = f"apiVersion: v1\nkind: List\nitems:\n  - {items}"
    result = load_paths([write(tmp_path / "list.yaml", text)])
    assert [c.key for c in result.contracts] == ["agents/router"]


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    result = load_paths([tmp_path / "nope"])
    assert codes(result) == [("error", "path-not-found")]


def test_yaml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "node: router\nevent_bus:\n  publish_topics: [a\n  x: }\n")
    (problem,) = load_paths([path]).problems
    assert (problem.code, problem.source) == ("yaml-syntax", str(path))
    assert problem.message.startswith("line 4")


def test_duplicate_keys_are_rejected_with_both_lines(tmp_path: Path) -> None:
    text = "node: router\nnode: router-v2\nevent_bus: {}\n"
    (problem,) = load_paths([write(tmp_path / "dup.yaml", text)]).problems
    assert problem.code == "duplicate-key"
    assert "line 2" in problem.message and "first on line 1" in problem.message


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    text = (
        "node: router\nevent_bus:\n  publish_topics:\n"
        "    - &base {name: onex.evt.router.a.v1, partitions: 3}\n"
        "    - {<<: *base, name: onex.evt.router.b.v1}\n"
    )
    result = load_paths([write(tmp_path / "merge.yaml", text)])
    assert result.problems == []
    assert [t.partitions for t in result.contracts[0].published] == [3, 3]


def test_alias_expansion_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]
    (problem,) = load_paths([write(tmp_path / "bomb.yaml", "\n".join(lines))]).problems
    assert problem.code == "yaml-syntax"


def test_empty_file_is_a_warning(tmp_path: Path) -> None:
    result = load_paths([write(tmp_path / "empty.yaml", "# nothing yet\n")])
    assert codes(result) == [("warning", "empty-file")]


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe\x00node")
    assert codes(load_paths([path])) == [("error", "unreadable")]


def test_mapping_that_is_no_contract_is_an_error_that_says_what_a_contract_looks_like(
    tmp_path: Path,
) -> None:
    (problem,) = load_paths([write(tmp_path / "values.yaml", "replicas: 3\n")]).problems
    assert problem.code == "not-a-contract"
    assert "node:" in problem.fix


def test_wrong_type_names_the_file_contract_and_field(tmp_path: Path) -> None:
    text = ROUTER + "        partitions: six\n"
    path = write(tmp_path / "router.yaml", text)
    (problem,) = load_paths([path]).problems
    assert (problem.severity, problem.code) == (Severity.ERROR, "wrong-type")
    assert (problem.source, problem.contract) == (str(path), "agents/router")
    assert problem.field == "spec.eventBus.publishTopics[0].partitions"


def test_same_contract_in_two_files_is_reported_and_the_first_kept(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", ROUTER)
    write(tmp_path / "b.yaml", ROUTER)
    result = load_paths([tmp_path])
    assert [c.source for c in result.contracts] == [str(first)]
    assert codes(result) == [("error", "duplicate-contract")]


def test_cluster_objects_load_with_their_namespace_name_as_source() -> None:
    obj = {
        "apiVersion": "eventbus.dev/v1alpha1",
        "kind": "NodeContract",
        "metadata": {"name": "router", "namespace": "agents", "uid": "1"},
        "spec": {"node": "router", "eventBus": {}},
        "status": {"observedGeneration": 1},
    }
    bad = {**obj, "metadata": {"name": "bad", "namespace": "agents"}, "spec": {"node": "X"}}
    result = load_objects([(obj, "agents/router"), (bad, "agents/bad")])
    assert [(c.key, c.source) for c in result.contracts] == [("agents/router", "agents/router")]
    assert {(p.source, p.contract) for p in result.problems} == {("agents/bad", "agents/bad")}


def test_the_clean_examples_load_without_problems() -> None:
    result = load_paths([ROOT / "examples" / "nodecontracts", ROOT / "examples" / "contracts"])
    assert result.problems == []
    assert len(result.contracts) == 4


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    (problem,) = load_paths([write(tmp_path / "loop.yaml", "node: &n [*n]\n")]).problems
    assert problem.code == "yaml-syntax"


def test_duplicate_keys_on_one_line_are_rejected(tmp_path: Path) -> None:
    (problem,) = load_paths([write(tmp_path / "a.yaml", "{node: router, node: evil}\n")]).problems
    assert problem.code == "duplicate-key"
    assert "'node'" in problem.message and "column" in problem.message


def test_duplicate_keys_deep_inside_a_document_are_rejected(tmp_path: Path) -> None:
    text = (
        "node: router\nevent_bus:\n  publish_topics:\n"
        "    - {name: onex.evt.router.a.v1, partitions: 3, partitions: 1}\n"
    )
    (problem,) = load_paths([write(tmp_path / "a.yaml", text)]).problems
    assert problem.code == "duplicate-key" and "'partitions'" in problem.message


def test_a_merge_may_override_a_merged_key_but_not_repeat_its_own(tmp_path: Path) -> None:
    ok = (
        "base: &b {x: 1, y: 2}\nnode: router\nevent_bus: {}\n"
        "c: &c {<<: *b, x: 3}\nd: {<<: *c, y: 4}\n"
    )
    assert codes(load_paths([write(tmp_path / "ok.yaml", ok)])) == [("error", "unknown-field")] * 3
    bad = "base: &b {x: 1}\nnode: router\nevent_bus: {}\nc: {<<: *b, y: 3, y: 4}\n"
    assert codes(load_paths([write(tmp_path / "bad.yaml", bad)])) == [("error", "duplicate-key")]


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "contract.yaml"
    os.mkfifo(fifo)
    (problem,) = load_paths([fifo]).problems  # would block forever if the FIFO were opened
    assert problem.code == "not-a-file" and "FIFO" in problem.message


def test_a_device_is_refused() -> None:
    (problem,) = load_paths(["/dev/zero"]).problems
    assert problem.code == "not-a-file" and "character device" in problem.message


def test_a_file_over_the_size_limit_names_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    (problem,) = load_paths([path]).problems
    assert problem.code == "file-too-large"
    assert f"at most {MAX_FILE_BYTES // (1024 * 1024)} MiB" in problem.message


def test_a_contract_with_too_many_topics_names_the_topic_limit_not_aliases(
    tmp_path: Path,
) -> None:
    topics = "".join(f"    - name: onex.evt.router.e{i}.v1\n" for i in range(50_000))
    text = f"node: router\nevent_bus:\n  publish_topics:\n{topics}"
    problems = load_paths([write(tmp_path / "big.yaml", text)]).problems
    assert [p.code for p in problems] == ["too-many-items"]
    assert f"at most {MAX_PUBLISH_TOPICS} topics" in problems[0].message
    assert "alias" not in problems[0].message


def test_libyaml_c_loader_is_used_when_available() -> None:
    import yaml

    from contract_operator.model import loader

    assert yaml.__with_libyaml__
    assert issubclass(loader._StrictLoader, yaml.CSafeLoader)


def test_a_fifo_inside_a_directory_is_reported_not_skipped(tmp_path: Path) -> None:
    write(tmp_path / "router.yaml", ROUTER)
    os.mkfifo(tmp_path / "pipe.yaml")
    result = load_paths([tmp_path])
    assert [c.name for c in result.contracts] == ["router"]
    assert codes(result) == [("error", "not-a-file")]
