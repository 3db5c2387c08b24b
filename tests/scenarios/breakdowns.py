#!/usr/bin/env python3
"""Every golden step report's time breakdown is honest: no term below zero, and the terms add
up to the step time (to the nanosecond the report prints each with).

Usage: tests/scenarios/breakdowns.py SOURCE_DIR

The goldens are `fathom step --json` of every shipped example (update.sh), simulated as the
default engine does, and the scenario tests hold the binary to them byte for byte; so this
check, which reads the files and runs nothing, holds every example's simulated breakdown to
the rule at no cost (the estimator's are checked in Facade.BreakdownsAreNonNegativeAndAddUpToTheStep).
"""
import glob
import json
import os
import sys

# Each term is printed rounded to the nanosecond: the sum of 8 may be 4 ns off the step's.
ROUNDING_S = 8 * 0.5e-9


def main():
    root = sys.argv[1]
    problems = []
    reports = 0
    for path in sorted(glob.glob(os.path.join(root, "tests", "scenarios", "*.json"))):
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        name = os.path.relpath(path, root)
        if not isinstance(doc, dict) or "time_breakdown_s" not in doc:
            continue  # a search's or a run's report
        reports += 1
        terms = doc["time_breakdown_s"]
        step = doc["step_time_s"]
        for term, seconds in terms.items():
            if seconds < 0:
                problems.append(f"{name}: time_breakdown_s.{term} is {seconds} s, below zero")
        total = sum(terms.values())
        if abs(total - step) > ROUNDING_S + 1e-12 * step:
            problems.append(f"{name}: the terms add up to {total!r} s, the step is {step!r} s")
        if "bubble_fraction" in doc and abs(doc["bubble_fraction"] - terms["bubble"] / step) > 1e-6:
            problems.append(f"{name}: bubble_fraction {doc['bubble_fraction']} is not the bubble "
                            f"over the step ({terms['bubble'] / step})")
    if reports == 0:
        problems.append("no golden step report found under tests/scenarios")
    for p in problems:
        print("FAIL:", p)
    print(f"{reports} golden step reports checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
