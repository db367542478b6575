"""WHIP and WHEP with Chromium: Debian's GStreamer (webrtcbin) publishes H.264 over WHIP into a room where
Chromium's Conference app shows it; then the WHEP player page plays the same participant. Runs in whip_room.py
inside a private network namespace with its own server (`browser` scenario); the assertions are here."""
from conftest import REPO, run_namespaced_scenario


def test_a_whip_encoder_plays_in_the_conference_app_and_on_the_whep_player_page():
    r = run_namespaced_scenario(REPO / "e2e" / "whip_room.py", "whip-browser", "browser", timeout=90, grace=40, cwd=str(REPO / "e2e"))
    assert r["conference"][0] == "PLAYING" and r["conference"][1] == 320 and r["conference"][2] > 10, r["conference"]
    assert r["player"][0] == "PLAYING" and r["player"][1] == 320 and r["player"][2] > 10, r["player"]
    assert r["sessions_while_playing"] == 2 and r["sessions_after_player"] == 1, r
    assert r["gst"]["post"] == 201 and r["gst"]["delete"] == 200, r["gst"]
    # The encoder's DELETE took it out of the room (the Conference user had left with the page).
    assert r["participants_at_end"] == 0, r
