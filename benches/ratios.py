#!/usr/bin/env python3
"""Runs the criterion benches RUNS times, interleaved, and reports each
measurement's median per run, the facade/baseline ratios per run, and the
median and spread (min-max) of those ratios across runs.

Usage: python3 benches/ratios.py [RUNS] [BENCH ...]
       (default: 5 runs of order_prep, end_to_end and decode)
Each run uses criterion's median estimate (target/criterion/.../new/estimates.json).
"""
import json, os, statistics, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
benches = sys.argv[2:] or ["order_prep", "end_to_end", "decode"]
crit = os.path.join(root, "target", "criterion")

def medians():
    out = {}
    for dirpath, _, files in os.walk(crit):
        if dirpath.endswith(os.path.join("new")) and "estimates.json" in files:
            rel = os.path.relpath(os.path.dirname(dirpath), crit)
            with open(os.path.join(dirpath, "estimates.json")) as f:
                out[rel.replace(os.sep, "/")] = json.load(f)["median"]["point_estimate"]
    return out

# (label, numerator, denominator): the ratio is facade time / baseline time.
PAIRS = []
for n in (1, 10, 100, 1000):
    PAIRS.append((f"order_prep {n} lines: serialize only", f"order_prep/facade_serialize/{n}", f"order_prep/baseline_serialize/{n}"))
    PAIRS.append((f"order_prep {n} lines: build+validate+serialize", f"order_prep/facade_build_validate_serialize/{n}", f"order_prep/baseline_serialize/{n}"))
    PAIRS.append((f"order_prep {n} lines: deserialize", f"order_prep/facade_deserialize/{n}", f"order_prep/baseline_deserialize/{n}"))
for c in (1, 64):
    PAIRS.append((f"end_to_end create_order x{c}", f"end_to_end/facade_create_order/{c}", f"end_to_end/raw_create_order/{c}"))
    PAIRS.append((f"end_to_end read_token x{c}", f"end_to_end/facade_read_token/{c}", f"end_to_end/raw_read_token/{c}"))
PAIRS.append(("decode token: typed vs Value", "decode/token_typed", "decode/token_value"))
PAIRS.append(("decode order: typed vs Value", "decode/order_typed", "decode/order_value"))

per_run = []
for r in range(runs):
    for bench in benches:
        subprocess.run(
            ["cargo", "bench", "--quiet", "-p", "klarna-customer-token-benches", "--bench", bench, "--",
             "--warm-up-time", "1", "--measurement-time", "3", "--noplot"],
            cwd=root, check=True, stdout=subprocess.DEVNULL)
    per_run.append(medians())
    print(f"run {r + 1}/{runs} done", file=sys.stderr)

names = sorted(set().union(*per_run))
print("## medians per run (ns)\n")
print("| benchmark | " + " | ".join(f"run {i + 1}" for i in range(runs)) + " |")
print("|---|" + "---|" * runs)
for name in names:
    print(f"| {name} | " + " | ".join(f"{run.get(name, float('nan')):.0f}" for run in per_run) + " |")
print("\n## ratios (facade / baseline; below 1 means the facade is faster)\n")
print("| comparison | median | min | max |")
print("|---|---|---|---|")
for label, a, b in PAIRS:
    ratios = [run[a] / run[b] for run in per_run if a in run and b in run]
    if ratios:
        print(f"| {label} | {statistics.median(ratios):.3f} | {min(ratios):.3f} | {max(ratios):.3f} |")
