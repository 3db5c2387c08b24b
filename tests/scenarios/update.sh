#!/usr/bin/env bash
# Regenerates the golden outputs of tests/scenarios from examples/*.yaml:
#   NAME.json    stdout of `fathom step -s examples/NAME.yaml --json`
#   NAME.txt     stdout of `fathom step -s examples/NAME.yaml`
#   NAME.stderr  the exit status and stderr (warnings, or the errors of a rejected scenario)
#   NAME.run.{json,txt,stderr}  the same for `fathom run`, when the scenario has a
#                `reliability:` section
#   NAME.plan.{json,txt,stderr} the same for `fathom plan`, for the examples named in
#                plan-goldens.txt
# Usage: tests/scenarios/update.sh [path/to/fathom]   (default: build/src/cli/fathom)
# Runs from the repository root with FATHOM_DATA=data, exactly as the CTest check does,
# so the goldens do not depend on where the checkout lives. Review `git diff tests/scenarios`
# before committing.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
fathom=${1:-build/src/cli/fathom}
case $fathom in /*) ;; *) fathom=$root/$fathom ;; esac
export FATHOM_DATA=data
for scenario in examples/*.yaml; do
  name=$(basename "$scenario" .yaml)
  out=tests/scenarios/$name
  set +e
  "$fathom" step -s "$scenario" --json >"$out.json" 2>"$out.stderr.tmp"
  rc=$?
  "$fathom" step -s "$scenario" >"$out.txt" 2>/dev/null
  set -e
  { echo "exit: $rc"; cat "$out.stderr.tmp"; } >"$out.stderr"
  rm -f "$out.stderr.tmp"
  echo "$name: exit $rc"
  if grep -q '^reliability:' "$scenario"; then
    set +e
    "$fathom" run -s "$scenario" --json >"$out.run.json" 2>"$out.run.stderr.tmp"
    rc=$?
    "$fathom" run -s "$scenario" >"$out.run.txt" 2>/dev/null
    set -e
    { echo "exit: $rc"; cat "$out.run.stderr.tmp"; } >"$out.run.stderr"
    rm -f "$out.run.stderr.tmp"
    echo "$name (run): exit $rc"
  fi
  if grep -qx "$name" tests/scenarios/plan-goldens.txt; then
    set +e
    "$fathom" plan -s "$scenario" --json >"$out.plan.json" 2>"$out.plan.stderr.tmp"
    rc=$?
    "$fathom" plan -s "$scenario" >"$out.plan.txt" 2>/dev/null
    set -e
    { echo "exit: $rc"; cat "$out.plan.stderr.tmp"; } >"$out.plan.stderr"
    rm -f "$out.plan.stderr.tmp"
    echo "$name (plan): exit $rc"
  fi
done
