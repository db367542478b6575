"""WHIP and WHEP with Chromium: Debian's GStreamer (webrtcbin) and aiortc publish over WHIP into a room where
Chromium's Conference app shows them; an aiortc WHEP client plays the Chromium user's camera; then the WHEP player
page plays the GStreamer participant. Runs in whip_room.py
inside a private network namespace with its own server (`browser` scenario); the assertions are here."""
from conftest import REPO, run_namespaced_scenario


def test_a_whip_encoder_plays_in_the_conference_app_and_on_the_whep_player_page():
    r = run_namespaced_scenario(REPO / "e2e" / "whip_room.py", "whip-browser", "browser", timeout=90, grace=40, cwd=str(REPO / "e2e"))
    assert r["conference"][0] == "PLAYING" and r["conference"][1] == 320 and r["conference"][2] > 10, r["conference"]
    assert r["aiortc_whip"] == 201 and r["conference_aiortc"][0] == "PLAYING" and r["conference_aiortc"][1] == 320, r
    # An aiortc WHEP client decoded the Chromium participant's camera (its fake device: 640x480).
    assert r["aiortc_whep"] == 201 and r["whep_decoded"]["video"] >= 30 and r["whep_decoded"]["audio"] >= 20, r
    assert r["whep_sizes"] and all(w >= 320 for w, _ in r["whep_sizes"]), r["whep_sizes"]
    assert r["aiortc_deletes"] == [200, 200], r
    assert r["player"][0] == "PLAYING" and r["player"][1] == 320 and r["player"][2] > 10, r["player"]
    assert r["sessions_while_playing"] == 2 and r["sessions_after_player"] == 1, r
    assert r["gst"]["post"] == 201 and r["gst"]["delete"] == 200, r["gst"]
    # The encoder's DELETE took it out of the room (the Conference user had left with the page).
    assert r["participants_at_end"] == 0, r
