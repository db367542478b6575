"""Web Call Server compatibility with real media: an aiortc peer speaking the WCS protocol (Flashphoner WebSDK's
wire format, written from the protocol facts, not from the SDK's code) and a Chromium page using Parley's own SDK,
in one room of one Parley server.

`WCSParticipant` is the library part: one WebSocket at the server's bare URL (`ws://HOST:PORT`, path `/`) doing
what the WebSDK's room API does (`connection` → `getUserData`; `sendData` join/leave/sendMessage;
`publishStream`/`playStream` with a complete, non-trickled offer answered by the positional `setRemoteSDP`;
`notifyStreamStatusEvent`; `sendStreamEvent` for mute; `pong` to the server's `ping`).

The script part runs inside a private network namespace (`unshare -n`, as aiortc_room.py does: loopback plus a
veth with 10.77.0.1, nothing attached) with its own server announcing 10.77.0.1, and prints `RESULT {json}`.

Usage: unshare -n python wcs_media.py --binary PARLEY --log LOG [--timeout S] both-ways
"""
import asyncio
import json
import os
import shutil
import tempfile
import uuid

import websockets
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

import aiortc_room
from aiortc_room import (ADDRESS, HTTP_PORT, PALETTE, PatternVideo, ScenarioError, ToneAudio, chosen_codecs,
                         identify, now, prefer)

WCS_URL = f"ws://{ADDRESS}:{HTTP_PORT}"  # the WCS demos' default shape: no path
# Chromium loads the page from loopback (a secure context, so it may use the camera); its media goes to 10.77.0.1.
PAGE_URL = f"http://127.0.0.1:{HTTP_PORT}/"
PARLEY_URL = f"ws://127.0.0.1:{HTTP_PORT}/ws"
GREEN = 1


class WCSParticipant:
    """One WCS session: frames are {"message": name, "data": [obj]} both ways."""

    def __init__(self, login, url=WCS_URL):
        self.login, self.url = login, url
        self.ws = None
        self.frames = []  # (monotonic time, message, data) of everything received but pings
        self.pings = 0
        self.closed = False
        self._changed = asyncio.Condition()
        self._reader = None
        self.pcs = []

    async def connect(self, app_key="roomApp"):
        self.ws = await asyncio.wait_for(websockets.connect(self.url, open_timeout=10), 10)
        self._reader = asyncio.ensure_future(self._read())
        await self.send("connection", {"appKey": app_key, "mediaProviders": ["WebRTC", "WSPlayer"], "clientVersion": "2.0",
                                       "msePacketizationVersion": 2, "custom": {"login": self.login}})
        data = await self.wait(lambda m, d: m == "getUserData", 10, "getUserData")
        if data[0].get("status") != "ESTABLISHED":
            raise ScenarioError(f"{self.login}: not established: {data}")
        return data[0]

    async def send(self, message, body):
        await self.ws.send(json.dumps({"message": message, "data": [body]}))

    async def _read(self):
        try:
            async for text in self.ws:
                frame = json.loads(text)
                message, data = frame["message"], frame["data"]  # the SDK reads data[0] of every frame
                if not isinstance(data, list):
                    raise ScenarioError(f"{self.login}: a frame without a data array: {text[:200]}")
                if message == "ping":
                    self.pings += 1
                    await self.ws.send(json.dumps({"message": "pong", "data": [None]}))
                    continue
                self.frames.append((now(), message, data))
                async with self._changed:
                    self._changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed = True
            async with self._changed:
                self._changed.notify_all()

    async def wait(self, predicate, timeout, what, after=0):
        """The data of the first frame (from index `after` on) with predicate(message, data)."""
        async def find():
            async with self._changed:
                while True:
                    for _, message, data in self.frames[after:]:
                        if predicate(message, data):
                            return data
                    if self.closed:
                        raise ScenarioError(f"{self.login}: socket closed while waiting for {what}")
                    await self._changed.wait()
        try:
            return await asyncio.wait_for(find(), timeout)
        except asyncio.TimeoutError:
            seen = [(m, d) for _, m, d in self.frames[-8:]]
            raise ScenarioError(f"{self.login}: timed out after {timeout}s waiting for {what}; last: {seen}") from None

    async def room_event(self, name, timeout=10, predicate=lambda info: True):
        data = await self.wait(lambda m, d: m == "OnDataEvent" and d[0]["payload"]["name"] == name
                               and predicate(d[0]["payload"]["info"]), timeout, f"room event {name}")
        return data[0]["payload"]

    async def status(self, media_session_id, statuses, timeout=10):
        data = await self.wait(lambda m, d: m == "notifyStreamStatusEvent" and d[0]["mediaSessionId"] == media_session_id
                               and d[0]["status"] in statuses, timeout, f"{media_session_id} {statuses}")
        return data[0]

    async def command(self, command, options, timeout=10):
        operation = str(uuid.uuid1())
        await self.send("sendData", {"operationId": operation, "payload": {"command": command, "options": options}})
        data = await self.wait(lambda m, d: m == "DataStatusEvent" and d[0]["operationId"] == operation, timeout,
                               f"DataStatusEvent of {command}")
        return data[0]

    async def join(self, room):
        mark = len(self.frames)
        status = await self.command("join", {"name": room, "record": False})
        if status["status"] != "ACCEPTED":
            raise ScenarioError(f"{self.login}: join refused: {status}")
        state = await self.wait(lambda m, d: m == "OnDataEvent" and d[0]["payload"]["name"] == "STATE", 10, "STATE", mark)
        return state[0]["payload"]["info"]

    async def negotiate(self, message, pc, name, room, **extra):
        """Sends publishStream/playStream with the complete offer (and `extra` fields, e.g. rtmpUrl); applies the
        positional answer."""
        await asyncio.wait_for(pc.setLocalDescription(await pc.createOffer()), 10)
        media_session_id = str(uuid.uuid1())
        await self.send(message, {
            "mediaSessionId": media_session_id, "name": name, "published": message == "publishStream",
            "hasVideo": True, "hasAudio": True, "status": "PENDING", "record": False, "mediaProvider": "WebRTC",
            "sdp": pc.localDescription.sdp, "custom": {"name": room}, "bitrate": 0, "minBitrate": 0, "maxBitrate": 0,
            **extra})
        data = await self.wait(lambda m, d: (m == "setRemoteSDP" and d[0] == media_session_id)
                               or (m == "notifyStreamStatusEvent" and d[0].get("mediaSessionId") == media_session_id
                                   and d[0].get("status") == "FAILED"), 10, f"the answer to {message}")
        if isinstance(data[0], dict):
            raise ScenarioError(f"{self.login}: {message} {name} FAILED: {data[0].get('info')}")
        answer = data[1]
        await asyncio.wait_for(pc.setRemoteDescription(RTCSessionDescription(answer, "answer")), 10)
        return media_session_id, answer

    async def close(self):
        for pc in self.pcs:
            try:
                await asyncio.wait_for(pc.close(), 5)
            except Exception:
                pass
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 5)
            except Exception:
                pass


