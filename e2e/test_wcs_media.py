"""Web Call Server compatibility with media: an aiortc peer speaking the WCS protocol (at the server's bare URL)
and Chromium with Parley's SDK in the same room see and hear each other, both ways, and chat.

The scenario runs in wcs_media.py inside a private network namespace (`unshare -n`, loopback plus a veth with
10.77.0.1 and nothing attached), with its own Parley server announcing 10.77.0.1; the assertions are here. The
server's log and the measured result are kept in e2e/output/.
"""

from conftest import REPO, run_namespaced_scenario

SCRIPT = REPO / "e2e" / "wcs_media.py"
GREEN = (40, 200, 40)  # the colour the aiortc publisher paints (aiortc_room.PALETTE[1])


def run_scenario(scenario, timeout=120):
    return run_namespaced_scenario(SCRIPT, f"wcs-media-{scenario}", scenario, timeout=timeout, grace=40,
                                   cwd=str(REPO / "e2e"))


def test_wcs_peer_and_parley_browser_see_each_other_and_chat():
    r = run_scenario("both-ways")
    assert r["established"]["status"] == "ESTABLISHED", r["established"]
    assert r["state_alice"] == [], "STATE must list the others only"
    assert r["alice_heard_joined"] == "bob"

    # WCS → Parley: the answer carries Parley's candidates (the WCS client never trickles) and is ICE-lite.
    assert r["publish_answer"]["ice_lite"] and r["publish_answer"]["candidates"] >= 1, r["publish_answer"]
    assert r["publish_status"] == {"status": "PUBLISHING", "name": "wcs-media-wcsalice-1a2b",
                                   "after": r["publish_status"]["after"]}, r["publish_status"]
    assert r["parley_saw"] == {"who": "wcsalice", "name": "wcs-media-wcsalice-1a2b", "display": "wcs-media-wcsalice-1a2b",
                               "audio": True, "video": True}, r["parley_saw"]
    play = r["parley_play"]
    assert play["framesDecoded"] >= 30 and play["audioPackets"] > 0, play
    assert play["width"] == 320, play
    assert sum((a - b) ** 2 for a, b in zip(play["color"], GREEN)) < 60 ** 2, \
        f"Chromium decoded video that is not the WCS publisher's green: {play['color']}"

    # Parley → WCS: bob's stream appears under a WCS name of the room, and the WCS peer decodes it.
    assert r["wcs_saw"]["login"] == "bob" and r["wcs_saw"]["name"].startswith("wcs-media-bob-"), r["wcs_saw"]
    assert r["wcs_play_status"]["status"] == "PLAYING", r["wcs_play_status"]
    assert r["wcs_play"]["frames"]["video"] >= 30 and r["wcs_play"]["frames"]["audio"] >= 30, r["wcs_play"]
    assert all(w > 0 and h > 0 for w, h in r["wcs_play"]["sizes"]), r["wcs_play"]

    # Chat both ways, mute, leave.
    assert r["chat_status"] == "ACCEPTED"
    assert r["wcs_message"] == {"from": "bob", "text": "hello from parley"}, r["wcs_message"]
    assert r["leave_status"] == "ACCEPTED"
    assert r["alice_streams_after_leave"] == ["STOPPED", "UNPUBLISHED"], r["alice_streams_after_leave"]
    log = r["browser_log"]
    assert log.index("UNPUBLISHED wcsalice left") < log.index("LEFT wcsalice"), log
    assert r["peer_connections_after_leave"] == 1, "alice's publish and play must be gone, bob's publish stays"
