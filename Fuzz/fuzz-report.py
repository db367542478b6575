#!/usr/bin/env python3
"""The table `make fuzz` ends with: per target, from libFuzzer's log (-print_final_stats=1), inputs run, seconds,
exec/s, coverage (cov: edges, ft: features), corpus size and whether it crashed."""
import os
import re
import sys

rows = []
for path in sys.argv[1:]:
    if not os.path.exists(path):
        continue
    text = open(path, errors="replace").read()
    target = os.path.basename(path)[:-len(".log")]
    stat = lambda name: (re.findall(rf"^stat::{name}:\s*(\d+)", text, re.M) or ["?"])[-1]
    status = re.findall(r"^#\d+\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", text, re.M)
    cov, ft, corp = status[-1] if status else ("?", "?", "?")
    seconds = (re.findall(r"^parley-fuzz-seconds: (\d+)", text, re.M) or ["?"])[-1]
    crashed = bool(re.search(r"==ERROR|deadly signal|Fatal error|fuzz property violated|Test unit written", text))
    rows.append((target, stat("number_of_executed_units"), seconds, stat("average_exec_per_sec"), cov, ft, corp,
                 "CRASH" if crashed else "-"))

header = ("target", "inputs", "seconds", "exec/s", "cov", "ft", "corpus", "crash")
widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
for row in [header] + rows:
    print("  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(row, widths))))