class Receiver:
    """Decodes what an aiortc play receives."""

    def __init__(self):
        self.frames = {"video": 0, "audio": 0}
        self.sizes, self.colors, self.tasks = set(), {}, []

    def attach(self, pc):
        @pc.on("track")
        def on_track(track):
            self.tasks.append(asyncio.ensure_future(self.drain(track)))

    async def drain(self, track):
        while True:
            try:
                frame = await track.recv()
            except (MediaStreamError, Exception):
                return
            self.frames[track.kind] += 1
            if track.kind == "video":
                self.sizes.add((frame.width, frame.height))
                if self.frames["video"] % 10 == 1:
                    color = identify(frame)
                    self.colors[color] = self.colors.get(color, 0) + 1

    async def wait(self, video, audio, timeout):
        deadline = now() + timeout
        while self.frames["video"] < video or self.frames["audio"] < audio:
            if now() > deadline:
                raise ScenarioError(f"only {self.frames} decoded after {timeout}s")
            await asyncio.sleep(0.05)


# MARK: the Chromium page (Parley's SDK)

SETUP = """
const [wsUrl, username, roomName] = arguments;
return (async () => {
  const { Parley, ROOM_EVENT, STREAM_STATUS } = await import('/sdk/parley.js');
  window.__S = STREAM_STATUS;
  window.__log = [];
  window.__published = [];
  const log = (e) => window.__log.push(e);
  window.__session = Parley.roomApi.connect({ urlServer: wsUrl, username });
  window.__room = window.__session.join({ name: roomName })
    .on(ROOM_EVENT.STATE, () => log('STATE'))
    .on(ROOM_EVENT.JOINED, (p) => log('JOINED ' + p.name()))
    .on(ROOM_EVENT.LEFT, (p) => log('LEFT ' + p.name()))
    .on(ROOM_EVENT.MESSAGE, (m) => log('MESSAGE ' + m.from.name() + ': ' + m.text))
    .on(ROOM_EVENT.PUBLISHED, (p, s) => { window.__published.push({ who: p.name(), ...s }); log('PUBLISHED ' + p.name() + ' ' + s.display); })
    .on(ROOM_EVENT.UPDATED, (p, s) => log('UPDATED ' + p.name() + ' audioMuted=' + s.audioMuted))
    .on(ROOM_EVENT.UNPUBLISHED, (p, s, reason) => log('UNPUBLISHED ' + p.name() + ' ' + reason));
  return true;
})();
"""

