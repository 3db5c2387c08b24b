#!/usr/bin/env bash
# A scenario on standard input (`-s -`), a pipe (`-s <(generate)`) or given alone (`fathom step
# FILE`) gives each command the report a file gives, whatever number of times the command
# loads it: a sweep at each point,
# compare at each variant, size at each count (each had read the pipe again and found it
# empty, or one point at random got the scenario).
# Usage: tests/cli/stdin.sh FATHOM SOURCE_DIR
set -u
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ex=$src/examples/llama3-8b-dgx-h100.yaml

commands=(
  "step --engine estimate"
  "plan --simulate-top 0 --top 3"
  "size --tokens 1T --chips 8,16 --simulate-top 0"
  "sweep --axis plan.zero=1,3 --axis plan.recompute=none,full --engine estimate --threads 3"
  "compare --vs plan.zero=1 --vs plan.zero=2 --engine estimate"
  "sensitivity --engine estimate"
)
# The scenario's path is the only difference: it names the input.
same() { sed -e "s#$ex#INPUT#g" -e 's#/dev/fd/[0-9]*#INPUT#g' -e 's#: -, #: INPUT, #' "$1"; }
for c in "${commands[@]}"; do
  read -r -a args <<<"$c"
  name=${args[0]}
  "$fathom" "$name" -s "$ex" "${args[@]:1}" >file.txt 2>/dev/null
  rc=$?
  "$fathom" "$name" -s - "${args[@]:1}" <"$ex" >stdin.txt 2>/dev/null
  rc_stdin=$?
  "$fathom" "$name" -s <(cat "$ex") "${args[@]:1}" >pipe.txt 2>/dev/null
  rc_pipe=$?
  # The file alone, without -s, is the scenario too.
  "$fathom" "$name" "$ex" "${args[@]:1}" >positional.txt 2>/dev/null
  rc_positional=$?
  if [ "$rc" -ne 0 ] || [ "$rc_stdin" -ne 0 ] || [ "$rc_pipe" -ne 0 ] || [ "$rc_positional" -ne 0 ]; then
    echo "FAIL: $name: exit $rc (file), $rc_stdin (-), $rc_pipe (pipe), $rc_positional (no -s)"
    fail=1
    continue
  fi
  for input in stdin pipe positional; do
    if ! diff <(same file.txt) <(same "$input.txt") >/dev/null; then
      echo "FAIL: $name -s from a $input differs from the file's report:"
      diff <(same file.txt) <(same "$input.txt") | head -5
      fail=1
    fi
  done
done
# Unnamed, a scenario is named after its file; from stdin or a pipe, "stdin" (it was "-",
# or the pipe's descriptor number).
grep -v '^name:' "$ex" >noname.yaml
for how in stdin pipe; do
  if [ "$how" = stdin ]; then
    "$fathom" step -s - --engine estimate <noname.yaml >named.txt 2>/dev/null
  else
    "$fathom" step -s <(cat noname.yaml) --engine estimate >named.txt 2>/dev/null
  fi
  if ! head -1 named.txt | grep -q '^stdin: llama3-8b on '; then
    echo "FAIL: an unnamed scenario from $how is not named stdin: $(head -1 named.txt)"
    fail=1
  fi
done
[ "$fail" -eq 0 ] && echo "ok: a scenario on stdin or a pipe reports as its file does"
exit "$fail"
