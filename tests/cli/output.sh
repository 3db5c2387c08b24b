#!/usr/bin/env bash
# What the reports say, from the command line, where a user review found it wrong:
#   - fathom size shows the facility's energy and the electricity, as fathom run does (text
#     and HTML), when a PUE and an electricity price are given;
#   - the run's HTML says "?" for switches nobody counted, as the text does (JSON: null);
#   - tokens in a window are its whole steps x tokens per step;
#   - the node-power warning ("prices energy, not the chip's TDP") is said by the commands
#     that price energy (run, size), not by step or compare;
#   - a chip price given by --set says so, not "catalog";
#   - run and size say that the step times are predictions, pointing at fathom validate;
#   - validate --strict names the cases outside their tolerance on stderr.
# Usage: tests/cli/output.sh FATHOM SOURCE_DIR
set -u
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
e8=$src/examples/llama3-8b-dgx-h100.yaml
fp8=$src/examples/llama3-70b-64-h100-fp8.yaml

# expect FILE TEXT WHAT: FILE holds TEXT (fixed string).
expect() {
  grep -qF -- "$2" "$1" || { echo "FAIL: $3: no \"$2\" in:"; cat "$1"; fail=1; }
}
# refuse FILE TEXT WHAT: FILE does not hold TEXT.
refuse() {
  ! grep -qF -- "$2" "$1" || { echo "FAIL: $3: \"$2\" in:"; cat "$1"; fail=1; }
}

# Size, priced with a PUE and electricity: the run's figures, in the text and the HTML.
"$fathom" size -s "$e8" --tokens 1T --chips 8,16 --simulate-top 0 \
  --set training.cost.usd_per_chip_hour=2 --set training.cost.pue=1.3 \
  --set training.cost.usd_per_kwh=0.08 --html size.html >size.txt 2>size.err ||
  { echo "FAIL: size: exit $?"; cat size.err; fail=1; }
expect size.txt "    energy  facility  electricity  plan" "size text: facility and electricity columns"
expect size.txt " of electricity" "size text: the chosen count's electricity"
expect size.txt "Electricity is the facility's energy at 0.0800 USD/kWh." "size text: the price"
expect size.html '<th class="num">energy (facility)</th><th class="num">electricity</th>' \
  "size HTML: facility and electricity columns"
expect size.html "0.0800 USD/kWh" "size HTML: the electricity price"
expect size.txt "note: the step times are predictions; \`fathom validate\`" "size text: the note"
"$fathom" size -s "$e8" --tokens 1T --chips 8 --simulate-top 0 --json >size.json 2>/dev/null
expect size.json "fathom validate" "size JSON: the note"

# Run: switches nobody counted are "?" in the HTML too; the note in every form.
"$fathom" run -s "$src/examples/llama3-405b-reliability.yaml" --no-monte-carlo \
  --engine estimate --html run.html >run.txt 2>/dev/null || { echo "FAIL: run: exit $?"; fail=1; }
expect run.txt " ? switches, " "run text: unknown switches"
expect run.html " ? switches, " "run HTML: unknown switches"
refuse run.html " 0 switches" "run HTML: unknown switches"
expect run.txt "note: the step times are predictions; \`fathom validate\`" "run text: the note"
expect run.html "the step times are predictions" "run HTML: the note"

# A 90-minute window: tokens are the whole steps' (498 x 1,048,576 = 522.19M).
"$fathom" run -s "$e8" --no-monte-carlo --engine estimate --set training.duration=90min \
  --json >window.json 2>/dev/null
python3 - window.json <<'EOF' || fail=1
import json, sys
j = json.load(open(sys.argv[1]))
tokens_per_step = 128 * 8192  # the example's global batch x seq_len
if j["tokens"] != j["steps"] * tokens_per_step:
    print(f"FAIL: window: {j['tokens']} tokens, not {j['steps']} steps x {tokens_per_step}")
    sys.exit(1)
EOF

# The node-power warning: run prices energy; step and compare do not.
"$fathom" step -s "$fp8" --engine estimate --set cluster.chip=h200 >/dev/null 2>step.err
refuse step.err "prices energy" "step: the energy warning"
"$fathom" compare -s "$fp8" --engine estimate --vs cluster.chip=h200 >/dev/null 2>compare.err
refuse compare.err "prices energy" "compare: the energy warning"
"$fathom" run -s "$fp8" --engine estimate --no-monte-carlo --tokens 1T --set cluster.chip=h200 \
  >/dev/null 2>run.err
expect run.err "prices energy, not the h200 chip's TDP" "run: the energy warning"

# A price given by --set says where it came from.
"$fathom" run -s "$e8" --engine estimate --no-monte-carlo --tokens 1T \
  --set cluster.chip.price.usd_per_chip_hour=2 >price.txt 2>/dev/null
expect price.txt '$2.00 per chip-hour (--set cluster.chip.price.usd_per_chip_hour)' "run: price"
refuse price.txt "catalog: h100-sxm" "run: price"

# validate --strict exits 1 and names the cases outside their tolerance on stderr.
"$fathom" validate --cases "$src/tests/validation/deepseek" --strict >strict.txt 2>strict.err
code=$?
[ "$code" -eq 1 ] || { echo "FAIL: validate --strict: exit $code, expected 1"; fail=1; }
expect strict.err "error: --strict: 1 of 1 cases outside their tolerance (estimate engine)" \
  "validate --strict: the count"
expect strict.err "  deepseek_v3_2048_h800: -33.0% against 25%" "validate --strict: the case"
"$fathom" validate --cases "$src/tests/validation/palm" --strict >/dev/null 2>strict.err ||
  { echo "FAIL: validate --strict: a case within its tolerance failed"; cat strict.err; fail=1; }

# No report replaces a file the scenario reads (its model file; a base: of it) or a file of
# the catalog (a copy here, so that a failure harms nothing shipped): each is refused, exit 2,
# and the file is as it was.
mkdir -p own && cp "$src/data/models/llama3-8b.yaml" own/m.yaml && cp -r "$src/data" catalog
printf 'base: own/m.yaml\nseq_len: 4096\n' >own/m2.yaml
printf 'model: own/m.yaml\ncluster: {base: dgx-h100-superpod, chips: 8}\nplan: {tp: 1, dp: 8, global_batch_size: 128, zero: 3}\n' >read.yaml
sed 's|model: own/m.yaml|model: own/m2.yaml|' read.yaml >based.yaml
clobber() {  # clobber WHAT FILE COMMAND...: COMMAND must refuse to write over FILE
  local what=$1 file=$2
  shift 2
  cp "$file" before.yaml
  "$@" >/dev/null 2>clobber.err
  local code=$?
  [ "$code" -eq 2 ] || { echo "FAIL: $what: exit $code, expected 2"; fail=1; }
  expect clobber.err "writing the report there would replace it" "$what"
  cmp -s before.yaml "$file" || { echo "FAIL: $what: $file was replaced"; fail=1; }
}
clobber "step --html over the scenario's model file" own/m.yaml \
  "$fathom" step -s read.yaml --engine estimate --html own/m.yaml
clobber "plan --csv over a base: of the model file" own/m.yaml \
  "$fathom" plan -s based.yaml --csv own/m.yaml
clobber "run --html over a catalog file" catalog/clusters/dgx-h100-superpod.yaml \
  env FATHOM_DATA=catalog "$fathom" run -s read.yaml --no-monte-carlo --engine estimate \
  --set training.tokens=1B --html catalog/clusters/dgx-h100-superpod.yaml

[ "$fail" -eq 0 ] && echo "ok: size, run, step, compare and validate say what they should"
exit $fail