PLAY = """
const [publisher, id] = arguments;
const participant = window.__room.getParticipants().find((p) => p.name() === publisher);
const box = document.createElement('div');
box.id = 'play-box';
document.body.appendChild(box);
window.__play = participant.play(box, { stream: id, muted: true });
for (const s of Object.values(window.__S)) window.__play.on(s, (st, info) => window.__log.push('play ' + s + (info ? ' ' + (info.message || info.code) : '')));
return true;
"""

PUBLISH = """
const box = document.createElement('div');
document.body.appendChild(box);
window.__pub = window.__room.publish({ display: box, constraints: { audio: true, video: true } });
for (const s of Object.values(window.__S)) window.__pub.on(s, (st, info) => window.__log.push('publish ' + s + (info ? ' ' + (info.message || info.code) : '')));
return true;
"""

# Decoded frames of the play, and the mean colour of the lower two thirds of its current picture.
PLAY_STATS = """
return (async () => {
  const out = { framesDecoded: 0, audioPackets: 0, width: 0, color: null };
  const pc = window.__play.getPeerConnection();
  if (!pc) return out;
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') { out.framesDecoded += r.framesDecoded || 0; out.width = r.frameWidth || 0; }
    if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audioPackets += r.packetsReceived || 0;
  });
  const v = document.querySelector('#play-box video');
  if (v && v.videoWidth) {
    const c = document.createElement('canvas');
    c.width = v.videoWidth; c.height = v.videoHeight;
    const g = c.getContext('2d');
    g.drawImage(v, 0, 0);
    const d = g.getImageData(0, Math.floor(c.height / 3), c.width, c.height - Math.floor(c.height / 3)).data;
    let r = 0, gr = 0, b = 0, n = 0;
    for (let i = 0; i < d.length; i += 40) { r += d[i]; gr += d[i + 1]; b += d[i + 2]; n++; }
    out.color = [Math.round(r / n), Math.round(gr / n), Math.round(b / n)];
  }
  return out;
})();
"""


