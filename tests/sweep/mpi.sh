#!/usr/bin/env bash
# fathom-mpi writes the bytes `fathom sweep` writes: mpi.sh FATHOM FATHOM_MPI MPIEXEC SOURCE_DIR
# Three ranks, the points split by stride and in blocks, text, JSON and CSV; then a bad
# argument: every rank stops, non-zero, and rank 0 alone reports it.
set -u
fathom=$1
fathom_mpi=$2
mpiexec=$3
src=$4
cd "$src" || exit 1
export FATHOM_DATA=data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
launcher=("$mpiexec" -n 3)
if "$mpiexec" --version 2>&1 | grep -qiE "open ?(mpi|rte)"; then
  # CI runs as root on two cores.
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  launcher+=(--oversubscribe)
fi
fail=0
args=(-s examples/llama3-8b-dgx-h100.yaml --axis plan.tp=1,2,3,4,8 --axis plan.zero=1,3
      --axis plan.recompute=none,full --set plan.dp=auto --threads 1)
# Each format once, the two splits between them (each mpirun costs about a second).
for run in text:stride json:block csv:stride; do
  format=${run%%:*}
  split=${run##*:}
  extra=()
  [ "$format" = json ] && extra=(--json)
  [ "$format" = csv ] && extra=(--csv -)
  "$fathom" sweep "${args[@]}" "${extra[@]}" >"$tmp/serial.$format" 2>"$tmp/serial.err"
  rc=$?
  [ "$rc" -eq 0 ] || { echo "FAIL: fathom sweep exits $rc"; cat "$tmp/serial.err"; fail=1; }
  {
    timeout 120 "${launcher[@]}" "$fathom_mpi" "${args[@]}" "${extra[@]}" --split "$split" \
      >"$tmp/mpi.$format.$split" 2>"$tmp/mpi.err"
    rc=$?
    if [ "$rc" -ne 0 ]; then
      echo "FAIL: mpirun -n 3 fathom-mpi ($format, --split $split) exits $rc"
      cat "$tmp/mpi.err"
      fail=1
    elif ! cmp -s "$tmp/serial.$format" "$tmp/mpi.$format.$split"; then
      echo "FAIL: fathom-mpi ($format, --split $split) differs from fathom sweep:"
      diff "$tmp/serial.$format" "$tmp/mpi.$format.$split" | head -20
      fail=1
    else
      echo "ok: $format, --split $split: $(wc -c <"$tmp/serial.$format") bytes, identical"
    fi
  }
done
# Plan fields away from their defaults (fp8 with its weight cache off, overlapped
# all-to-alls) travel between the ranks: the JSON and HTML write them.
fp8=(-s examples/llama3-70b-64-h100-fp8.yaml --axis plan.fp8_weight_cache=false,true
     --set plan.overlap_tp=false --engine estimate --threads 1 --json)
"$fathom" sweep "${fp8[@]}" >"$tmp/serial.fp8" 2>/dev/null
timeout 120 "${launcher[@]}" "$fathom_mpi" "${fp8[@]}" >"$tmp/mpi.fp8" 2>"$tmp/mpi.err"
if ! cmp -s "$tmp/serial.fp8" "$tmp/mpi.fp8"; then
  echo "FAIL: fathom-mpi (fp8 plan fields) differs from fathom sweep:"
  diff "$tmp/serial.fp8" "$tmp/mpi.fp8" | head -20
  fail=1
fi
# A scenario named after a Latin-1 file name (no `name:`): the JSON is still UTF-8, with
# U+FFFD for the bad byte, and the ranks do not abort.
latin1=$tmp/$(printf 'caf\xe9').yaml
tail -n +2 examples/llama3-8b-dgx-h100.yaml >"$latin1"
timeout 120 "${launcher[@]}" "$fathom_mpi" -s "$latin1" --axis plan.zero=1,3 --threads 1 --json \
  >"$tmp/latin1.json" 2>"$tmp/latin1.err"
rc=$?
if [ "$rc" -ne 0 ] ||
  ! python3 -c 'import json, sys; json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))' \
    "$tmp/latin1.json" ||
  ! grep -q "$(printf 'caf\xef\xbf\xbd')" "$tmp/latin1.json"; then
  echo "FAIL: fathom-mpi on a Latin-1 scenario name: exit $rc, or its JSON is not UTF-8"
  cat "$tmp/latin1.err"
  fail=1
fi
# An error every point gives is said once, by rank 0, exit 2, nothing on stdout (as fathom
# sweep says it).
timeout 120 "${launcher[@]}" "$fathom_mpi" -s examples/llama3-8b-dgx-h100.yaml \
  --axis plan.zero=1,3 --set plan.tp=3 --set plan.dp=auto --threads 1 \
  >"$tmp/common.out" 2>"$tmp/common.err"
rc=$?
if [ "$rc" -ne 2 ] || [ -s "$tmp/common.out" ] ||
  [ "$(grep -c 'all 2 points of the sweep fail with this error' "$tmp/common.err")" -ne 1 ]; then
  echo "FAIL: every point failing alike under fathom-mpi: exit $rc (expected 2), stderr:"
  head -5 "$tmp/common.err"
  fail=1
fi
timeout 120 "${launcher[@]}" "$fathom_mpi" -s examples/llama3-8b-dgx-h100.yaml \
  --axis plan.tp=1,x >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || [ -s "$tmp/bad.out" ]; then
  echo "FAIL: a bad --axis: exit $rc (expected non-zero, no hang), stdout:"
  head -5 "$tmp/bad.out"
  fail=1
fi
if [ "$(grep -c 'expected an integer, got "x"' "$tmp/bad.err")" -ne 1 ]; then
  echo "FAIL: a bad --axis is reported once (by rank 0):"
  cat "$tmp/bad.err"
  fail=1
fi
# Ranks that read different scenarios (a file edited on one node) stop before any point runs,
# exit 2 and name the rank; the grid alike (other --axis values on one rank). Each rank runs
# in its own directory, as on nodes that do not share one: the CSV's directory exists only
# where rank 0 runs, which writes it alone.
export FATHOM_DATA=$PWD/data  # the ranks run elsewhere
mkdir -p "$tmp/n0/out" "$tmp/n1"
cp examples/llama3-8b-dgx-h100.yaml "$tmp/n0/s.yaml"
cp examples/llama3-8b-dgx-h100.yaml "$tmp/n1/s.yaml"
two=(-n 1 -wdir "$tmp/n0" "$fathom_mpi" -s s.yaml --axis plan.zero=1,3 --engine estimate
     --threads 1 --csv out/o.csv)
two_b=(-n 1 -wdir "$tmp/n1" "$fathom_mpi" -s s.yaml --axis plan.zero=1,3 --engine estimate
       --threads 1 --csv out/o.csv)
timeout 120 "${launcher[0]}" "${launcher[@]:3}" "${two[@]}" : "${two_b[@]}" >/dev/null 2>"$tmp/two.err"
rc=$?
if [ "$rc" -ne 0 ] || [ ! -s "$tmp/n0/out/o.csv" ] || [ -e "$tmp/n1/out" ]; then
  echo "FAIL: the CSV's directory only where rank 0 runs: exit $rc, or not written there"
  cat "$tmp/two.err"
  fail=1
fi
sed -i 's/global_batch_size: .*/global_batch_size: 16/' "$tmp/n1/s.yaml"
timeout 120 "${launcher[0]}" "${launcher[@]:3}" "${two[@]}" : "${two_b[@]}" >"$tmp/two.out"   2>"$tmp/two.err"
rc=$?
if [ "$rc" -ne 2 ] || [ -s "$tmp/two.out" ] ||
  ! grep -q "rank 1: its sweep differs from rank 0's: the same grid" "$tmp/two.err"; then
  echo "FAIL: ranks reading different scenarios: exit $rc (expected 2), stderr:"
  cat "$tmp/two.err"
  fail=1
fi
cp examples/llama3-8b-dgx-h100.yaml "$tmp/n1/s.yaml"
two_b[8]=plan.zero=3,1
timeout 120 "${launcher[0]}" "${launcher[@]:3}" "${two[@]}" : "${two_b[@]}" >/dev/null 2>"$tmp/two.err"
rc=$?
if [ "$rc" -ne 2 ] || ! grep -q "rank 1: its sweep differs from rank 0's: another grid" "$tmp/two.err"; then
  echo "FAIL: ranks given other axis values: exit $rc (expected 2), stderr:"
  cat "$tmp/two.err"
  fail=1
fi
# Another engine on one rank: the rows would mix engines (it printed them, exit 0).
two_b[8]=plan.zero=1,3
two_b[10]=simulate
timeout 120 "${launcher[0]}" "${launcher[@]:3}" "${two[@]}" : "${two_b[@]}" >/dev/null 2>"$tmp/two.err"
rc=$?
if [ "$rc" -ne 2 ] || ! grep -q "rank 1: its sweep differs from rank 0's: another grid" "$tmp/two.err"; then
  echo "FAIL: ranks given other engines: exit $rc (expected 2), stderr:"
  cat "$tmp/two.err"
  fail=1
fi
two_b[10]=estimate
# A bad argument on one rank only (the other parses): every rank stops, exit 2, the error
# said for its rank (rank 0 waited for the other forever).
timeout 60 "${launcher[0]}" "${launcher[@]:3}" "${two[@]}" : "${two_b[@]}" --bogus \
  >/dev/null 2>"$tmp/two.err"
rc=$?
if [ "$rc" -ne 2 ] || ! grep -q "rank 1: The following argument was not expected: --bogus" "$tmp/two.err"; then
  echo "FAIL: a bad argument on one rank: exit $rc (expected 2, 124 is a hang), stderr:"
  cat "$tmp/two.err"
  fail=1
fi
exit $fail
