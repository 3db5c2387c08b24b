#!/usr/bin/env bash
# `-` names stdout for every flag that writes a file: --html on each command that has it, as
# --trace - and --csv - do. The page goes to stdout in place of the report, byte for byte the
# file's, and no file named "-" is left behind. One output at most goes to stdout (the refusals
# are tests/errors 250-259); a report on stdout and the others in files is fine.
# Usage: tests/cli/stdout.sh FATHOM SOURCE_DIR
set -u
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ex=$src/examples/llama3-8b-dgx-h100.yaml

# Each command, quick: its arguments (one string, split on spaces).
commands=(
  "step -s $ex --engine estimate"
  "run -s $src/examples/llama3-405b-reliability.yaml --no-monte-carlo --engine estimate"
  "plan -s $ex --simulate-top 0 --top 3"
  "size -s $ex --tokens 1T --chips 8,16 --simulate-top 0"
  "sweep -s $ex --axis plan.zero=1,3 --engine estimate"
  "compare -s $ex --vs plan.zero=1 --engine estimate"
  "validate --cases $src/tests/validation/bloom"
)
for c in "${commands[@]}"; do
  read -r -a args <<<"$c"
  name=${args[0]}
  "$fathom" "${args[@]}" --html page.html >report.txt 2>/dev/null
  rc=$?
  "$fathom" "${args[@]}" --html - >stdout.html 2>/dev/null
  rc2=$?
  if [ "$rc" -ne 0 ] || [ "$rc2" -ne 0 ]; then
    echo "FAIL: $name --html: exit $rc (file) and $rc2 (-)"
    fail=1
  fi
  if [ -e ./- ]; then
    echo "FAIL: $name --html - wrote a file named \"-\""
    rm -f ./-
    fail=1
  fi
  if ! cmp -s page.html stdout.html; then
    echo "FAIL: $name --html - differs from --html FILE (or the report was printed too)"
    head -c 300 stdout.html; echo
    fail=1
  fi
  if ! head -c 15 stdout.html | grep -q '<!DOCTYPE html>'; then
    echo "FAIL: $name --html - does not start with the page"
    fail=1
  fi
  if [ ! -s report.txt ]; then
    echo "FAIL: $name --html FILE printed no report on stdout"
    fail=1
  fi
  rm -f page.html stdout.html report.txt
done

# A report on stdout and the rest in files.
"$fathom" step -s "$ex" --json --trace trace.json --html page.html >step.json 2>/dev/null ||
  { echo "FAIL: step --json --trace FILE --html FILE: exit $?"; fail=1; }
for f in step.json trace.json page.html; do
  [ -s "$f" ] || { echo "FAIL: step --json --trace FILE --html FILE: $f is empty"; fail=1; }
done
python3 -c 'import json, sys; json.load(open(sys.argv[1])); json.load(open(sys.argv[2]))' \
  step.json trace.json || { echo "FAIL: step.json or trace.json is not JSON"; fail=1; }

# --trace - and --emit-plan -: each alone on stdout.
"$fathom" step -s "$ex" --trace - >trace2.json 2>/dev/null &&
  cmp -s trace.json trace2.json || { echo "FAIL: step --trace - differs from --trace FILE"; fail=1; }
"$fathom" plan -s "$ex" --simulate-top 0 --emit-plan best.yaml >/dev/null 2>&1 &&
  "$fathom" plan -s "$ex" --simulate-top 0 --emit-plan - >best2.yaml 2>/dev/null &&
  cmp -s best.yaml best2.yaml || { echo "FAIL: plan --emit-plan - differs from --emit-plan FILE"; fail=1; }
[ -e ./- ] && { echo "FAIL: a file named \"-\" was written"; fail=1; }

# Two outputs on stdout: exit 2, nothing on stdout, the error naming both.
"$fathom" step -s "$ex" --json --trace - >out.txt 2>err.txt
rc=$?
if [ "$rc" -ne 2 ] || [ -s out.txt ] ||
  ! grep -q -- '--json and --trace - both write to stdout' err.txt; then
  echo "FAIL: step --json --trace -: exit $rc, stdout $(wc -c <out.txt) bytes, stderr:"
  cat err.txt
  fail=1
fi
# A report that cannot be written to stdout (a full disk) fails, for every command.
if [ -w /dev/full ]; then
  for c in "${commands[@]}"; do
    read -r -a args <<<"$c"
    "$fathom" "${args[@]}" >/dev/full 2>err.txt
    rc=$?
    if [ "$rc" -ne 2 ] || ! grep -q "cannot write to stdout" err.txt; then
      echo "FAIL: ${args[0]} >/dev/full: exit $rc, stderr:"
      cat err.txt
      fail=1
    fi
  done
fi
# A trace that cannot reach stdout (a full disk) is an error that says so, not a silent 2.
if [ -w /dev/full ]; then
  "$fathom" step -s "$ex" --trace - >/dev/full 2>err.txt
  rc=$?
  if [ "$rc" -ne 2 ] || ! grep -q -- '--trace: cannot write to stdout' err.txt; then
    echo "FAIL: step --trace - to a full stdout: exit $rc, said: $(head -c 200 err.txt)"
    fail=1
  fi
fi

[ "$fail" -eq 0 ] && echo "ok: - is stdout for every file flag, and stdout holds one output"
exit $fail
