#!/usr/bin/env python3
"""Writes a small SVG plot of the order-preparation ratios (facade / plain
serde baseline) per line count, from the markdown that `ratios.py` prints.
Several result files are drawn side by side (e.g. before and after).

Usage: python3 benches/plot_ratios.py OUT.svg LABEL=results.md [LABEL=results.md ...]
A file that `ratios.py --old` wrote holds both trees: LABEL=results.md::old
(or ::new) reads only that tree's tables.
No third-party modules.
"""
import re, sys

ROW = re.compile(r"^\| order_prep (\d+) lines: ([^|]+?) \| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \|")
KINDS = ["serialize only", "build+validate+serialize"]
# The targets (issue 12): build + validate + serialize, and serialize alone.
TARGETS = [(1.3, "build+validate+serialize target"), (1.1, "serialize target")]
COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"]


def read(path):
    out = {}
    path, _, tree = path.partition("::")
    inside = not tree
    with open(path) as f:
        for line in f:
            if tree and line.startswith("## "):
                inside = line.startswith(f"## {tree} tree")
            if not inside:
                continue
            m = ROW.match(line.strip())
            if m and m.group(2) in KINDS:
                out[(int(m.group(1)), m.group(2))] = tuple(float(m.group(i)) for i in (3, 4, 5))
    return out


def main():
    out, sets = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
    data = [(label, read(path)) for label, path in sets]
    lines = sorted({n for _, d in data for (n, _) in d})
    series = [(f"{label}: {kind}", d, kind) for label, d in data for kind in KINDS]
    top = max([v[2] for _, d in data for v in d.values()] + [1.5]) * 1.1
    w, h, left, bottom, pad = 640, 320, 50, 40, 20
    plot_w, plot_h = w - left - pad, h - bottom - pad - 20 * len(series) // 2
    y = lambda v: pad + plot_h - v / top * plot_h
    group = plot_w / max(len(lines), 1)
    bar = group * 0.8 / max(len(series), 1)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">']
    for t in [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]:
        if t <= top:
            svg.append(f'<line x1="{left}" x2="{w - pad}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#ddd"/>')
            svg.append(f'<text x="{left - 5}" y="{y(t) + 4:.1f}" text-anchor="end">{t:.1f}×</text>')
    for t, what in TARGETS:
        svg.append(f'<line x1="{left}" x2="{w - pad}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#c00" stroke-dasharray="4 3"/>')
        svg.append(f'<text x="{w - pad}" y="{y(t) - 3:.1f}" text-anchor="end" fill="#c00">{what} ≤ {t}×</text>')
    for gi, n in enumerate(lines):
        x0 = left + gi * group + group * 0.1
        for si, (_, d, kind) in enumerate(series):
            v = d.get((n, kind))
            if v is None:
                continue
            x = x0 + si * bar
            svg.append(f'<rect x="{x:.1f}" y="{y(v[0]):.1f}" width="{bar * 0.9:.1f}" height="{y(0) - y(v[0]):.1f}" fill="{COLORS[si % len(COLORS)]}"/>')
            svg.append(f'<line x1="{x + bar * 0.45:.1f}" x2="{x + bar * 0.45:.1f}" y1="{y(v[1]):.1f}" y2="{y(v[2]):.1f}" stroke="#333"/>')
        svg.append(f'<text x="{left + gi * group + group / 2:.1f}" y="{pad + plot_h + 15}" text-anchor="middle">{n} lines</text>')
    for si, (name, _, _) in enumerate(series):
        lx, ly = left + (si % 2) * 290, pad + plot_h + 30 + (si // 2) * 16
        svg.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{COLORS[si % len(COLORS)]}"/>')
        svg.append(f'<text x="{lx + 14}" y="{ly}">{name}</text>')
    svg.append(f'<text x="{left}" y="12">order preparation, facade / plain serde (median, min–max)</text>')
    svg.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
