"""Figures of a mutmut run, from its result files (mutants/**/*.py.meta): mutants, killed,
survived, timeout and the rest, by package, then every mutant that was not killed.

Run by hack/mutate.sh in its copy of the repository: python hack/mutate_summary.py mutants
[--diffs FILE], which also writes each surviving mutant's changed lines to FILE;
`mutants --names survived` prints only the names (hack/mutate.sh MUTATE_RECHECK=1).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code


def main(root: str, diffs: str | None = None) -> int:
    totals: dict[str, Counter[str]] = {}
    left: list[tuple[str, str]] = []
    paths: dict[str, Path] = {}
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
                paths[name] = source
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
    if diffs:
        _write_diffs(diffs, [n for n in survivors], paths)
        print(f"their changed lines: {diffs}")
    return 0


def _write_diffs(out: str, names: list[str], paths: dict[str, Path]) -> None:
    """Each mutant's removed and added lines, under its name (mutmut's own diff, trimmed)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    with open(out, "w") as f:
        for name in names:
            try:
                diff = get_diff_for_mutant(name, path=paths[name])
            except Exception as exc:  # a mutant mutmut cannot show: say so, go on
                diff = f"+ (no diff: {exc})"
            lines = [
                line
                for line in diff.splitlines()
                if line[:1] in "+-" and not line.startswith(("+++", "---"))
            ]
            f.write(f"{name}\n" + "".join(f"    {line}\n" for line in lines))


def names(root: str, status: str) -> int:
    """Print the names of the mutants with `status` (for hack/mutate.sh's recheck)."""
    for meta in sorted(Path(root).rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in sorted(codes.items()):
            if status_by_exit_code[code] == status:
                print(name)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--names" in args:
        sys.exit(names(args[0], args[args.index("--names") + 1]))
    out = None
    if "--diffs" in args:
        at = args.index("--diffs")
        out = args[at + 1]
        del args[at : at + 2]
    sys.exit(main(args[0] if args else "mutants", out))
