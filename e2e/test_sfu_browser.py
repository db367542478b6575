"""The SFU in real browsers: Chromium A publishes camera+microphone (and then a screen) through the SDK,
Chromium B plays them; B decodes A's video and receives its audio, and A's send rate climbs (bandwidth feedback)."""
import time

from conftest import wait_for

SETUP = """
const [wsUrl, username, roomName, options] = arguments;
return (async () => {
  const { Parley, SESSION_STATUS, ROOM_EVENT, STREAM_STATUS } = await import('/sdk/parley.js');
  window.__S = STREAM_STATUS;
  window.__log = [];
  const log = (entry) => window.__log.push(entry);
  window.__session = Parley.roomApi.connect({ urlServer: wsUrl, username, ...(options || {}) })
    .on(SESSION_STATUS.ESTABLISHED, () => log('ESTABLISHED'));
  window.__room = window.__session.join({ name: roomName })
    .on(ROOM_EVENT.STATE, () => log('STATE'))
    .on(ROOM_EVENT.PUBLISHED, (p, s) => log('PUBLISHED ' + p.name() + ' ' + s.display))
    .on(ROOM_EVENT.UNPUBLISHED, (p, s, reason) => log('UNPUBLISHED ' + p.name() + ' ' + reason));
  return true;
})();
"""

PUBLISH = """
const [name, constraints] = arguments;
const box = document.createElement('div');
document.body.appendChild(box);
const stream = window.__room.publish({ display: box, name, constraints });
window.__streams = window.__streams || {};
window.__streams[name] = stream;
for (const status of Object.values(window.__S)) stream.on(status, (s, info) => window.__log.push(name + ' ' + status + (info ? ' ' + (info.message || info.code) : '')));
return true;
"""

PLAY = """
const [publisher, name] = arguments;
const participant = window.__room.getParticipants().find((p) => p.name() === publisher);
const box = document.createElement('div');
box.id = 'play-' + name;
document.body.appendChild(box);
const stream = participant.play(box, { name, muted: true });
window.__streams = window.__streams || {};
window.__streams[name] = stream;
for (const status of Object.values(window.__S)) stream.on(status, (s, info) => window.__log.push('play ' + name + ' ' + status + (info ? ' ' + (info.message || info.code) : '')));
return true;
"""

# Inbound/outbound RTP counters of one stream's peer connection.
STATS = """
const [name] = arguments;
return (async () => {
  const pc = window.__streams[name].getPeerConnection();
  const out = { videoFramesDecoded: 0, audioPackets: 0, videoBytesSent: 0, videoWidth: 0 };
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') { out.videoFramesDecoded += r.framesDecoded || 0; out.videoWidth = r.frameWidth || 0; }
    if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audioPackets += r.packetsReceived || 0;
    if (r.type === 'outbound-rtp' && r.kind === 'video') { out.videoBytesSent += r.bytesSent || 0; out.target = r.targetBitrate; out.limit = r.qualityLimitationReason; out.res = r.frameWidth + 'x' + r.frameHeight + '@' + r.framesPerSecond; }
    if (r.type === 'candidate-pair' && r.nominated) out.available = r.availableOutgoingBitrate;
  });
  out.time = performance.now();
  return out;
})();
"""


def log_of(driver):
    return driver.execute_script("return window.__log || []")


def has(driver, entry):
    return lambda: entry in log_of(driver)


def join(base, ws_url, room, people, options=None):
    """Each (driver, name) of `people` opens the server's page and joins `room` with the SDK (SETUP)."""
    for driver, name in people:
        driver.get(base + "/")
        driver.execute_script(SETUP, ws_url, name, room, options)
        wait_for(has(driver, "STATE"), what=f"{name} in the room")


def test_publish_and_play_between_two_browsers(parley_server, browser_factory, busy_video):
    alice, bob = browser_factory(video_file=busy_video), browser_factory()
    join(parley_server.base, parley_server.ws_url, "sfu-room", ((alice, "alice"), (bob, "bob")))

    alice.execute_script(PUBLISH, "camera", {"audio": True, "video": True})
    wait_for(has(alice, "camera PUBLISHING"), timeout=20, what="alice publishing")
    wait_for(has(bob, "PUBLISHED alice camera"), what="bob told of alice's camera")

    bob.execute_script(PLAY, "alice", "camera")
    wait_for(has(bob, "play camera PLAYING"), timeout=20, what="bob playing alice's camera")
    wait_for(lambda: bob.execute_script(STATS, "camera")["videoFramesDecoded"] > 0, timeout=10,
             what="bob decoding alice's video")

    # After 10 s: frames still rising, audio arriving, and alice sends well above the browser's start rate.
    time.sleep(8)
    first_in = bob.execute_script(STATS, "camera")
    first_out = alice.execute_script(STATS, "camera")
    time.sleep(2)
    second_in = bob.execute_script(STATS, "camera")
    second_out = alice.execute_script(STATS, "camera")
    assert second_in["videoFramesDecoded"] > first_in["videoFramesDecoded"] + 10
    assert second_in["audioPackets"] > 100
    seconds = (second_out["time"] - first_out["time"]) / 1000
    kbps = (second_out["videoBytesSent"] - first_out["videoBytesSent"]) * 8 / 1000 / seconds
    print(f"alice sends video at {kbps:.0f} kbit/s", second_out)
    assert kbps > 500, f"alice's video rate stayed at {kbps:.0f} kbit/s"

    # A screen beside the camera arrives as a second video.
    alice.execute_script(PUBLISH, "screen", {"screen": True})
    wait_for(has(alice, "screen PUBLISHING"), timeout=20, what="alice sharing her screen")
    wait_for(has(bob, "PUBLISHED alice screen"), what="bob told of alice's screen")
    bob.execute_script(PLAY, "alice", "screen")
    wait_for(lambda: bob.execute_script(STATS, "screen")["videoFramesDecoded"] > 0, timeout=20,
             what="bob decoding alice's screen")
    assert bob.execute_script("return document.querySelectorAll('video').length") >= 2
    assert bob.execute_script(STATS, "camera")["videoFramesDecoded"] > second_in["videoFramesDecoded"]

    # Alice stops sharing: bob's screen play ends; the camera goes on.
    alice.execute_script("window.__streams.screen.stop(); return true")
    wait_for(has(bob, "UNPUBLISHED alice unpublished"), what="bob told the screen is gone")
    wait_for(lambda: any(e.startswith("play screen STOPPED") for e in log_of(bob)), what="bob's screen play stopped")

    # Alice leaves: everything of hers ends at bob, and the server holds no transport for her.
    alice.execute_script("window.__room.leave(); return true")
    wait_for(lambda: any(e.startswith("play camera STOPPED") for e in log_of(bob)), what="bob's camera play stopped")
    wait_for(lambda: parley_server.health()["media"]["peerConnections"] == 0, what="all transports closed")
