"""Interop with an independent WebRTC stack: aiortc runs the echo test through Parley.

Each case runs the server and the aiortc peer together in a private network namespace (loopback plus a veth
with 10.77.0.1 and nothing attached), so that aiortc, which never uses 127.0.0.1, has an address to use and
no packet can leave the machine.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import OUTPUT, REPO

# Its own statement: were the server's `&` to end this and-list, `$!` would be the subshell running the list,
# and killing it would leave the server running (orphaned, in a namespace nobody can reach).
NAMESPACE = ("{ ip link set lo up && ip link add v0 type veth peer name v1 && ip addr add 10.77.0.1/24 dev v0 "
             "&& ip link set v0 up && ip link set v1 up && ip route add default dev v0; } || exit 1; ")


def run_in_namespace(case, *peer_args):
    binary = Path(os.environ.get("PARLEY_BIN", REPO / ".build" / "debug" / "parley"))
    binary = binary if binary.is_absolute() else REPO / binary
    OUTPUT.mkdir(parents=True, exist_ok=True)
    log = OUTPUT / f"server-aiortc-{case}.log"
    script = (NAMESPACE
              + f"{binary} --host 0.0.0.0 --port 18080 --media-port 40000 --web-root {REPO / 'Web'} > {log} 2>&1 & "
              + "server=$! && for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/18080) 2>/dev/null && break; sleep 0.1; done "
              + f"&& {sys.executable} {REPO / 'e2e' / 'aiortc_echo.py'} ws://10.77.0.1:18080/ws " + " ".join(peer_args)
              # Stop this run's server by its pid: a pattern would also hit servers of concurrent runs.
              + "; status=$?; kill -TERM $server; wait $server; exit $status")
    completed = subprocess.run(["unshare", "-n", "bash", "-c", script], capture_output=True, text=True, timeout=90)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result from the aiortc peer: {completed.stdout}\n{completed.stderr[-3000:]}"
    return json.loads(lines[-1])


@pytest.mark.parametrize("video,audio", [("VP8", "opus"), ("H264", "PCMU")])
def test_aiortc_decodes_its_own_media_back(video, audio):
    result = run_in_namespace(f"{video}-{audio}", video, audio)
    assert result["status"] == "connected", result
    assert any(c.upper().startswith(video.upper()) for c in result["answer_codecs"]), result
    assert any(c.upper().startswith(audio.upper()) for c in result["answer_codecs"]), result
    assert result["video_frames"] >= 20, result
    assert result["audio_frames"] >= 20, result
    assert result["size"] == [320, 240], result


def test_wrong_fingerprint_is_refused():
    result = run_in_namespace("wrong-fingerprint", "VP8", "opus", "--wrong-fingerprint")
    assert result["status"] == "failed", result
    assert "fingerprint" in (result["reason"] or ""), result
    assert result["video_frames"] == 0, result