def start_browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from conftest import CHROMIUM_FLAGS

    tmp = tempfile.mkdtemp(prefix="parley-wcs-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    service = Service(executable_path="/usr/bin/chromedriver", env={**os.environ, "TMPDIR": tmp})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_script_timeout(30)
    return driver, tmp


async def browser_wait(driver, condition, timeout, what):
    deadline = now() + timeout
    last = None
    while now() < deadline:
        last = await asyncio.to_thread(condition)
        if last:
            return last
        await asyncio.sleep(0.1)
    log = await asyncio.to_thread(driver.execute_script, "return window.__log || []")
    raise ScenarioError(f"browser: timed out after {timeout}s waiting for {what} (last {last!r}); log: {log[-12:]}")


def log_has(driver, prefix):
    return lambda: any(e.startswith(prefix) for e in driver.execute_script("return window.__log || []"))


# MARK: the scenario

async def scenario_both_ways(result, driver):
    room = "wcs-media"
    alice = WCSParticipant("wcsalice")
    js = lambda script, *args: asyncio.to_thread(driver.execute_script, script, *args)  # noqa: E731
    try:
        result["established"] = await alice.connect()
        result["state_alice"] = await alice.join(room)

        await asyncio.to_thread(driver.get, PAGE_URL)
        await js(SETUP, PARLEY_URL, "bob", room)
        await browser_wait(driver, log_has(driver, "STATE"), 15, "bob in the room")
        joined = await alice.room_event("JOINED")
        result["alice_heard_joined"] = joined["info"]

        # WCS → Parley: alice publishes (aiortc), bob plays it with Parley's SDK and decodes it.
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        alice.pcs.append(pc)
        video = pc.addTransceiver(PatternVideo(320, 240, fps=30, color=PALETTE[GREEN]), direction="sendonly")
        prefer(video, "video", "VP8")
        pc.addTransceiver(ToneAudio(48000), direction="sendonly")
        name = f"{room}-{alice.login}-1a2b"
        published_at = now()
        pub_id, pub_answer = await alice.negotiate("publishStream", pc, name, room)
        result["publish_answer"] = {"codecs": chosen_codecs(pub_answer), "ice_lite": "a=ice-lite" in pub_answer,
                                    "candidates": pub_answer.count("a=candidate:")}
        publishing = await alice.status(pub_id, ("PUBLISHING", "FAILED"), 15)
        result["publish_status"] = {"status": publishing["status"], "name": publishing.get("name"),
                                    "after": round(now() - published_at, 3)}
        if publishing["status"] != "PUBLISHING":
            raise ScenarioError(f"alice's publish failed: {publishing}")

        await browser_wait(driver, log_has(driver, "PUBLISHED wcsalice"), 10, "bob told of alice's stream")
        announced = (await js("return window.__published"))[0]
        result["parley_saw"] = {k: announced.get(k) for k in ("who", "name", "display", "audio", "video")}
        await js(PLAY, "wcsalice", announced["id"])
        await browser_wait(driver, log_has(driver, "play PLAYING"), 20, "bob playing alice's stream")
        stats = await browser_wait(driver, lambda: (lambda s: s if s["framesDecoded"] >= 30 and s["color"] else None)(
            driver.execute_script(PLAY_STATS)), 20, "bob decoding 30 frames of alice's video")
        result["parley_play"] = stats

        # Parley → WCS: bob publishes his camera with Parley's SDK; alice hears PUBLISHED and plays it by name.
        await js(PUBLISH)
        await browser_wait(driver, log_has(driver, "publish PUBLISHING"), 20, "bob publishing")
        published = await alice.room_event("PUBLISHED", 10, lambda info: info["login"] == "bob")
        result["wcs_saw"] = published["info"]
        receiver = Receiver()
        play_pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        alice.pcs.append(play_pc)
        receiver.attach(play_pc)
        play_pc.addTransceiver("video", direction="recvonly")
        play_pc.addTransceiver("audio", direction="recvonly")
        play_id, play_answer = await alice.negotiate("playStream", play_pc, published["info"]["name"], room)
        playing = await alice.status(play_id, ("PLAYING", "FAILED"), 15)
        result["wcs_play_status"] = {"status": playing["status"], "codecs": chosen_codecs(play_answer)}
        if playing["status"] != "PLAYING":
            raise ScenarioError(f"alice's play failed: {playing}")
        await receiver.wait(video=30, audio=30, timeout=20)
        result["wcs_play"] = {"frames": dict(receiver.frames), "sizes": sorted(receiver.sizes)}

        # Chat both ways.
        sent = await alice.command("sendMessage", {"roomConfig": {"name": room}, "to": "bob", "text": "hello from wcs"})
        result["chat_status"] = sent["status"]
        await browser_wait(driver, log_has(driver, "MESSAGE wcsalice: hello from wcs"), 10, "bob reading alice's chat")
        await js("window.__room.sendMessage('hello from parley'); return true")
        message = await alice.room_event("MESSAGE")
        result["wcs_message"] = message["info"]

        # Mute reaches the Parley side as UPDATED.
        await alice.send("sendStreamEvent", {"mediaSessionId": pub_id, "type": "audioMuted"})
        await browser_wait(driver, log_has(driver, "UPDATED wcsalice audioMuted=true"), 10, "bob seeing alice muted")

        # alice leaves: her streams end (UNPUBLISHED, STOPPED), bob hears UNPUBLISHED then LEFT and his play stops.
        left_at = now()
        leave = await alice.command("leave", {"name": room})
        result["leave_status"] = leave["status"]
        ended = {pub_id: (await alice.status(pub_id, ("UNPUBLISHED", "FAILED")))["status"],
                 play_id: (await alice.status(play_id, ("STOPPED", "FAILED")))["status"]}
        result["alice_streams_after_leave"] = sorted(ended.values())
        await browser_wait(driver, log_has(driver, "LEFT wcsalice"), 10, "bob told alice left")
        await browser_wait(driver, log_has(driver, "play STOPPED"), 10, "bob's play stopped")
        log = await js("return window.__log")
        result["browser_log"] = log
        result["left_after"] = round(now() - left_at, 3)
        h = await aiortc_room.wait_health(lambda h: h["media"]["peerConnections"] == 1, 10, "only bob's publish left")
        result["peer_connections_after_leave"] = h["media"]["peerConnections"]
        result["pings_answered"] = alice.pings
    finally:
        await alice.close()


def open_browser():
    driver, tmp = start_browser()

    def release():
        try:
            driver.quit()
        except Exception:
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    return (driver,), release


def main():
    aiortc_room.run_main({"both-ways": scenario_both_ways}, default_timeout=120, open_extra=open_browser)


if __name__ == "__main__":
    main()
