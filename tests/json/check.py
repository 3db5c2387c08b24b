#!/usr/bin/env python3
"""The JSON naming convention (docs/formats.md, "JSON output"), checked mechanically.

Usage: tests/json/check.py FATHOM SOURCE_DIR [FILE.json ...]

Reads every golden report (tests/scenarios/*.json), runs each subcommand whose JSON has
no golden (size, compare, collective, sweep, catalog, validate, step with the estimator,
run over a number of tokens), adds the files given, and checks each document:

  - every key is lower-case snake_case (no "Bps", "GBps", "size_B");
  - every number is under a key the convention knows: a count (an integer, never 4.0),
    a byte count (a key or an object's key ending in _bytes: an integer, never 67108864.0),
    a fraction or ratio, a quantity whose key ends with its unit (one spelling per unit),
    an object whose key names the unit of all its numbers (time_breakdown_s), or a
    statistic (mean, p10, ...) of one of these;
  - no key is a bare unit ("bytes", "usd") or a retired synonym ("time_to_train_s");
  - null, not a missing key: the objects of one array have the same keys, and so do the
    objects at one place of one schema in every document.

A new key must be added here (COUNTS, DIMENSIONLESS) or end with a unit; the test fails
until it is, so that the convention cannot drift.
"""
import glob
import json
import os
import re
import subprocess
import sys

# Units: a quantity's key ends with one of these (longest first is not needed: any match).
UNIT_SUFFIXES = (
    "_s",                    # seconds; also every rate "..._per_s" (bytes, FLOPs, tokens per second)
    "_bytes",                # bytes (B, not bits)
    "_flops",                # floating-point operations
    "_flops_per_token",      # FLOPs per token
    "_flops_per_byte",       # arithmetic intensity: FLOPs per byte of HBM traffic
    "_w",                    # watts
    "_j",                    # joules
    "_usd",                  # US dollars
    "_pct",                  # percent (validation errors and tolerances)
    "_per_1000_node_days",   # a failure rate, per 1000 node-days
    "_si",                   # in the SI unit the object's "unit" names (sensitivity: FLOP/s,
                             # B/s, s; "" for a fraction)
    "_chip_hours",           # chip-hours, the billing quantity (total_chip_hours)
)
# Keys that are a unit of their own: prices and the billing quantity.
UNIT_KEYS = {"usd_per_chip_hour", "usd_per_kwh", "chip_hours"}
# A key that is only a unit says nothing of what it measures.
BARE_UNITS = {"s", "bytes", "flops", "w", "j", "usd", "pct", "kwh", "b", "bps"}
# Spellings of a unit the convention does not use (one spelling per unit).
FORBIDDEN_SUFFIXES = ("_b", "_kb", "_mb", "_gb", "_gib", "_bps", "_gbps", "_ms", "_us", "_ns",
                      "_min", "_h", "_hours", "_days", "_d", "_kw", "_mw", "_kwh", "_mwh",
                      "_wh", "_tflops", "_pflops", "_percent", "_frac")
