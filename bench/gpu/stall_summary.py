"""Summarizes Nsight Compute's per-instruction warp-state samples (the
`*-sass.csv.gz` that profile.sh writes): for each profiled kernel, where its
samples fall by stall reason, in which stretches of its SASS (windows of 50
instructions, the hottest first) and on which instructions.

    python3 bench/gpu/stall_summary.py OUT_DIR/NAME-sass.csv.gz [--top 25]
"""
import argparse
import collections
import csv
import gzip


def kernels(path):
    """The CSV holds one section per kernel: a name row, a header row, then
    one row per SASS instruction."""
    sections, current = [], None
    with gzip.open(path, "rt") as f:
        for row in csv.reader(f):
            if not row:
                continue
            if row[0] == "Kernel Name":
                current = {"name": row[1], "rows": []}
                sections.append(current)
            elif row[0] == "Address":
                current["header"] = row
            elif current is not None and "header" in current:
                current["rows"].append(row)
    return sections


def summarize(section, top):
    header = section["header"]
    col = {h: i for i, h in enumerate(header)}
    reasons = [h for h in header if h.startswith("stall_") and "Not Issued" not in h]

    def number(row, name):
        value = row[col[name]] if col[name] < len(row) else ""
        return int(value) if value.isdigit() else 0

    rows = section["rows"]
    samples = [number(r, "Warp Stall Sampling (All Samples)") for r in rows]
    total = sum(samples) or 1
    by_reason = collections.Counter()
    for r in rows:
        for h in reasons:
            by_reason[h[6:]] += number(r, h)
    print(f"== {section['name'][:160]}")
    print(f"{len(rows)} instructions, {sum(samples)} samples; by reason: " +
          ", ".join(f"{k} {100 * v / total:.1f} %" for k, v in by_reason.most_common(8)))
    windows = sorted(((sum(samples[i:i + 50]), i) for i in range(0, len(rows), 50)), reverse=True)
    print("hottest stretches: " + ", ".join(f"{i}-{i + 49} {100 * s / total:.1f} %"
                                            for s, i in windows[:6] if s))
    hottest = sorted(range(len(rows)), key=lambda i: -samples[i])[:top]
    for i in sorted(hottest):
        r = rows[i]
        why = sorted(((number(r, h), h[6:]) for h in reasons), reverse=True)[:3]
        print(f"  {i:5d} {r[col['Source']].strip()[:58]:58s} {100 * samples[i] / total:5.2f} %  "
              f"x{number(r, 'Instructions Executed')}  " +
              " ".join(f"{h} {v}" for v, h in why if v))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv_gz")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    seen = set()
    for section in kernels(args.csv_gz):
        if section["name"] in seen:  # a kernel launched again: its first profile says it
            continue
        seen.add(section["name"])
        summarize(section, args.top)


if __name__ == "__main__":
    main()
