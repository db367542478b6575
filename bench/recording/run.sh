#!/bin/bash
# Recordings beside forwarding (`make bench-recording`, part of `make bench`): the fan-out benchmark (1 publisher →
# 100 subscribers, rate stepped 1.2 → 4.8 Mbit/s) alone, then with 20 more publishers at 1.5 Mbit/s each recorded by
# the server (record: true) into a temporary folder, alternated RUNS times. Prints forwarding loss, latency and
# server CPU per step for both, then every recording's frames and largest hole (check_recordings.py).
# Needs the release builds of parley and parley-bench.
set -euo pipefail
cd "$(dirname "$0")/../.."
BENCH=.build/release/parley-bench
OUT=${BENCH_OUT:-.build/bench-results}/recording
RUNS=${RUNS:-2}
RECORDED=${RECORDED:-20}
NICE=${BENCH_NICE:--10}
rm -rf "$OUT" && mkdir -p "$OUT"
records=$(mktemp -d /tmp/parley-bench-records-XXXXXX)
trap 'rm -rf "$records"' EXIT

run() {  # name, then extra parley-bench arguments
  local name=$1; shift
  echo "== $name" >&2
  nice -n "$NICE" bench/netns.sh "$BENCH" fanout --subscribers 100 --steps 1200,2400,4800 --warmup 2 --duration 8 \
    --concurrency 16 --servers parley --log-dir "$OUT/logs-$name" --json "$@" > "$OUT/$name.json"
}

for i in $(seq 1 "$RUNS"); do
  run "plain-$i"
  rm -rf "$records"/* && run "recorded-$i" --parley-arg=--record-dir="$records" --recorded-publishers "$RECORDED" --recorded-kbps 1500
  python3 bench/recording/check_recordings.py "$records" --json > "$OUT/files-$i.json"
done

python3 - "$OUT" "$RUNS" <<'PY'
import json, sys, statistics
out, runs = sys.argv[1], int(sys.argv[2])
def steps(name):
    data = json.load(open(f"{out}/{name}.json"))
    results = data["results"] if isinstance(data, dict) else data
    return {r["videoKbps"]: r for r in results}
print("| video kbit/s (fan-out) | server CPU (cores), fan-out alone | with 20 recordings | forwarding loss % alone / with | latency p99 ms alone / with | RSS MiB alone / with |")
print("|---|---|---|---|---|---|")
plain = [steps(f"plain-{i}") for i in range(1, runs + 1)]
rec = [steps(f"recorded-{i}") for i in range(1, runs + 1)]
for kbps in sorted(plain[0]):
    cpu = lambda runs_: statistics.median(r[kbps]["serverCPUCores"] for r in runs_ if kbps in r)
    loss = lambda runs_: max(r[kbps]["lossPercent"] for r in runs_ if kbps in r)
    p99 = lambda runs_: statistics.median(r[kbps]["latencyP99Ms"] for r in runs_ if kbps in r)
    rss = lambda runs_: statistics.median(r[kbps]["rssMiB"] for r in runs_ if kbps in r)
    print(f"| {kbps:.0f} | {cpu(plain):.3f} | {cpu(rec):.3f} | {loss(plain):.4f} / {loss(rec):.4f} | {p99(plain):.2f} / {p99(rec):.2f} | {rss(plain):.0f} / {rss(rec):.0f} |")
for i in range(1, runs + 1):
    s = json.load(open(f"{out}/files-{i}.json"))["summary"]
    print(f"run {i}: {s['recordings']} recordings, {s['frames']} video frames of {s['expected_frames']} expected, "
          f"largest hole video {s['largest_video_hole_ms']} ms / audio {s['largest_audio_hole_ms']} ms, "
          f"gaps over 100 ms: {s['gaps_over_100ms']}, .part left: {s['part_files_left']}, all with Cues: {s['all_complete']}")
PY
