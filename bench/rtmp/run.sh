#!/bin/bash
# RTMP benchmarks (`make bench-rtmp`, also run by `make bench`): each scenario of bench/rtmp/rtmp_bench.py in its
# own network namespace with the release build, real ffmpeg/aiortc/nginx-rtmp peers. Results go to
# $OUT/rtmp-<scenario>.json; docs/BENCHMARKS.md ("RTMP", "Recording") reads them.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${BENCH_OUT:-.build/bench-results}
BIN=${PARLEY_BIN:-.build/release/parley}
SCENARIOS=${RTMP_SCENARIOS:-latency players vp8 many record}
mkdir -p "$OUT"
# Recordings the record scenario makes go to a temporary folder.
PARLEY_RECORD_DIR=$(mktemp -d)
export PARLEY_RECORD_DIR
trap 'rm -rf "$PARLEY_RECORD_DIR"' EXIT
for scenario in $SCENARIOS; do
  echo "== rtmp $scenario" >&2
  (cd e2e && unshare -n ../.venv/bin/python ../bench/rtmp/rtmp_bench.py --binary "../$BIN" \
      --log "../$OUT/rtmp-$scenario.log" --timeout 240 "$scenario") | grep '^RESULT ' | sed 's/^RESULT //' > "$OUT/rtmp-$scenario.json"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps({k: v for k, v in r.items() if k != 'args'}))" \
    "$OUT/rtmp-$scenario.json" >&2
done
