"""Imports point down the layers (model -> core -> adapters -> controller -> cli), never up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "operator" / "contract_operator"
LAYERS = ("model", "core", "adapters", "controller", "cli")


def _imports(path: Path) -> set[str]:
    """The contract_operator layers a module imports (absolute or relative)."""
    tree = ast.parse(path.read_text())
    layer = path.relative_to(PACKAGE).parts[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and (node.module or "").startswith("contract_operator."):
                found.add(node.module.split(".")[1])  # type: ignore[union-attr]
            elif node.level == 1:
                found.add(layer)
            elif node.level == 2 and node.module:
                found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found |= {
                a.name.split(".")[1] for a in node.names if a.name.startswith("contract_operator.")
            }
    return found & set(LAYERS)


MODULES = sorted(p for layer in LAYERS for p in (PACKAGE / layer).glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_points_up(path: Path) -> None:
    layer = LAYERS.index(path.relative_to(PACKAGE).parts[0])
    above = {name for name in _imports(path) if LAYERS.index(name) > layer}
    assert not above, f"{path.relative_to(PACKAGE)} imports {sorted(above)}, a layer above it"
