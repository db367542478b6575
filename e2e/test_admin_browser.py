"""The admin API during a real call between two Chromiums: per-stream statistics, a metrics scrape that promtool
accepts, the operator's mute (the viewer's decoder stops getting frames and audio, both sides are told, the
publisher's own unmute cannot lift it, an unmute brings video back at a keyframe) and a kick (the SDK ends the
session, FAILED kicked, without reconnecting)."""
import shutil
import subprocess
import time

from conftest import free_port, start_parley, wait_for
from test_admin_api import call
from test_sfu_browser import PLAY, PUBLISH, STATS, has, join

ADMIN_KEY = "e2e-admin-key-0123456789"

# Logs what the admin's actions show: UPDATED of others' streams, our own publish muted by the server, the
# session's FAILED.
WATCH = """
return (async () => {
  const { SESSION_STATUS, ROOM_EVENT, STREAM_EVENT } = await import('/sdk/parley.js');
  const log = (entry) => window.__log.push(entry);
  const mute = (m) => m ? 'audio:' + m.audio + ',video:' + m.video : 'none';
  window.__room.on(ROOM_EVENT.UPDATED, (p, s) => log('UPDATED ' + p.name() + ' audio=' + s.audioMuted + ' video=' + s.videoMuted
    + ' server=' + mute(s.mutedByServer)));
  window.__session.on(SESSION_STATUS.FAILED, (s, info) => log('SESSION FAILED ' + (info && info.code)));
  for (const stream of Object.values(window.__streams || {}))
    stream.on(STREAM_EVENT.MUTED_BY_SERVER, (s, m) => log('MUTED_BY_SERVER ' + mute(m)));
  return true;
})();
"""


def frames(driver):
    return driver.execute_script(STATS, "camera")


def test_stats_mute_and_kick_seen_by_browsers(request, browser_factory):
    admin = free_port()
    server, stop = start_parley(request.node.name, extra_args=["--admin-port", str(admin), "--admin-key", ADMIN_KEY])
    server.admin = f"http://127.0.0.1:{admin}"
    try:
        alice, bob = browser_factory(), browser_factory()
        join(server.base, server.ws_url, "admin-room", ((alice, "alice"), (bob, "bob")))
        alice.execute_script(PUBLISH, "camera", {"audio": True, "video": True})
        wait_for(has(alice, "camera PUBLISHING"), timeout=20, what="alice publishing")
        wait_for(has(bob, "PUBLISHED alice camera"), what="bob told of alice's camera")
        bob.execute_script(PLAY, "alice", "camera")
        wait_for(has(bob, "play camera PLAYING"), timeout=20, what="bob playing")
        wait_for(lambda: frames(bob)["videoFramesDecoded"] > 30, timeout=20, what="bob decoding alice's video")
        for driver in (alice, bob):
            driver.execute_script(WATCH)

        # Statistics: both legs of each track, the viewer's round trip from its receiver reports.
        def tracks():
            status, room = call(server, "GET", "/admin/v1/rooms/admin-room")
            assert status == 200, room
            [stream] = [s for p in room["participants"] if p["name"] == "alice" for s in p["streams"]]
            return {t["kind"]: t for t in stream["tracks"]}

        wait_for(lambda: tracks()["video"].get("viewerRTTMsMax") is not None, timeout=15, what="the viewer's RTT")
        video, audio = tracks()["video"], tracks()["audio"]
        assert video["codec"] == "VP8" and audio["codec"] == "opus", (video, audio)
        assert video["packetsReceived"] > 30 and video["bitrate"] > 50_000 and video["viewers"] == 1, video
        assert video["packetsSent"] > 30 and 0 <= video["viewerRTTMsMax"] < 200 and video["muted"] is False, video
        assert audio["packetsReceived"] > 20 and audio["viewers"] == 1 and audio["packetsSent"] > 20, audio

        # The metrics of a live call pass promtool, with the viewer reports in the histograms.
        status, text = call(server, "GET", "/metrics")
        assert status == 200 and 'parley_peer_connections{state="connected"} 2' in text, text
        samples = {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line and not line.startswith("#")}
        assert samples["parley_viewer_rtt_seconds_count"] > 0, text
        # RTP by kind both ways (one publisher, one player: about as much out as in), and the loops' hand-off delay.
        for kind in ("audio", "video"):
            sent, received = (samples[f'parley_rtp_packets_total{{direction="{d}",kind="{kind}"}}'] for d in ("out", "in"))
            assert received > 20 and 0.5 * received < sent <= 1.1 * received, (kind, sent, received)
        assert samples["parley_forwarding_delay_seconds_count"] > 0, text
        checked = subprocess.run([shutil.which("promtool") or "promtool", "check", "metrics"], input=text,
                                 capture_output=True, text=True)
        assert checked.returncode == 0 and not checked.stdout.strip() and not checked.stderr.strip(), (checked.stdout, checked.stderr)

        # Mute alice's video and audio: bob's decoder and audio stop getting anything; both are told.
        status, body = call(server, "POST", "/admin/v1/rooms/admin-room/participants/alice/mute", body={"video": True, "audio": True})
        assert status == 200 and body["muted"] == {"audio": True, "video": True}, body
        wait_for(has(bob, 'UPDATED alice audio=true video=true server=audio:true,video:true'), what="bob told of the mute")
        wait_for(has(alice, 'MUTED_BY_SERVER audio:true,video:true'), what="alice told she is muted")
        time.sleep(1)  # what was in flight
        before = frames(bob)
        alice.execute_script("return window.__streams.camera.unmuteAudio()")  # her own unmute does not lift it
        time.sleep(2)
        after = frames(bob)
        assert after["videoFramesDecoded"] - before["videoFramesDecoded"] <= 1, (before, after)
        assert after["audioPackets"] == before["audioPackets"], (before, after)
        assert tracks()["video"]["muted"] is True and tracks()["video"]["packetsReceived"] > video["packetsReceived"]

        # Unmute video: frames come back (from a fresh keyframe), audio stays muted.
        status, body = call(server, "POST", "/admin/v1/rooms/admin-room/participants/alice/mute", body={"video": False})
        assert status == 200 and body["muted"] == {"audio": True, "video": False}, body
        resumed = frames(bob)["videoFramesDecoded"]
        wait_for(lambda: frames(bob)["videoFramesDecoded"] > resumed + 20, timeout=10, what="bob decoding again")
        assert frames(bob)["audioPackets"] == after["audioPackets"]
        assert call(server, "POST", "/admin/v1/rooms/admin-room/participants/nobody/mute", body={"audio": True})[0] == 404
        assert call(server, "POST", "/admin/v1/rooms/admin-room/participants/alice/mute", body={})[0] == 400

        # Kick alice: bob sees her stream end and her leave; her SDK stops for good.
        established = alice.execute_script("return window.__log").count("ESTABLISHED")
        assert call(server, "DELETE", "/admin/v1/rooms/admin-room/participants/alice")[0] == 204
        wait_for(has(alice, "SESSION FAILED kicked"), what="alice's session ended as kicked")
        wait_for(has(bob, "UNPUBLISHED alice kicked"), what="bob told alice's stream ended")
        time.sleep(3)
        assert alice.execute_script("return window.__log").count("ESTABLISHED") == established, "no reconnect after a kick"
    finally:
        stop()
