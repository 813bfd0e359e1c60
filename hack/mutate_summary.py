"""Figures of a mutmut run, from its result files (mutants/**/*.py.meta): mutants, killed,
survived, timeout and the rest, by package, then every mutant that was not killed.

Run by hack/mutate.sh in its copy of the repository: python hack/mutate_summary.py mutants
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code


def main(root: str) -> int:
    totals: dict[str, Counter[str]] = {}
    left: list[tuple[str, str]] = []
    for meta in sorted(Path(root).rglob("*.py.meta")):
        source = meta.relative_to(root).with_suffix("")  # contract_operator/core/drift.py
        package = source.parts[1] if len(source.parts) > 2 else source.parts[0]
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        counts = totals.setdefault(package, Counter())
        for name, code in sorted(codes.items()):
            status = status_by_exit_code[code]
            counts["mutants"] += 1
            counts[status] += 1
            if status != "killed":
                left.append((status, name))
    columns = ["mutants", "killed", "survived", "timeout", "no tests", "suspicious", "not checked"]
    print()
    print(f"{'package':<10}" + "".join(f"{c:>12}" for c in columns))
    overall: Counter[str] = Counter()
    for package, counts in sorted(totals.items()):
        overall.update(counts)
        print(f"{package:<10}" + "".join(f"{counts.get(c, 0):>12}" for c in columns))
    print(f"{'total':<10}" + "".join(f"{overall.get(c, 0):>12}" for c in columns))
    other = sorted(set(overall) - set(columns))
    if other:
        print("also: " + ", ".join(f"{overall[s]} {s}" for s in other))
    print()
    survivors = [name for status, name in left if status == "survived"]
    print(f"surviving mutants ({len(survivors)}):")
    for name in survivors:
        print(f"  {name}")
    rest = [(s, n) for s, n in left if s != "survived"]
    if rest:
        print(f"neither killed nor surviving ({len(rest)}):")
        for status, name in rest:
            print(f"  {name}: {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "mutants"))
