#!/usr/bin/env python3
"""Runs the criterion benches RUNS times, interleaved, and reports each
measurement's median per run, the facade/baseline ratios per run, and the
median and spread (min-max) of those ratios across runs.

Usage: python3 benches/ratios.py [RUNS] [BENCH ...] [--old DIR] [--filter REGEX]
       (default: 5 runs of order_prep, end_to_end and decode)

--old DIR    also runs the same benches in the tree at DIR (an older commit
             whose benches/ hold the same bench code), alternating with this
             tree inside every run (this tree first in odd runs, the old one
             first in even runs), and reports old and new side by side with
             the per-run ratio new/old.
--filter RE  passed to criterion: only the benchmarks whose id matches.
--measure S  criterion's measurement time per benchmark, in seconds (default 3;
             the warm-up is 1 s).

Each run uses criterion's median estimate (estimates.json); each tree writes
to its own criterion directory (CRITERION_HOME) under this tree's target/.
Set CARGO_TARGET_DIR to share compiled dependencies between the trees.
"""
import json, os, shutil, statistics, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
args = sys.argv[1:]
old = filt = None
if "--old" in args:
    i = args.index("--old")
    old = os.path.abspath(args[i + 1])
    del args[i:i + 2]
if "--filter" in args:
    i = args.index("--filter")
    filt = args[i + 1]
    del args[i:i + 2]
measure = "3"
if "--measure" in args:
    i = args.index("--measure")
    measure = args[i + 1]
    del args[i:i + 2]
runs = int(args[0]) if args and args[0].isdigit() else 5
benches = [a for a in args if not a.isdigit()] or ["order_prep", "end_to_end", "decode"]
homes = {"new": os.path.join(root, "target", "criterion-ratios", "new")}
trees = {"new": root}
if old:
    homes["old"] = os.path.join(root, "target", "criterion-ratios", "old")
    trees["old"] = old
for home in homes.values():
    # Nothing left from an earlier invocation is read as this one's.
    shutil.rmtree(home, ignore_errors=True)


def medians(home):
    out = {}
    for dirpath, _, files in os.walk(home):
        if os.path.basename(dirpath) == "new" and "estimates.json" in files:
            rel = os.path.relpath(os.path.dirname(dirpath), home)
            with open(os.path.join(dirpath, "estimates.json")) as f:
                out[rel.replace(os.sep, "/")] = json.load(f)["median"]["point_estimate"]
    return out


def run_bench(tree, bench):
    # The benches are a workspace member since 0.2.0; before, they were the crate's own.
    member = os.path.exists(os.path.join(trees[tree], "benches", "Cargo.toml"))
    cmd = ["cargo", "bench", "--quiet"]
    if member:
        cmd += ["-p", "klarna-customer-token-benches"]
    cmd += ["--bench", bench, "--", "--warm-up-time", "1", "--measurement-time", measure, "--noplot"]
    if filt:
        cmd.append(filt)
    env = dict(os.environ, CRITERION_HOME=homes[tree])
    subprocess.run(cmd, cwd=trees[tree], check=True, stdout=subprocess.DEVNULL, env=env)


# (label, numerator, denominator): the ratio is facade time / baseline time.
PAIRS = []
for n in (1, 10, 100, 1000):
    PAIRS.append((f"order_prep {n} lines: serialize only", f"order_prep/facade_serialize/{n}", f"order_prep/baseline_serialize/{n}"))
    PAIRS.append((f"order_prep {n} lines: build+validate+serialize", f"order_prep/facade_build_validate_serialize/{n}", f"order_prep/baseline_build_serialize/{n}"))
    PAIRS.append((f"order_prep {n} lines: build+validate+serialize vs prebuilt", f"order_prep/facade_build_validate_serialize/{n}", f"order_prep/baseline_serialize/{n}"))
    PAIRS.append((f"order_prep {n} lines: deserialize", f"order_prep/facade_deserialize/{n}", f"order_prep/baseline_deserialize/{n}"))
for c in (1, 64):
    PAIRS.append((f"end_to_end create_order x{c}", f"end_to_end/facade_create_order/{c}", f"end_to_end/raw_create_order/{c}"))
    PAIRS.append((f"end_to_end read_token x{c}", f"end_to_end/facade_read_token/{c}", f"end_to_end/raw_read_token/{c}"))
PAIRS.append(("decode token: typed vs Value", "decode/token_typed", "decode/token_value"))
PAIRS.append(("decode order: typed vs Value", "decode/order_typed", "decode/order_value"))

per_run = {tree: [] for tree in trees}
for r in range(runs):
    order = list(trees) if r % 2 == 0 else list(reversed(trees))
    for bench in benches:
        for tree in order:
            run_bench(tree, bench)
    for tree in trees:
        per_run[tree].append(medians(homes[tree]))
    print(f"run {r + 1}/{runs} done", file=sys.stderr)


def fmt(v):
    return f"{v:.0f}" if v == v else "–"


def table(tree):
    runs_of = per_run[tree]
    names = sorted(set().union(*runs_of))
    print(f"## {tree} tree ({trees[tree]}): medians per run (ns)\n")
    print("| benchmark | " + " | ".join(f"run {i + 1}" for i in range(runs)) + " | median |")
    print("|---|" + "---|" * (runs + 1))
    for name in names:
        values = [run.get(name, float("nan")) for run in runs_of]
        print(f"| {name} | " + " | ".join(fmt(v) for v in values) + f" | {fmt(statistics.median(values))} |")
    print(f"\n## {tree} tree: ratios (facade / baseline; below 1 means the facade is faster)\n")
    print("| comparison | median | min | max |")
    print("|---|---|---|---|")
    for label, a, b in PAIRS:
        ratios = [run[a] / run[b] for run in runs_of if a in run and b in run]
        if ratios:
            print(f"| {label} | {statistics.median(ratios):.3f} | {min(ratios):.3f} | {max(ratios):.3f} |")
    print()


for tree in trees:
    table(tree)
if old:
    print("## new / old, per benchmark (time ratio per run; below 1 means the new tree is faster)\n")
    print("| benchmark | old median (ns) | new median (ns) | new/old median | min | max |")
    print("|---|---|---|---|---|---|")
    names = sorted(set().union(*per_run["new"]) & set().union(*per_run["old"]))
    for name in names:
        pairs = [(n[name], o[name]) for n, o in zip(per_run["new"], per_run["old"]) if name in n and name in o]
        ratios = [n / o for n, o in pairs]
        print(f"| {name} | {fmt(statistics.median(o for _, o in pairs))} | {fmt(statistics.median(n for n, _ in pairs))} "
              f"| {statistics.median(ratios):.3f} | {min(ratios):.3f} | {max(ratios):.3f} |")