# Names retired for one name per quantity: old -> the name every schema uses.
SYNONYMS = {
    "time_to_train_s": "expected_train_time_s",
    "ideal_time_s": "ideal_train_time_s",
    "energy_j": "it_energy_j",
    "it_energy_kwh": "it_energy_j",
    "ideal_usd": "ideal_cost_usd",
    "power_w_per_chip": "power_per_chip_w",
    "w_per_chip": "power_per_chip_w",
    "per_writer_bytes": "size_per_writer_bytes",
    "per_1000_node_days": "rate_per_1000_node_days",
    "algbw": "alg_bandwidth_bytes_per_s",
    "busbw": "bus_bandwidth_bytes_per_s",
    "block_chips": "block",
    "hbm_bytes": "memory_capacity_bytes",
}
# Counts and indices: JSON integers (or null).
COUNTS = {
    # the scenario and the plan
    "chips", "nodes", "tp", "pp", "vp", "dp", "cp", "ep", "etp", "zero", "micro_batch_size",
    "global_batch_size", "micro_batches", "first_stage_layers", "last_stage_layers",
    # the model
    "parameters", "active_parameters", "mtp_parameters", "layers", "hidden", "heads", "kv_heads", "seq_len",
    # work
    "steps", "tokens", "tokens_per_step", "calls", "events", "trials", "seed", "window_steps",
    # indices and ranks
    "index", "rank", "rank_by_estimate", "stage", "memory_stage", "critical_stage",
    "span_level", "line",
    # the topology and collective groups
    "domain", "domains", "scale_up_domain", "radix", "block", "blocks", "planes",
    "chips_per_nic", "size", "stride", "members_per_domain", "members_per_block",
    "torus_dims", "group_size",
    # reliability
    "components", "gpu", "node", "nic", "switch", "link", "switches", "links", "writers",
    "spare_nodes", "domain_nodes", "domain_chips", "job_domains", "spare_domains",
    "needed_for_confidence", "confidence_pool_spares", "replicas",
    # searches, sweeps, sizing, validation
    "in", "out", "plans", "not_fitting", "alike", "points", "evaluated", "failed",
    "chosen_chips", "chosen_within_chips", "fewer_chip_hours_chips", "cluster_chips", "cases",
    "slower_than_chips", "longer_with_failures_than_chips", "fabric_limit_chips",
    "collective_cases", "estimate_fast_cases", "simulate_fast_cases", "failed_cases", "target_cases",
    "collective_independent_cases",
    "layer_rows",
}
# Dimensionless numbers: fractions, ratios, factors, probabilities, expectations of counts.
DIMENSIONLESS = {
    "mfu", "hfu", "mfu_run_precision", "effective_mfu", "ettr", "ettr_linear",
    "ettr_all_causes", "ettr_ci99_half_width", "share", "confidence", "pue",
    "oversubscription", "p_wait_with_spares", "p_wait_without_spares", "p_wait_charged", "elasticity",
    "availability", "p_ready", "p_ready_without_spares", "ettr_at_zero_downtime",
}
DIMENSIONLESS_SUFFIXES = ("_fraction", "_ratio", "_factor", "_expected", "_mean")
# Statistics of a distribution: under a key that says what (and in which unit) it is.
STATISTICS = {"mean", "p10", "p50", "p90"}
# Objects whose keys are data, not names (a sweep row's axis values).
DATA_OBJECTS = {"values"}

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def has_unit(key):
    return key in UNIT_KEYS or any(key.endswith(u) for u in UNIT_SUFFIXES)


def is_bytes(key, parent):
    """A byte count (memory_per_chip_bytes, or a number of memory_breakdown_bytes): an integer."""
    return (key is not None and key.endswith("_bytes")) or \
        (parent is not None and parent.endswith("_bytes"))


def classify(key, parent):
    """'count', 'quantity', 'dimensionless', or None (a number the convention does not know)."""
    if parent is not None and has_unit(parent):
        return "quantity"  # the parent names the unit: {"time_breakdown_s": {"compute": 1.2}}
    if key in COUNTS:
        return "count"
    if has_unit(key):
        return "quantity"
    if key in DIMENSIONLESS or key.endswith(DIMENSIONLESS_SUFFIXES):
        return "dimensionless"
    if key in STATISTICS and parent is not None:
        return "statistic"
    return None


