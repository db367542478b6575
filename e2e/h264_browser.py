"""Late viewers of a Chromium H.264 (and VP8) camera start from Parley's keyframe cache.

Chromium (headless, fake 640x480 camera) publishes video only through Parley's SDK, with the codec forced by
setCodecPreferences. Its H.264 keyframes arrive as STAP-A[SPS, PPS] then FU-A(IDR…), so a cached keyframe that
starts anywhere but its access unit's first packet leaves the viewer without SPS/PPS. aiortc viewers join one
after another and record what the server sends them first (NAL types) and how long they wait for a decoded frame.

The script part runs inside a private network namespace (`unshare -n`, as aiortc_room.py does) with its own
server announcing 10.77.0.1, and prints `RESULT {json}`.

Usage: unshare -n python h264_browser.py --binary PARLEY --log LOG [--timeout S] late-viewers [CODECS [VIEWERS]]
"""
import asyncio

import aiortc_room
from aiortc_room import Participant, Playback, chosen_codecs, now, sections
from wcs_media import PAGE_URL, PARLEY_URL, browser_wait, log_has, open_browser

# Every video transceiver the SDK adds offers only window.__codec (plus RTX), so the server can answer nothing else.
SETUP = """
const [wsUrl, username, roomName] = arguments;
return (async () => {
  const add = RTCPeerConnection.prototype.addTransceiver;
  RTCPeerConnection.prototype.addTransceiver = function (trackOrKind, init) {
    const transceiver = add.call(this, trackOrKind, init);
    const kind = typeof trackOrKind === 'string' ? trackOrKind : trackOrKind.kind;
    if (kind === 'video' && window.__codec) {
      const all = RTCRtpReceiver.getCapabilities('video').codecs;
      const wanted = all.filter((c) => c.mimeType.toLowerCase() === 'video/' + window.__codec.toLowerCase()
        && (window.__codec !== 'H264' || /packetization-mode=1/.test(c.sdpFmtpLine || '') && /42e01f/.test(c.sdpFmtpLine || '')));
      transceiver.setCodecPreferences([...wanted, ...all.filter((c) => c.mimeType.toLowerCase() === 'video/rtx')]);
    }
    return transceiver;
  };
  const { Parley, ROOM_EVENT, STREAM_STATUS } = await import('/sdk/parley.js');
  window.__S = STREAM_STATUS;
  window.__log = [];
  window.__session = Parley.roomApi.connect({ urlServer: wsUrl, username });
  window.__room = window.__session.join({ name: roomName }).on(ROOM_EVENT.STATE, () => window.__log.push('STATE'));
  return true;
})();
"""

PUBLISH = """
const [codec] = arguments;
window.__codec = codec;
const box = document.createElement('div');
document.body.appendChild(box);
const name = 'camera-' + codec;
window.__pub = window.__room.publish({ display: box, name, constraints: { audio: false, video: { width: 640, height: 480 } } });
for (const s of Object.values(window.__S)) window.__pub.on(s, (st, info) => window.__log.push(name + ' ' + s + (info ? ' ' + (info.message || info.code) : '')));
return true;
"""

# What the publisher sends: the answer's codec and its encoder's view of the stream.
PUBLISH_STATS = """
return (async () => {
  const pc = window.__pub.getPeerConnection();
  const out = { answer: pc.remoteDescription && pc.remoteDescription.sdp };
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'outbound-rtp' && r.kind === 'video') Object.assign(out, { frameWidth: r.frameWidth, frameHeight: r.frameHeight,
      keyFramesEncoded: r.keyFramesEncoded, framesEncoded: r.framesEncoded, encoder: r.encoderImplementation, bytesSent: r.bytesSent });
  });
  return out;
})();
"""


