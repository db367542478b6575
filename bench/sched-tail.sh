#!/bin/sh
# Where a fan-out's latency tail comes from, at the scheduler's level (issue 19): one fan-out step against the
# release server, `perf sched record` over part of its window, then how long Parley's busiest threads (its media
# loops) ran, how often and how long they waited for a core, how many of their runs worked off a backlog (> 2 ms),
# and how many were cut to a few microseconds (another thread preempting them after each datagram).
#   usage: bench/sched-tail.sh [KBIT_S [SUBSCRIBERS [MEDIA_LOOPS]]]     (defaults 7200 100 2; needs perf, root)
set -e
cd "$(dirname "$0")/.."
STEP=${1:-7200}
SUBSCRIBERS=${2:-100}
LOOPS=${3:-2}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
nice -n -10 bench/netns.sh .build/release/parley-bench fanout --subscribers "$SUBSCRIBERS" --steps "$STEP" \
  --warmup 2 --duration 14 --concurrency 16 --servers parley --parley-bin .build/release/parley \
  --parley-arg=--media-loops --parley-arg="$LOOPS" --json > "$OUT/bench.json" 2> "$OUT/bench.err" &
BENCH=$!
sleep 8
SERVER=$(pgrep -f "\.build/release/parley --host" | head -1)
[ -n "$SERVER" ] || { echo "no server found"; kill $BENCH 2>/dev/null; exit 1; }
perf sched record -a -o "$OUT/sched.data" -- sleep 4 > /dev/null 2>&1
perf sched timehist -i "$OUT/sched.data" > "$OUT/timehist.txt" 2> /dev/null
wait $BENCH
python3 - "$OUT" "$SERVER" "$LOOPS" <<'PY'
import json, re, sys
out, server, loops = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = json.load(open(f"{out}/bench.json"))["results"][0]
print(f"fan-out {r['videoKbps']:.0f} kbit/s to {r['subscribers']} subscribers, {loops} loop(s): "
      f"p50 {r['latencyP50Ms']:.2f} ms, p99 {r['latencyP99Ms']:.2f} ms, server {r['serverCPUCores']:.3f} cores, "
      f"generator {r['generatorCPUCores']:.3f}, loss {r['lossPercent']:.4f} %")
# timehist rows: time [cpu] task[tid/pid] wait sch-delay run (ms)
row = re.compile(r"^\s*[\d.]+\s+\[(\d+)\]\s+(.+?)\[(\d+)/(\d+)\]\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$")
threads = {}
for line in open(f"{out}/timehist.txt"):
    m = row.match(line)
    if not m or m.group(4) != server:
        continue
    t = threads.setdefault(m.group(3), {"name": m.group(2), "run": 0.0, "runs": 0, "delay": 0.0, "waits1": 0,
                                        "waits2": 0, "long": 0, "short": 0})
    delay, run = float(m.group(6)), float(m.group(7))
    t["run"] += run; t["runs"] += 1; t["delay"] += delay
    t["waits1"] += delay > 1; t["waits2"] += delay > 2; t["long"] += run > 2; t["short"] += run < 0.015
busiest = sorted(threads.items(), key=lambda kv: -kv[1]["run"])[:loops]
print("thread | ran ms | waited for a core ms | waits > 1 ms | > 2 ms | runs > 2 ms | runs < 15 µs | of runs")
for tid, t in busiest:
    print(f"{t['name']}:{tid} | {t['run']:.0f} | {t['delay']:.0f} ({t['delay'] / max(t['run'], 1e-9) * 100:.0f} %) | "
          f"{t['waits1']} | {t['waits2']} | {t['long']} | {t['short']} | {t['runs']}")
print("(4 s of the window, all CPUs; perf sched timehist)")
PY
