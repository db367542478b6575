#!/bin/bash
# The standard benchmark set (`make bench`): Parley and Janus side by side on the same synthetic peers, in a
# private network namespace (bench/netns.sh), then docs/BENCHMARKS.md's generated part is rewritten.
# Needs the release builds of parley and parley-bench and Debian's janus (the Makefile installs what is missing).
#   CHURN_SECONDS=600 make bench    the 10-minute churn run for the flat-RSS target (default 60 s)
#   SERVERS=parley make bench       Parley alone
#   RUNS=1 make bench               one run of each sweep instead of three (quicker; no ranges)
#   MEDIA_LOOPS=1 make bench        Parley with one media loop (default: one per core, as Parley starts)
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH=.build/release/parley-bench
OUT=${BENCH_OUT:-.build/bench-results}
# Janus as shipped (a loop thread per handle) and with event_loops at the core count and at 1 (one Parley loop).
SERVERS=${SERVERS:-parley,janus,janus@2,janus@1}
# Each sweep this many times, interleaved, the servers' order reversed every other run; figures are medians.
RUNS=${RUNS:-3}
CHURN_SECONDS=${CHURN_SECONDS:-60}
# Parley's media loops (each its own UDP port): its default, one per core, as janus@N runs N event loops.
# MEDIA_LOOPS=1 measures one loop (beside janus@1).
MEDIA_LOOPS=${MEDIA_LOOPS:-$(nproc)}
# Other work on the machine (builds) must not preempt the servers or the generator mid-measurement.
NICE=${BENCH_NICE:--10}
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.cmd

run() {  # name, servers, then parley-bench arguments; writes NAME.json
  local name=$1 servers=$2; shift 2
  echo "== $name ($servers): parley-bench $*" >&2
  echo "parley-bench $* --servers $SERVERS --parley-arg=--media-loops --parley-arg=$MEDIA_LOOPS" > "$OUT/${name%.r*}.cmd"
  nice -n "$NICE" bench/netns.sh "$BENCH" "$@" --servers "$servers" --parley-arg=--media-loops --parley-arg="$MEDIA_LOOPS" \
    --log-dir "$OUT/logs-$name" --json > "$OUT/$name.json"
}
reversed=$(echo "$SERVERS" | tr ',' '\n' | tac | paste -sd, -)

# 1. Forwarding cost: one publisher to 100 subscribers, the publisher's video rate stepped up until loss.
# 2. Conference rooms: 8 rooms of 4, everyone publishes and plays the other three; the rate stepped up as in 1.
# Interleaved: run i of both sweeps, then run i+1 with the servers in the other order.
for i in $(seq 1 "$RUNS"); do
  servers=$SERVERS; [ $((i % 2)) -eq 0 ] && servers=$reversed
  run "fanout-sweep.r$i" "$servers" fanout --subscribers 100 --steps 1200,2400,4800,7200,9600,12000,14400 --warmup 2 --duration 8 --concurrency 16
  run "rooms-sweep.r$i" "$servers" rooms --rooms 8 --room-size 4 --steps 1200,2400,4800,7200,9600,12000,14400 --warmup 2 --duration 8
done
# 3. A new viewer's first keyframe without the cache: keyframes only on request, viewers 2.5 s apart, so the
#    latest keyframe is always older than the 2 s the cache serves (Parley then asks the publisher at once).
run keyframe-pli "$SERVERS" fanout --subscribers 8 --subscribe-interval 2.5 --keyframe-interval 0 --warmup 1 --duration 3
# 4. Churn: 50 subscribers, two replaced per second while media flows; RSS sampled every second.
run churn "$SERVERS" churn --subscribers 50 --churn-rate 2 --warmup 2 --duration "$CHURN_SECONDS"

python3 bench/report.py "$OUT" docs/BENCHMARKS.md
echo "docs/BENCHMARKS.md rewritten from $OUT" >&2