class Checker:
    def __init__(self):
        self.errors = []
        self.shapes = {}  # (schema, path) -> (key list, where first seen)

    def error(self, where, message):
        self.errors.append(f"{where}: {message}")

    def check_document(self, name, doc):
        schema = doc.get("schema") if isinstance(doc, dict) else None
        if not isinstance(schema, str) or not re.match(r"^fathom\.[a-z]+/[0-9]+$", schema):
            self.error(name, f"no versioned schema (got {schema!r})")
            schema = "?"
        self.walk(name, schema, doc, "", None)

    def walk(self, name, schema, value, path, key):
        where = f"{name}: {path or '/'}"
        if isinstance(value, dict):
            if key in DATA_OBJECTS:
                return
            self.shape(name, schema, path, list(value.keys()))
            breakdown = value.get("memory_breakdown_bytes")
            if isinstance(breakdown, dict) and isinstance(value.get("memory_per_chip_bytes"), int):
                parts = sum(v for v in breakdown.values() if isinstance(v, int))
                if parts != value["memory_per_chip_bytes"]:
                    self.error(where, f"memory_breakdown_bytes adds up to {parts}, not "
                                      f"memory_per_chip_bytes {value['memory_per_chip_bytes']}")
            for k, v in value.items():
                if not SNAKE.match(k):
                    self.error(where, f'key "{k}" is not lower-case snake_case')
                if k in BARE_UNITS:
                    self.error(where, f'key "{k}" is a bare unit: name the quantity (e.g. "size_bytes")')
                if k in SYNONYMS:
                    self.error(where, f'key "{k}" is retired: the name is "{SYNONYMS[k]}"')
                if k.endswith(FORBIDDEN_SUFFIXES) and not has_unit(k):
                    self.error(where, f'key "{k}" spells a unit the convention does not use')
                self.walk(name, schema, v, f"{path}.{k}", k)
        elif isinstance(value, list):
            objects = [x for x in value if isinstance(x, dict)]
            if objects:
                first = list(objects[0].keys())
                for i, x in enumerate(objects):
                    if list(x.keys()) != first:
                        self.error(where, f"item {i} has keys {sorted(set(x) ^ set(first))} "
                                          "that item 0 has not, or lacks them (null, not missing)")
                        break
            for x in value:
                self.walk(name, schema, x, path + "[]", key)
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            return
        elif isinstance(value, (int, float)):
            parent = path.rsplit(".", 2)[-2] if path.count(".") >= 2 else None
            if parent is not None:
                parent = parent.rstrip("[]")
            kind = classify(key, parent) if key is not None else None
            if kind is None:
                self.error(where, f'number {value!r} under "{key}": not a count, a fraction, or a '
                                  "quantity named with its unit (add it to tests/json/check.py "
                                  "or name its unit)")
            elif kind == "count" and isinstance(value, float):
                self.error(where, f'count "{key}" written as a float ({value!r}): counts are integers')
            elif is_bytes(key, parent) and isinstance(value, float):
                self.error(where, f'bytes "{key}" written as a float ({value!r}): byte counts are '
                                  "integers, rounded to the nearest byte")

    def shape(self, name, schema, path, keys):
        # One place of one schema has one set of keys in every document.
        canonical = path
        if schema.startswith("fathom.catalog/"):
            schema = f"{schema}:{name}"  # each section's entries have keys of their own
        seen = self.shapes.get((schema, canonical))
        if seen is None:
            self.shapes[(schema, canonical)] = (keys, name)
        elif seen[0] != keys:
            missing = sorted(set(seen[0]) ^ set(keys))
            self.error(f"{name}: {path or '/'}",
                       f"keys differ from {seen[1]} at the same place of {schema}: {missing} "
                       "(write null, not a missing key)")


def run(fathom, root, args, expect_rc=0):
    env = dict(os.environ, FATHOM_DATA=os.path.join(root, "data"))
    out = subprocess.run([fathom] + args, capture_output=True, text=True, env=env, cwd=root,
                         check=False)
    if out.returncode != expect_rc:
        raise RuntimeError(f"fathom {' '.join(args)}: exit {out.returncode}, expected "
                           f"{expect_rc}\n{out.stderr}")
    return out


# Subcommands without a JSON golden: small, quick instances of each, including the cases
# that write nulls (the estimator's step, a sweep point that fails, a size row without a
# plan, a collective sweep).
COMMANDS = [
    ["step", "-s", "examples/llama3-8b-dgx-h100.yaml", "--engine", "estimate"],
    # a warning at a line of the scenario: diagnostics[].line
    ["step", "-s", "examples/llama3-8b-dgx-h100.yaml", "--set", "plan.zero=1",
     "--engine", "estimate"],
    ["compare", "-s", "examples/llama3-8b-dgx-h100.yaml", "--vs", "plan.zero=3",
     "--engine", "estimate"],
    ["run", "-s", "examples/llama3-8b-dgx-h100.yaml", "--tokens", "1T", "--reliability",
     "llama3-table5", "--no-monte-carlo"],
    ["run", "-s", "examples/llama3-8b-dgx-h100.yaml", "--tokens", "1T", "--reliability", "rsc1",
     "--trials", "16"],
    ["size", "-s", "examples/llama3-8b-dgx-h100.yaml", "--tokens", "1T", "--days", "30",
     "--chips", "8,16", "--simulate-top", "0"],
    ["size", "-s", "examples/llama3-8b-dgx-h100.yaml", "--tokens", "1T", "--chips", "8",
     "--reliability", "llama3-table5", "--simulate-top", "0"],
    ["collective", "-c", "dgx-h100-superpod"],
    ["collective", "-c", "dgx-h100-superpod", "--sweep", "1MiB:8MiB", "--op", "all_gather"],
    ["sweep", "-s", "examples/llama3-8b-dgx-h100.yaml", "--axis", "plan.tp=1,3",
     "--set", "plan.dp=auto", "--engine", "estimate"],
    ["sensitivity", "-s", "examples/llama3-8b-dgx-h100.yaml"],
    ["plan", "-m", "llama3-8b", "-c", "dgx-h100-superpod", "--chips", "1000",
     "--global-batch", "512", "--top", "2", "--simulate-top", "0"],
    ["catalog", "chips"],
    ["catalog", "clusters"],
    ["catalog", "models"],
    ["validate", "--cases", "tests/validation/bloom"],
    ["validate", "--cases", "tests/validation/nccl"],
    ["validate", "--cases", "tests/validation/h200"],
]


