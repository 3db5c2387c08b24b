#!/usr/bin/env python3
"""Runs `fathom validate --json` over tests/validation and compares it with baseline.json.

Fails if a case could not be predicted, if the case count changed without the baseline
being updated, or if the median or maximum absolute error grew by more than the slack.
Also checks that the README's opening states the suite's median error and bias as they are.
The baseline records the errors as they are; it is not a target. Update it (with the
reason in the commit message) when the model changes: tests/validation/check.py --update.
"""
import json
import os
import re
import subprocess
import sys

SLACK_PCT = 0.5


def main() -> int:
    fathom, root = sys.argv[1], sys.argv[2]
    update = "--update" in sys.argv
    env = dict(os.environ, FATHOM_DATA=os.path.join(root, "data"))
    out = subprocess.run([fathom, "validate", "--json", "--cases", os.path.join(root, "tests", "validation")],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        print(out.stderr)
        return 1
    report = json.loads(out.stdout)
    failed = [c["case"] for c in report["cases"] if c["failure"] is not None]
    if failed:
        print("cases without a prediction:", ", ".join(failed))
        return 1
    # Kernel cases (measured kernels on a calibrated chip): predicted, and within tolerance.
    for k in report.get("kernel_cases", []):
        if k["failure"] is not None or not k["within_tolerance"]:
            print(f"kernel case {k['case']}: {k['failure'] or 'target median |error| %.1f%% over %g%%' % (k['target_median_abs_error_pct'], k['tolerance_pct'])}")
            return 1
    summary = report["summary"]
    # The signed summary agrees with the rows (the bias's direction must not be misreported).
    steps = sorted(c["estimate_error_pct"] for c in report["cases"] if c["kind"] == "step")
    n = len(steps)
    median = steps[n // 2] if n % 2 else 0.5 * (steps[n // 2 - 1] + steps[n // 2])
    fast = sum(1 for e in steps if e < 0)
    if abs(summary["estimate_median_error_pct"] - median) > 1e-6 or summary["estimate_fast_cases"] != fast:
        print(f"signed summary {summary['estimate_median_error_pct']} / {summary['estimate_fast_cases']} "
              f"does not match the rows: {median} / {fast}")
        return 1
    # The README's opening states the suite's size, median error and bias: it must say them as
    # they are (rounded to whole percent).
    readme = open(os.path.join(root, "README.md")).read()
    stated = re.search(r"over the (\d+) step times in its validation suite the median error is (\d+) %, "
                       r"and (\d+) of the (\d+)\s+are predicted faster", readme)
    said = (n, round(summary["median_abs_error_pct"]), fast, n)
    if stated is None or tuple(int(x) for x in stated.groups()) != said:
        print("README.md's opening must say: over the {} step times in its validation suite the median "
              "error is {} %, and {} of the {} are predicted faster".format(*said))
        return 1
    # And the layer cases' largest error, as it is (whole percent).
    layer_max = round(summary["layer_estimate_max_abs_error_pct"] or 0)
    stated = re.search(r"measured apart\s+\(Korthikanti et al\., Table 4\), it predicts within (\d+) %", readme)
    if summary["layer_rows"] and (stated is None or int(stated.group(1)) != layer_max):
        print(f"README.md's opening must say of one layer's passes: it predicts within {layer_max} %")
        return 1
    summary = {k: v for k, v in summary.items()
               if k not in ("estimate_median_error_pct", "simulate_median_error_pct", "estimate_fast_cases")}
    baseline_file = os.path.join(root, "tests", "validation", "baseline.json")
    if update:
        with open(baseline_file, "w") as f:
            json.dump({k: round(v, 2) if isinstance(v, float) else v for k, v in summary.items()}, f, indent=2)
            f.write("\n")
        print("baseline updated:", summary)
        return 0
    with open(baseline_file) as f:
        baseline = json.load(f)
    print(f"cases {summary['cases']}, median |error| {summary['median_abs_error_pct']:.1f}% "
          f"(baseline {baseline['median_abs_error_pct']}%), max |error| {summary['max_abs_error_pct']:.1f}% "
          f"(baseline {baseline['max_abs_error_pct']}%)")
    ok = True
    for count in ("cases", "layer_rows"):
        if summary[count] != baseline[count]:
            print(f"the number of {count} changed: update the baseline")
            ok = False
    for key in ("median_abs_error_pct", "max_abs_error_pct", "layer_estimate_median_abs_error_pct",
                "layer_estimate_max_abs_error_pct"):
        if summary[key] > baseline[key] + SLACK_PCT:
            print(f"{key} regressed: {summary[key]:.2f} > {baseline[key]} + {SLACK_PCT}")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
