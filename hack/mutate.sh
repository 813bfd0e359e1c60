#!/usr/bin/env bash
# mutate.sh — mutation testing of the pure layers (mutmut, settings in pyproject [tool.mutmut]):
# every mutant of core/, model/ and adapters/ is run against the unit suite (no testbed), then
# the figures (mutants, killed, survived, timeout, by package) and each surviving mutant are
# printed. `make mutate` runs it.
#
#   hack/mutate.sh                  core, model and adapters
#   hack/mutate.sh core             one package (or several: core model)
#   MUTATE_JOBS=1 hack/mutate.sh    workers (default: every CPU)
#   MUTATE_KEEP=1 hack/mutate.sh    reuse the last run's results (only mutants not yet tried run)
#   MUTATE_RECHECK=1 hack/mutate.sh core
#                                   after adding tests: run the last run's survivors again, against
#                                   the unit suite as it is now (the sources must be unchanged)
#
# mutmut names mutants by file path and imports them from its copy of the sources, so it runs
# in build/mutate/, a copy of the repository with the package at its top (contract_operator/):
# there, paths and module names agree. Nothing in the working tree is changed.
# Afterwards: cd build/mutate && ../../.venv/bin/mutmut show NAME prints one mutant's diff.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-.venv}
WORK=${MUTATE_DIR:-build/mutate}
PACKAGES=("$@")
[ ${#PACKAGES[@]} -gt 0 ] || PACKAGES=(core model adapters)
for p in "${PACKAGES[@]}"; do
  [ -d "operator/contract_operator/$p" ] || { echo "mutate: no package operator/contract_operator/$p" >&2; exit 2; }
done
[ -x "$VENV/bin/mutmut" ] || { echo "mutate: $VENV/bin/mutmut missing: run make install" >&2; exit 2; }

RECHECK=()
if [ "${MUTATE_RECHECK:-0}" = 1 ]; then
  [ -d "$WORK/mutants" ] || { echo "mutate: no earlier run in $WORK to recheck" >&2; exit 2; }
  mapfile -t RECHECK < <(cd "$WORK" && "$ROOT/$VENV/bin/python" "$ROOT/hack/mutate_summary.py" \
    mutants --names survived)
  echo "mutate: rechecking ${#RECHECK[@]} surviving mutants against the current unit suite"
  [ ${#RECHECK[@]} -gt 0 ] || exit 0
  rm -rf "$WORK/tests" "$WORK/mutants/tests"
  cp -a tests "$WORK/tests"
  cp -a tests "$WORK/mutants/tests"
elif [ "${MUTATE_KEEP:-0}" != 1 ]; then
  rm -rf "$WORK"
fi
mkdir -p "$WORK"
if [ ${#RECHECK[@]} -eq 0 ]; then
# The files the unit suite reads (charts, CRDs, examples, docs), and the package at the top.
tar -cf - --exclude=__pycache__ pyproject.toml README.md tests crds helm examples docs hack \
  | tar -xf - -C "$WORK"
rm -rf "$WORK/contract_operator"
cp -a operator/contract_operator "$WORK/contract_operator"
find "$WORK/contract_operator" -name __pycache__ -prune -exec rm -rf {} +
# Restrict mutation to the packages asked for (the staged pyproject only).
"$VENV/bin/python" - "$WORK/pyproject.toml" "${PACKAGES[@]}" <<'PY'
import re, sys
path, packages = sys.argv[1], sys.argv[2:]
text = open(path).read()
only = ", ".join(f'"contract_operator/{p}/*"' for p in packages)
text, n = re.subn(r"(?m)^only_mutate = \[.*?\]$", f"only_mutate = [{only}]", text, flags=re.S)
assert n == 1, "pyproject.toml [tool.mutmut] has no one-line only_mutate"
open(path, "w").write(text)
PY
fi

echo "mutate: ${PACKAGES[*]} against tests/unit, in $WORK"
started=$(date +%s)
status=0
(cd "$WORK" && "$ROOT/$VENV/bin/mutmut" run ${MUTATE_JOBS:+--max-children "$MUTATE_JOBS"} "${RECHECK[@]}") \
  > "$WORK/mutmut-run.log" 2>&1 || status=$?
elapsed=$(( $(date +%s) - started ))
if [ $status -ne 0 ]; then
  tail -40 "$WORK/mutmut-run.log" >&2
  echo "mutate: mutmut failed (exit $status) after ${elapsed} s; full log in $WORK/mutmut-run.log" >&2
  exit $status
fi
(cd "$WORK" && "$ROOT/$VENV/bin/python" "$ROOT/hack/mutate_summary.py" mutants --diffs survivors.txt)
echo "mutate: ${elapsed} s for ${PACKAGES[*]} ($(nproc) CPUs); log in $WORK/mutmut-run.log"