def main():
    fathom, root = sys.argv[1], sys.argv[2]
    checker = Checker()
    documents = []
    for f in sorted(glob.glob(os.path.join(root, "tests", "scenarios", "*.json"))):
        with open(f, encoding="utf-8") as fh:
            documents.append((os.path.relpath(f, root), json.load(fh)))
    for f in sys.argv[3:]:
        with open(f, encoding="utf-8") as fh:
            documents.append((f, json.load(fh)))
    for args in COMMANDS:
        out = run(fathom, root, args + ["--json"])
        documents.append(("fathom " + " ".join(args), json.loads(out.stdout)))

    # Several clusters, one without a plan at any count tried: the others' results stay,
    # the command succeeds, and the one without says why (docs/planner.md).
    size_args = ["size", "-m", "llama3-70b", "-c", "dgx-h100-superpod", "-c", "dgx-h200",
                 "--global-batch", "1024", "--tp", "2", "--pp", "2", "--chips", "16",
                 "--tokens", "1T", "--simulate-top", "0"]
    out = run(fathom, root, size_args + ["--json"])
    size = json.loads(out.stdout)
    documents.append(("fathom " + " ".join(size_args), size))
    h100, h200 = size["clusters"]
    if not (h100["no_plan_reason"] and h100["chosen_chips"] is None and
            h200["no_plan_reason"] is None and h200["chosen_chips"] == 16):
        checker.error("size with a cluster without a plan",
                      f"expected dgx-h100-superpod without a plan and dgx-h200 at 16 chips: "
                      f"{h100['no_plan_reason']!r} {h100['chosen_chips']!r} "
                      f"{h200['no_plan_reason']!r} {h200['chosen_chips']!r}")
    if "warning: size.chips: cluster dgx-h100-superpod: no chip count tried has a plan" not in \
            out.stderr:
        checker.error("size with a cluster without a plan", f"no warning naming it:\n{out.stderr}")
    text = run(fathom, root, size_args).stdout
    if "no plan at any count tried" not in text:
        checker.error("size with a cluster without a plan", "the comparison does not say it")

    # The CSVs name their columns as the JSON names its keys: a byte count is an integer there
    # too (an empty field where a sweep point failed).
    for args in (["plan", "-s", "examples/llama3-70b-1024-h100-search.yaml", "--top", "20",
                  "--simulate-top", "0"],
                 ["sweep", "-s", "examples/llama3-8b-dgx-h100.yaml", "--axis", "plan.tp=1,2,3",
                  "--set", "plan.dp=auto", "--engine", "estimate"]):
        lines = run(fathom, root, args + ["--csv", "-"]).stdout.splitlines()
        header = lines[0].split(",")
        for line in lines[1:]:
            for column, field in zip(header, line.split(",")):
                if column.endswith("_bytes") and field and not re.match(r"^-?[0-9]+$", field):
                    checker.error("fathom " + " ".join(args) + " --csv -",
                                  f'bytes "{column}" written as {field!r}: byte counts are '
                                  "integers, rounded to the nearest byte")

    for name, doc in documents:
        checker.check_document(name, doc)
    for e in checker.errors:
        print("FAIL:", e)
    print(f"{len(documents)} JSON documents checked, {len(checker.errors)} problems")
    return 1 if checker.errors else 0


if __name__ == "__main__":
    sys.exit(main())
