"""WHIP and WHEP with real WebRTC stacks: aiortc and GStreamer's webrtcbin (scenarios in whip_room.py)."""
import pytest

from conftest import REPO, run_namespaced_scenario

SCRIPT = REPO / "e2e" / "whip_room.py"


def run(scenario, *args, timeout=60):
    name = "-".join(["whip", scenario, *args])
    return run_namespaced_scenario(SCRIPT, name, scenario, *args, timeout=timeout, grace=20, cwd=str(REPO / "e2e"))


def test_an_aiortc_whip_client_publishes_into_a_room_and_delete_ends_it():
    r = run("whip-aiortc")
    assert r["post"]["status"] == 201 and r["post"]["location"].startswith("/whip/whip-room/encoder/") and r["post"]["etag"], r["post"]
    assert r["published"] == {"display": "camera", "audio": True, "video": True}, r["published"]
    assert r["decoded"]["video"] >= 30 and r["decoded"]["audio"] >= 20 and r["sizes"] == [[320, 240]], r
    assert r["delete"] == 200 and r["delete_again"] == 404, r
    assert r["unpublished_reason"] == "unpublished" and r["left_reason"] == "left", r
    # Nothing is left but the viewer.
    assert r["health_after"] == {"participants": 1, "streams": 0, "whipSessions": 0}, r["health_after"]


@pytest.mark.parametrize("codec", ["VP8", "H264"])
def test_a_gstreamer_webrtcbin_client_publishes_over_whip(codec):
    r = run("whip-gst", codec)
    assert r["gst"]["post"] == 201 and r["gst"]["delete"] == 200 and r["gst"]["exit"] == 0, r["gst"]
    assert r["codec"] == f"{codec}/90000", r["codec"]
    assert r["decoded"]["video"] >= 30 and r["decoded"]["audio"] >= 20 and r["sizes"] == [[320, 240]], r
    assert r["left_reason"] == "left", r


def test_an_aiortc_whep_client_plays_a_participants_stream():
    r = run("whep-aiortc")
    assert r["before_publish"] == {"status": 409, "retry_after": "5"}, r["before_publish"]
    assert r["post"]["status"] == 201 and r["post"]["location"].startswith("/whep/whip-room/cam/"), r["post"]
    assert r["decoded"]["video"] >= 30 and r["decoded"]["audio"] >= 20 and r["sizes"] == [[320, 240]], r
    assert r["delete"] == 200 and r["delete_again"] == 404, r
    assert r["health_after"]["whipSessions"] == 0, r["health_after"]


def test_a_whip_client_that_vanishes_is_ended_by_ice_consent():
    r = run("whip-vanish", timeout=90)
    assert r["left_after"] <= 32, r  # consent: 30 s, checked every few seconds
    assert r["unpublished_reason"] == "failed" and r["left_reason"] == "disconnected", r
