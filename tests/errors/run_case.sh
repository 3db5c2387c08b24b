#!/usr/bin/env bash
# Runs one tests/errors case: run_case.sh FATHOM SOURCE_DIR CASE
# Passes if fathom exits with status 2 (not a crash or signal), prints nothing on stdout,
# prints only diagnostic lines on stderr, and shows every fragment listed for CASE in
# expected.txt.
# Bash builtins only, but for fathom itself: the suite runs this a few hundred times per
# build, and each extra process (grep, sed, mktemp) cost about as much as the Release fathom.
set -u
fathom=$1
src=$2
case_file=$3
cd "$src" || exit 1
manifest=tests/errors/expected.txt
fragments=()
while IFS= read -r line || [ -n "$line" ]; do
  [[ $line == "$case_file | "* ]] || continue
  fragment=${line#"$case_file | "}
  [[ $fragment == known-bug:* ]] || fragments+=("$fragment")
done <"$manifest"
if [ "${#fragments[@]}" -eq 0 ]; then
  echo "no expected fragment for $case_file in $manifest"
  exit 1
fi
if [[ $case_file == *.args ]]; then
  # Command-line cases: one argument per line.
  mapfile -t args < "tests/errors/$case_file"
elif [[ $case_file == *.json ]]; then
  args=(step -m "tests/errors/$case_file" -c dgx-h100-superpod -p tests/errors/support/plan.yaml)
elif [[ $case_file == [0-9]*-run-* ]]; then
  args=(run -s "tests/errors/$case_file")
elif [[ $case_file == [0-9]*-plan-*.yaml ]]; then
  args=(plan -s "tests/errors/$case_file")
elif [[ $case_file == [0-9]*-sweep-*.yaml ]]; then
  args=(sweep -s "tests/errors/$case_file")
else
  args=(step -s "tests/errors/$case_file")
fi
scratch="${TMPDIR:-/tmp}/fathom-errors.$$"
out="$scratch.out" err="$scratch.err"
trap 'rm -f "$out" "$err"' EXIT
FATHOM_DATA=data "$fathom" "${args[@]}" >"$out" 2>"$err"
rc=$?
mapfile -t err_lines <"$err"
fail=0
if [ "$rc" -ne 2 ]; then
  if [ "$rc" -gt 128 ]; then
    echo "FAIL: killed by signal $((rc - 128)) (exit $rc)"
  else
    echo "FAIL: exit status $rc, expected 2"
  fi
  fail=1
fi
if [ -s "$out" ]; then
  echo "FAIL: output on stdout:"
  head -c 2000 "$out"
  fail=1
fi
shown=0
for l in "${err_lines[@]}"; do
  if ! [[ $l =~ ^(error|warning|note):\  ]]; then
    [ "$shown" -eq 0 ] && echo "FAIL: a stderr line is not a diagnostic:"
    shown=$((shown + 1))
    [ "$shown" -le 5 ] && printf '%s\n' "$l"
  fi
done
[ "$shown" -ne 0 ] && fail=1
err_text=$(<"$err")
for f in "${fragments[@]}"; do
  if [[ $err_text != *"$f"* ]]; then
    echo "FAIL: stderr lacks: $f"
    fail=1
  fi
done
if [ "$fail" -ne 0 ]; then
  echo "--- fathom ${args[*]} (exit $rc), stderr:"
  cat -v "$err" | head -c 4000
fi
exit $fail
