#!/usr/bin/env python3
"""Meta-gradient spikes and cost per step of training runs (docs/RESULTS.md, experiment 5).

For each run directory (with metrics.jsonl), one markdown row: steps, the median pre-clip
meta-gradient norm (grad_norm), how many steps are spikes (grad_norm above FACTOR x the run's
median; default 10), the largest norm over the median, and the median seconds per step
(batch tasks / tasks_per_s). Runs given as LABEL=DIR are grouped by label: the row shows the
mean over the group's runs and, in brackets, the range.

Usage: scripts/bench/spikes.py [--factor 10] LABEL=RUN_DIR ... (or plain RUN_DIRs)
Standard library only.
"""
import json
import statistics
import sys


def run_stats(run_dir, factor):
    norms, seconds = [], []
    path = f"{run_dir}/metrics.jsonl"
    with open(path) as f:
        for number, line in enumerate(f, 1):
            try:
                m = json.loads(line)
                norms.append(float(m["grad_norm"]))
                seconds.append(1.0 / float(m["tasks_per_s"]))
            except (ValueError, KeyError) as e:
                sys.exit(f"{path}:{number}: expected a metrics line with grad_norm and tasks_per_s ({e})")
    if not norms:
        sys.exit(f"{path}: no metrics lines")
    median = statistics.median(norms)
    return {
        "steps": len(norms),
        "median": median,
        "spikes": sum(1 for n in norms if n > factor * median),
        "max_ratio": max(norms) / median if median > 0 else float("inf"),
        "seconds_per_task": statistics.median(seconds),
    }


def summary(values, digits):
    mean = statistics.mean(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main(argv):
    factor = 10.0
    if len(argv) >= 2 and argv[0] == "--factor":
        factor = float(argv[1])
        argv = argv[2:]
    if not argv:
        sys.exit(__doc__)
    groups = {}
    for arg in argv:
        label, _, run_dir = arg.rpartition("=") if "=" in arg else (arg, "", arg)
        groups.setdefault(label, []).append(run_stats(run_dir, factor))
    print(f"| arm | runs | steps | median meta-gradient norm | spike steps (> {factor:g} x median) "
          "| largest / median | ms per task |")
    print("|---|---|---|---|---|---|---|")
    for label, runs in groups.items():
        print(f"| {label} | {len(runs)} | {summary([r['steps'] for r in runs], 0)} "
              f"| {summary([r['median'] for r in runs], 2)} | {summary([r['spikes'] for r in runs], 1)} "
              f"| {summary([r['max_ratio'] for r in runs], 1)} "
              f"| {summary([1000 * r['seconds_per_task'] for r in runs], 1)} |")


if __name__ == "__main__":
    main(sys.argv[1:])
