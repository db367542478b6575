#!/bin/bash
# Interleaved A/B of two Parley release binaries on the same fan-out steps, the order alternated each run, one line
# per binary, run and step (p50/p99 latency, server and generator CPU, loss, RSS per subscriber). Compare the server's
# CPU over the generator's: the generator's work is the same for both, so the ratio cancels the machine's speed of
# the moment, which on a shared VM moves by ±10 % from run to run.
#   usage: bench/ab.sh RUNS STEPS BIN_A BIN_B [parley-bench args...]
#   e.g.   bench/ab.sh 4 4800,7200 /tmp/parley-before .build/release/parley | sort -k1,1 -k2,2n
set -e
cd "$(dirname "$0")/.."
runs=$1; steps=$2; A=$3; B=$4; shift 4
one() {
  local bin=$1; shift
  nice -n -10 bench/netns.sh .build/release/parley-bench fanout --subscribers 100 --steps "$steps" --warmup 2 \
    --duration 8 --concurrency 16 --servers parley --parley-bin "$bin" --parley-arg=--media-loops --parley-arg=2 \
    "$@" --json 2>/dev/null | python3 -c "
import json, sys
for r in json.load(sys.stdin)['results']:
    print('$(basename "$bin")', r['videoKbps'], 'p50', r['latencyP50Ms'], 'p99', r['latencyP99Ms'],
          'cpu', round(r['serverCPUCores'], 3), 'gen', round(r['generatorCPUCores'], 3),
          'cpu/gen', round(r['serverCPUCores'] / max(r['generatorCPUCores'], 1e-9), 2),
          'loss', r['lossPercent'], 'rss/sub', r['rssPerSubscriberKiB'])"
}
for i in $(seq 1 "$runs"); do
  if [ $((i % 2)) = 1 ]; then one "$A" "$@"; one "$B" "$@"; else one "$B" "$@"; one "$A" "$@"; fi
done
