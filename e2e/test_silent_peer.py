"""A client that publishes and then never starts ICE (it gave up after the answer, or UDP to the media port
is blocked) must not keep a transport, and a stream in its room, for good: the server ends both by ICE consent, as
for a peer whose checks stop (the room never saw the stream: it is announced only once its media is up)."""
import time

from conftest import REPO, ProtocolClient, start_parley, wait_for

OFFER = (REPO / "Tests" / "SDPTests" / "Fixtures" / "chrome-sendonly.sdp").read_text()


def test_a_publish_whose_peer_never_sends_an_ice_check_ends_by_consent():
    server, stop = start_parley("silent-peer")
    try:
        watcher, silent = ProtocolClient(server), ProtocolClient(server)
        for client, name in ((watcher, "watcher"), (silent, "silent")):
            assert client.request("connect", username=name)["ok"]
            assert client.request("join", room="r")["ok"]
        published = silent.request("publish", room="r", sdp=OFFER)
        assert published["ok"], published
        stream = published["result"]["stream"]
        asked = time.monotonic()
        assert server.health()["media"]["peerConnections"] == 1

        ended = silent.until(lambda f: f.get("event") == "stream" and f.get("stream") == stream
                             and f.get("status") in ("failed", "closed"), timeout=40)
        after = time.monotonic() - asked
        assert ended["reason"] == "consent_expired", ended
        assert 28 <= after <= 32, after  # 29 s, checked every second
        wait_for(lambda: server.health()["media"]["peerConnections"] == 0, timeout=5, what="no transport left")
        assert server.health()["streams"] == 0
        # The stream was never live, so the room never heard it published; the watcher is still served.
        assert not any(f.get("event") == "published" for f in watcher.frames)
        assert watcher.request("ping")["ok"]
    finally:
        stop()
