"""The media-plane seam with real WebRTC peers: a stream fed by a synthetic `MediaSource` and announced in a room
is decoded by an aiortc player, and a `MediaSink` on a Chromium publisher's stream gets its packets in order from
a keyframe.

The hooks live in parley-testbed (e2e/testbed/, never in `parley`); the scenarios run in media_seam.py inside a
private network namespace (`unshare -n`) with their own testbed; the assertions are here. Results, the testbed's
log, the IVF file and the sinks' JSON lines are kept in e2e/output/.

The player uses Parley's own `play`, as for a browser's stream.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import OUTPUT, REPO, run_namespaced_scenario

SCRIPT = REPO / "e2e" / "media_seam.py"


@pytest.fixture
def testbed(monkeypatch):
    """The runner takes its binary from PARLEY_BIN: point it at the testbed."""
    binary = Path(os.environ.get("PARLEY_TESTBED_BIN", REPO / ".build" / "debug" / "parley-testbed"))
    binary = binary if binary.is_absolute() else REPO / binary
    assert binary.exists(), f"{binary} is missing: build first (swift build --product parley-testbed)"
    monkeypatch.setenv("PARLEY_BIN", str(binary))


@pytest.fixture(scope="module")
def ivf():
    """4 s of ffmpeg's test pattern in VP8, 320x240 at 30 fps, a keyframe every second: a new viewer starts from
    the server's keyframe cache (keyframes up to 2 s old), since the source refuses keyframe requests."""
    assert shutil.which("ffmpeg"), "ffmpeg is missing (make deps-test installs it)"
    path = OUTPUT / "media-seam-testsrc.ivf"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "4",
                    "-c:v", "libvpx", "-g", "30", "-b:v", "600k", "-deadline", "realtime", "-f", "ivf", str(path)],
                   check=True, timeout=60)
    return path


def run(scenario, path):
    return run_namespaced_scenario(SCRIPT, f"media-seam-{scenario}", scenario, str(path), timeout=40, grace=20,
                                   cwd=str(REPO / "e2e"))


def test_a_synthetic_source_is_decoded_by_a_webrtc_player(testbed, ivf):
    r = run("synthetic-play", ivf)
    print(f"{r['playback']['frames']} frames, first video "
          f"{r['playback']['first_video_after_answer']} s after the answer; keyframe requests {r['keyframe_requests']}")
    assert r["published"]["display"] == "synthetic" and r["published"]["video"] and not r["published"]["audio"], r["published"]
    playback = r["playback"]
    assert playback["codecs"] == {"video": "VP8/90000"}, playback["codecs"]
    # 150 frames: past the end of the 120-frame file, which the source loops.
    assert playback["frames"]["video"] >= 150 and playback["sizes"] == [[320, 240]], playback
    assert not playback["ended"], playback["ended"]
    # Started from the keyframe cache at once (ICE and DTLS take ~0.05 s here): waiting for the file's next
    # keyframe instead would take up to 1 s.
    assert playback["first_video_after_answer"] < 0.5, playback
    assert r["keyframe_requests"] >= 1, "the player's arrival should have asked the source for a keyframe"
    assert r["peer_connections_at_end"] == 0


def test_sinks_get_a_chromium_publishers_packets_in_order_from_a_keyframe(testbed):
    r = run("sink", OUTPUT / "media-seam-sink")
    sinks = r["sinks"]
    for name, sink in sinks.items():
        print(f"{name} sink: " + "; ".join(f"{kind} {s['packets']} packets, {s['frames']} frames, first {s['first']}"
                                          for kind, s in sink.items()))
    print(f"publisher: {r['publisher']}")
    assert r["publisher"]["codecs"]["video"] == "VP8/90000", r["publisher"]
    for name, sink in sinks.items():
        video, audio = sink["video"], sink["audio"]
        # The testbed took the tracks for the SDK's order (audio, then video): Opus steps by 960 (20 ms at 48 kHz),
        # and only the video track carries keyframes.
        assert audio["timestamp_steps"][0][0] == 960 and audio["keyframe_packets"] == 0, (name, audio)
        assert video["first"]["keyframe"], f"{name}: the first video packet does not start a keyframe: {video['first']}"
        assert video["packets"] >= 60, (name, video)
        # Loopback loses nothing: each packet is the one after the last, in the sink's own numbering.
        assert len(video["sequence_steps_not_one"]) <= 2, (name, video["sequence_steps_not_one"])
        assert video["timestamps_backwards"] == 0 and video["unmarked_frame_ends"] == 0, (name, video)
        assert len(audio["sequence_steps_not_one"]) <= 2 and audio["timestamps_backwards"] == 0, (name, audio)
    # The late sink came after the keyframe cache's 2 s: its first keyframe is a new one the publisher made on
    # request, not the first (the server keeps the publisher's RTP timestamps).
    early, late = sinks["early"]["video"]["first"]["ts"], sinks["late"]["video"]["first"]["ts"]
    assert (late - early) % 2 ** 32 >= 2 * 90000, (early, late)
    assert r["publisher"]["keyFramesEncoded"] >= 2, r["publisher"]
    assert sum("ended=true" in line for line in r["testbed"]) >= 2, r["testbed"]