def describe(codec, payload):
    """What a video RTP payload starts with: H.264 NAL units (RFC 6184) or the VP8 descriptor (RFC 7741)."""
    if not payload:
        return "empty"
    if codec == "VP8":
        start = payload[0] & 0x10 and payload[0] & 0x0F == 0
        offset = 1
        if payload[0] & 0x80:
            x, offset = payload[1], 2
            if x & 0x80:
                offset += 2 if payload[offset] & 0x80 else 1
            offset += (1 if x & 0x40 else 0) + (1 if x & 0x30 else 0)
        if not start:
            return "VP8 cont"
        return "VP8 key" if payload[offset] & 0x01 == 0 else "VP8 delta"
    kind = payload[0] & 0x1F
    if kind == 24:
        inner, offset = [], 1
        while offset + 2 < len(payload):
            size = int.from_bytes(payload[offset:offset + 2], "big")
            inner.append(payload[offset + 2] & 0x1F)
            offset += 2 + size
        return "STAP-A[" + ",".join(map(str, inner)) + "]"
    if kind == 28:
        return f"FU-A({payload[1] & 0x1F}{',start' if payload[1] & 0x80 else ''})"
    return str(kind)


def carries_sps(description):
    return description == "7" or (description.startswith("STAP-A[") and "7" in description[7:-1].split(","))


def is_keyframe_start(codec, description):
    return description == "VP8 key" if codec == "VP8" else carries_sps(description) or description in ("5", "FU-A(5,start)")


class WatchedPlayback(Playback):
    """A Playback that also notes the first RTP packets of its video: arrival, RTX or not, timestamp, payload."""

    def __init__(self, *args, keep=16, **kwargs):
        super().__init__(*args, **kwargs)
        self.packets, self.keep = [], keep
        self.keyframes = []  # (arrival, RTP timestamp) of every packet starting a keyframe
        self.ssrc = None  # the video's (not RTX's) SSRC, for PLIs
        add = self.pc.addTransceiver

        def add_and_watch(kind, **options):
            transceiver = add(kind, **options)
            if kind == "video":
                self._watch(transceiver.receiver)
            return transceiver
        self.pc.addTransceiver = add_and_watch

    def _watch(self, receiver):
        handle = receiver._handle_rtp_packet  # what the DTLS transport calls for each SRTP-decrypted packet

        async def noting(packet, arrival_time_ms):
            names = {c["pt"]: c["name"].split("/")[0] for s in sections(self.answer or "") if s["kind"] == "video"
                     for c in s["codecs"]}
            name = names.get(packet.payload_type, "?")
            rtx = name.lower() == "rtx"
            payload = packet.payload[2:] if rtx else packet.payload  # RTX: the original sequence number first
            codec = "VP8" if "VP8" in names.values() else "H264"
            text = describe(codec, payload) if name != "?" else "?"
            if not rtx and name != "?":
                self.ssrc = packet.ssrc
            if not rtx and name != "?" and is_keyframe_start(codec, text):
                self.keyframes.append((now(), packet.timestamp))
            if len(self.packets) < self.keep:
                self.packets.append({"t": now(), "rtx": rtx, "pt": packet.payload_type, "ts": packet.timestamp,
                                     "marker": bool(packet.marker), "size": len(payload), "what": text})
            await handle(packet, arrival_time_ms)
        receiver._handle_rtp_packet = noting


async def play_watched(participant, room, stream):
    playback = WatchedPlayback(participant, room, stream, audio=False)
    participant.playbacks.append(playback)
    await playback.start()
    return playback


async def request_keyframe(playback):
    """Sends the publisher a PLI through the server, as a viewer's decoder would."""
    await playback.receivers["video"]._send_rtcp_pli(playback.ssrc)


