"""Late viewers of a Chromium H.264 camera start from Parley's keyframe cache at the keyframe's first packet.

Chromium (fake 640x480 camera, OpenH264) sends each keyframe as STAP-A[SPS, PPS] then FU-A(IDR…). A cached
keyframe that starts at the IDR's FU-A (as the server once did) reaches the viewer without SPS/PPS: its decoder
fails and waits for the keyframe its PLI asks for. VP8 runs the same way for comparison.

The scenario runs in h264_browser.py inside a private network namespace (`unshare -n`) with its own server;
the assertions are here. The result and the server's log are kept in e2e/output/.
"""
import statistics

import pytest

from conftest import REPO, run_namespaced_scenario

SCRIPT = REPO / "e2e" / "h264_browser.py"
# Measured here: a viewer served the whole cached keyframe decodes it 0.006–0.06 s after its transport is up;
# one given it without SPS/PPS waited 0.06–0.40 s (median ~0.2) for a fresh keyframe from Chromium.
MEDIAN_WAIT = 0.15  # the first-packet check is what tells the two apart; this catches a gross regression


@pytest.fixture(scope="module")
def result():
    return run_namespaced_scenario(SCRIPT, "h264-browser-late-viewers", "late-viewers", "H264,VP8", "4",
                                   timeout=60, grace=40, cwd=str(REPO / "e2e"))


def check(r, codec, starts):
    out = r[codec]
    assert out["codec"] == f"{codec}/90000", f"the publish answer chose {out['codec']}, not {codec}"
    viewers = out["viewers"]
    waits = [v["first_video_after_connected"] for v in viewers]
    firsts = [v["first_what"] for v in viewers]
    print(f"{codec}: first frame after connected {waits}; first packets {firsts}")
    for v in viewers:
        # Otherwise the viewer started on a live keyframe and the cache was not what was tested.
        assert v["from_cache"], f"{codec}: a viewer did not start on the cached keyframe: {v}"
        assert v["first_frame_packets"] > 1, f"{codec}: a single-packet keyframe cannot show where the cache starts: {v}"
        assert v["sizes"] == [[640, 480]], v
    assert all(starts(what) for what in firsts), \
        f"{codec}: late viewers' first packets {firsts} (waits {waits}); the first viewer's packets: " \
        f"{[('rtx ' if p['rtx'] else '') + p['what'] for p in viewers[0]['packets']]}"
    assert statistics.median(waits) < MEDIAN_WAIT, f"{codec}: late viewers waited {waits} for their first frame"


def test_h264_late_viewers_get_sps_pps_first(result):
    assert result["H264"]["publisher_before"]["encoder"] == "OpenH264", result["H264"]["publisher_before"]
    # SPS (7) alone or in a STAP-A: the cached keyframe starts at its access unit's first packet.
    check(result, "H264", lambda what: what == "7" or (what.startswith("STAP-A[") and "7" in what[7:-1].split(",")))


def test_vp8_late_viewers_for_comparison(result):
    check(result, "VP8", lambda what: what == "VP8 key")
    assert result["health_at_end"]["peerConnections"] == 0, result["health_at_end"]
