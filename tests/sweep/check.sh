#!/usr/bin/env bash
# `fathom sweep` and `--set` from the command line: check.sh FATHOM SOURCE_DIR
#   - text, JSON and CSV are the same bytes with 1 and 2 threads, and run after run;
#   - the grid is in order (first axis outermost) and a point that fails is a row with its
#     error, not a failed sweep;
#   - a sweep's row is `fathom step --set` of the same point;
#   - the scenario's sweep section gives the axes, and --axis replaces one of them.
set -u
fathom=$1
src=$2
cd "$src" || exit 1
export FATHOM_DATA=data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {  # check WHAT CONDITION...
  local what=$1
  shift
  if ! "$@"; then
    echo "FAIL: $what"
    fail=1
  fi
}

scenario=examples/llama3-8b-dgx-h100.yaml
args=(sweep -s "$scenario" --axis plan.tp=1,2,3,8 --axis plan.zero=1,3 --set plan.dp=auto
      --engine auto)
for threads in 1 2; do
  "$fathom" "${args[@]}" --threads "$threads" >"$tmp/text.$threads" 2>"$tmp/err.$threads"
  check "sweep exits 0 ($threads threads)" test $? -eq 0
  "$fathom" "${args[@]}" --threads "$threads" --json >"$tmp/json.$threads" 2>/dev/null
  "$fathom" "${args[@]}" --threads "$threads" --csv "$tmp/csv.$threads" >/dev/null 2>&1
done
"$fathom" "${args[@]}" --threads 2 --csv - >"$tmp/csv.stdout" 2>/dev/null
for kind in text json csv; do
  check "$kind: the same bytes with 1 and 2 threads" cmp -s "$tmp/$kind.1" "$tmp/$kind.2"
done
check "csv: --csv - prints what --csv FILE writes" cmp -s "$tmp/csv.1" "$tmp/csv.stdout"
check "csv: 8 points and a header" test "$(wc -l <"$tmp/csv.1")" -eq 9

python3 - "$tmp" <<'PY' || fail=1
import csv, json, sys
tmp = sys.argv[1]
j = json.load(open(f"{tmp}/json.1"))
ok = True
def expect(cond, what):
    global ok
    if not cond:
        print("FAIL:", what)
        ok = False
expect(j["schema"] == "fathom.sweep/2", "schema is fathom.sweep/2")
expect(j["points"] == 8 and len(j["rows"]) == 8, "8 rows")
order = [(r["values"]["plan.tp"], r["values"]["plan.zero"]) for r in j["rows"]]
expect(order == [(t, z) for t in ["1", "2", "3", "8"] for z in ["1", "3"]],
       f"first axis outermost: {order}")
expect([r["index"] for r in j["rows"]] == list(range(8)), "rows in index order")
failed = [r for r in j["rows"] if not r["ok"]]
expect([r["index"] for r in failed] == [4, 5], "tp 3 (points 4 and 5) fails")
expect(all(r["error"].startswith("--axis: plan.tp: ") for r in failed), "the failed rows blame the axis value")
expect(j["failed"] == 2 and j["evaluated"] == 6, "counts")
rows = list(csv.DictReader(open(f"{tmp}/csv.1")))
expect([r["index"] for r in rows] == [str(i) for i in range(8)], "csv rows in index order")
expect(rows[4]["ok"] == "false" and rows[4]["error"] != "", "csv error row")
expect(all(float(r["step_time_s"]) > 0 for r in rows if r["ok"] == "true"), "csv step times")
sys.exit(0 if ok else 1)
PY
check "text: the failed points are rows" grep -q "6 of 8 points evaluated, 2 failed" "$tmp/text.1"

# A row is `fathom step --set` of the same point.
"$fathom" step -s "$scenario" --set plan.tp=2 --set plan.zero=3 --set plan.dp=auto --json \
  >"$tmp/step.json" 2>/dev/null
check "step --set exits 0" test $? -eq 0
python3 - "$tmp" <<'PY' || fail=1
import json, sys
tmp = sys.argv[1]
step = json.load(open(f"{tmp}/step.json"))
row = json.load(open(f"{tmp}/json.1"))["rows"][3]
same = all(step[k] == row[k] for k in ["step_time_s", "tokens_per_s", "mfu", "memory_per_chip_bytes", "fits"])
same = same and step["plan"] == row["plan"]
if not same:
    print("FAIL: sweep row 3 differs from fathom step --set plan.tp=2 --set plan.zero=3")
sys.exit(0 if same else 1)
PY

# The sweep section of an example, and --axis replacing one of its axes.
section=examples/sweeps/llama3-70b-network.yaml
"$fathom" sweep -s "$section" --csv - >"$tmp/section.csv" 2>/dev/null
check "sweep section: 8 points" test "$(wc -l <"$tmp/section.csv")" -eq 9
"$fathom" sweep -s "$section" --axis plan.zero=3 --csv - >"$tmp/section1.csv" 2>/dev/null
check "--axis replaces the section's axis" test "$(wc -l <"$tmp/section1.csv")" -eq 5
exit $fail