async def run_codec(result, driver, room, codec, viewers, bob, people):
    js = lambda script, *args: asyncio.to_thread(driver.execute_script, script, *args)  # noqa: E731
    out = {}
    await js(PUBLISH, codec)
    await browser_wait(driver, log_has(driver, f"camera-{codec} PUBLISHING"), 20, f"Chromium publishing {codec}")
    published = await bob.wait_event(lambda e: e.get("event") == "published" and e["stream"]["display"] == f"camera-{codec}",
                                     10, f"camera-{codec} published")
    stream = published["stream"]["id"]
    # bob watches throughout: his frames show the stream runs, his packets tell which keyframes the server had.
    watching = await play_watched(bob, room, stream)
    await watching.wait_frames(video=40, timeout=15)  # ~2 s at the fake camera's 20 fps
    stats = await js(PUBLISH_STATS)
    out["codec"] = chosen_codecs(stats.pop("answer"))["video"]
    out["publisher_before"] = stats
    out["viewers"] = []
    for i in range(viewers):
        # A fresh keyframe ~0.6 s before each viewer: the cache serves keyframes up to 2 s old, and Chromium makes
        # keyframes only when asked. The 0.6 s also clears the server's 0.5 s pacing of keyframe requests.
        began = now()
        await request_keyframe(watching)
        viewer = Participant(f"viewer-{codec}-{i}".lower())
        people.append(viewer)
        await viewer.connect()
        await viewer.join(room)
        await asyncio.sleep(max(0, began + 0.6 - now()))
        late = await play_watched(viewer, room, stream)
        await late.wait_frames(video=1, timeout=5)
        await asyncio.sleep(0.2)  # a few more packets for the record
        summary = late.summary()
        first = next((p for p in late.packets if not p["rtx"]), None)
        cached = [ts for t, ts in watching.keyframes if t < late.connected_at]
        out["viewers"].append({
            "first_video_after_connected": summary["first_video_after_connected"],
            "first_packet_after_connected": round(late.packets[0]["t"] - late.connected_at, 3) if late.packets else None,
            "first_what": first and first["what"],
            # How many packets the first frame sent took (a keyframe of one packet could not show the bug).
            "first_frame_packets": sum(1 for p in late.packets if first and not p["rtx"] and p["ts"] == first["ts"]),
            # The server rewrites a new viewer's SSRC and sequence numbers, not its first RTP timestamps.
            "from_cache": bool(first and cached and first["ts"] == cached[-1]),
            "packets": [{k: v for k, v in p.items() if k != "t"} for p in late.packets],
            "sizes": summary["sizes"]})
        await late.close()
        await asyncio.sleep(max(0, began + 1.2 - now()))
    stats = await js(PUBLISH_STATS)
    stats.pop("answer")
    out["publisher_after"] = stats
    await watching.close()
    await js("window.__pub.stop(); return true")
    await browser_wait(driver, log_has(driver, f"camera-{codec} UNPUBLISHED"), 10, f"camera-{codec} unpublished")
    result[codec] = out


async def scenario_late_viewers(result, driver, codecs="H264,VP8", viewers="4"):
    room = "h264-late"
    bob = Participant("bob")
    people = [bob]
    try:
        await asyncio.to_thread(driver.get, PAGE_URL)
        await asyncio.to_thread(driver.execute_script, SETUP, PARLEY_URL, "alice", room)
        await browser_wait(driver, log_has(driver, "STATE"), 15, "Chromium in the room")
        await bob.connect()
        await bob.join(room)
        for codec in codecs.split(","):
            await run_codec(result, driver, room, codec, int(viewers), bob, people)
        await aiortc_room.close_all(people)
        # Only Chromium's session is left (it leaves with the browser): no peer connection.
        h = await aiortc_room.wait_health(lambda h: h["media"]["peerConnections"] == 0 and h["participants"] == 1, 10,
                                          "every viewer and publish gone")
        result["health_at_end"] = {k: h[k] for k in ("rooms", "participants")} | {"peerConnections": h["media"]["peerConnections"]}
    finally:
        await aiortc_room.close_all(people)


def main():
    aiortc_room.run_main({"late-viewers": scenario_late_viewers}, default_timeout=60, open_extra=open_browser)


if __name__ == "__main__":
    main()
