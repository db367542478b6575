"""WHIP publishers and WHEP players with real WebRTC stacks, beside participants of the Parley protocol.

- whip-aiortc: an aiortc WHIP client publishes VP8 + Opus into a room as `encoder`; a viewer in the room (Parley
  protocol) hears `joined` and `published`, plays it and decodes video and audio; DELETE makes it `unpublished`
  and `left`.
- whip-gst CODEC: Debian's GStreamer webrtcbin (e2e/gst_whip.py, its own offer flavour) does the same with VP8 or
  H.264 + Opus.
- whep-aiortc: `cam` publishes over the Parley protocol; an aiortc WHEP client plays it by name and decodes it;
  before `cam` publishes the answer is 409 with Retry-After; DELETE → 200, then 404.
- whip-vanish: a WHIP client stops sending without DELETE: ICE consent ends its participant within 30 s.

Runs as aiortc_room.py does (aiortc_room.run_main): inside `unshare -n`, with its own server, prints `RESULT {json}`.
"""
import asyncio
import json
import os
import urllib.error
import urllib.parse
import urllib.request

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

import aiortc_room
from aiortc_room import (ADDRESS, HTTP_PORT, Participant, PatternVideo, Playback, Publication, ScenarioError, ToneAudio,
                         now, prefer)

ROOM = "whip-room"
BASE = f"http://{ADDRESS}:{HTTP_PORT}"


async def http(method, url, body=None, headers=None):
    """One HTTP request off the event loop: (status, headers, body text)."""
    def go():
        data = body.encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()
    return await asyncio.get_running_loop().run_in_executor(None, go)


class WHIPClient:
    """aiortc as a WHIP (publish) or WHEP (play) client: one offer, POSTed whole (no trickle), then DELETE."""

    def __init__(self, endpoint, publish=True, token="e2e-token"):
        self.endpoint, self.publish, self.token = endpoint, publish, token
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.session = None
        self.frames = {"video": 0, "audio": 0}
        self.sizes = set()
        self._tasks = []

    async def start(self):
        if self.publish:
            prefer(self.pc.addTransceiver(PatternVideo(320, 240, fps=30, texture=True), direction="sendonly"), "video", "VP8")
            self.pc.addTransceiver(ToneAudio(48000), direction="sendonly")
        else:
            self.pc.addTransceiver("video", direction="recvonly")
            self.pc.addTransceiver("audio", direction="recvonly")

            @self.pc.on("track")
            def on_track(track):
                self._tasks.append(asyncio.ensure_future(self._drain(track)))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        status, headers, body = await http("POST", self.endpoint, self.pc.localDescription.sdp,
                                           {"Content-Type": "application/sdp", "Authorization": f"Bearer {self.token}"})
        if status != 201:
            return status, headers, body
        self.session = urllib.parse.urljoin(self.endpoint, headers["Location"])
        await self.pc.setRemoteDescription(RTCSessionDescription(body, "answer"))
        return status, headers, body

    async def _drain(self, track):
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            self.frames[track.kind] += 1
            if track.kind == "video":
                self.sizes.add((frame.width, frame.height))

    async def wait_frames(self, video, audio, timeout=15):
        deadline = now() + timeout
        while now() < deadline and (self.frames["video"] < video or self.frames["audio"] < audio):
            await asyncio.sleep(0.1)
        if self.frames["video"] < video or self.frames["audio"] < audio:
            raise ScenarioError(f"WHEP client decoded only {self.frames} in {timeout}s")

    async def delete(self):
        status, _, _ = await http("DELETE", self.session, headers={"Authorization": f"Bearer {self.token}"})
        return status

    async def close(self):
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


async def start_gst(name, codec, seconds):
    """e2e/gst_whip.py (system Python, GStreamer webrtcbin) publishing into ROOM as `name`."""
    return await asyncio.create_subprocess_exec(
        "/usr/bin/python3", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gst_whip.py"),
        f"{BASE}/whip/{ROOM}/{name}", "--codec", codec, "--seconds", str(seconds),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def gst_report(gst, timeout=40):
    """What gst_whip.py says once it has ended: its statuses, or the end of its stderr."""
    out, err = await asyncio.wait_for(gst.communicate(), timeout)
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    report = json.loads(lines[-1]) if lines else {"stderr": err.decode()[-1500:]}
    return {k: report.get(k) for k in ("post", "delete", "exit", "error", "stderr")}


async def watch(viewer, name, result, video=30, audio=20):
    """The viewer (already in ROOM) hears `name` join and publish, plays the stream and decodes it."""
    joined = await viewer.wait_event(lambda e: e.get("event") == "joined" and e["participant"]["name"] == name, 15, f"{name} joined")
    published = await viewer.wait_published(ROOM, name, timeout=15)
    result["published"] = {k: published.get(k) for k in ("display", "audio", "video")}
    playback = Playback(viewer, ROOM, published["id"])
    await playback.start()
    await playback.wait_frames(video=video, audio=audio, timeout=20)
    result["decoded"] = dict(playback.frames)
    result["sizes"] = sorted(playback.sizes)
    result["joined_at"] = joined["_t"]
    return playback


async def wait_left(viewer, name, result, timeout):
    started = now()
    unpublished = await viewer.wait_event(lambda e: e.get("event") == "unpublished" and e["participant"]["name"] == name,
                                          timeout, f"{name} unpublished")
    left = await viewer.wait_event(lambda e: e.get("event") == "left" and e["participant"]["name"] == name, timeout, f"{name} left")
    result["unpublished_reason"], result["left_reason"] = unpublished.get("reason"), left.get("reason")
    result["left_after"] = round(now() - started, 1)


async def scenario_whip_aiortc(result):
    viewer = Participant("viewer")
    client = WHIPClient(f"{BASE}/whip/{ROOM}/encoder")
    try:
        await viewer.connect()
        await viewer.join(ROOM)
        status, headers, _ = await client.start()
        result["post"] = {"status": status, "location": headers.get("Location"), "etag": "ETag" in headers}
        if status != 201:
            raise ScenarioError(f"WHIP POST {status}")
        playback = await watch(viewer, "encoder", result)
        result["delete"] = await client.delete()
        await wait_left(viewer, "encoder", result, 10)
        result["delete_again"] = await client.delete()
        await playback.close()
        health = await aiortc_room.health()
        result["health_after"] = {k: health.get(k) for k in ("participants", "streams", "whipSessions")}
    finally:
        await client.close()
        await viewer.close()


async def scenario_whip_gst(result, codec="VP8"):
    viewer = Participant("viewer")
    gst = None
    try:
        await viewer.connect()
        await viewer.join(ROOM)
        gst = await start_gst("gst", codec, 8)
        playback = await watch(viewer, "gst", result)
        result["codec"] = aiortc_room.chosen_codecs(playback.answer)["video"]
        result["gst"] = await gst_report(gst)
        await wait_left(viewer, "gst", result, 10)
        await playback.close()
    finally:
        if gst and gst.returncode is None:
            gst.kill()
        await viewer.close()


async def scenario_whep_aiortc(result):
    cam = Participant("cam")
    before = WHIPClient(f"{BASE}/whep/{ROOM}/cam", publish=False)
    player = WHIPClient(f"{BASE}/whep/{ROOM}/cam", publish=False)
    try:
        await cam.connect()
        await cam.join(ROOM)
        status, headers, _ = await before.start()
        result["before_publish"] = {"status": status, "retry_after": headers.get("Retry-After")}
        await cam.publish(ROOM, size=(320, 240), texture=True)
        status, headers, _ = await player.start()
        result["post"] = {"status": status, "location": headers.get("Location")}
        if status != 201:
            raise ScenarioError(f"WHEP POST {status}")
        await player.wait_frames(video=30, audio=20)
        result["decoded"] = dict(player.frames)
        result["sizes"] = sorted(player.sizes)
        result["delete"] = await player.delete()
        result["delete_again"] = await player.delete()
        health = await aiortc_room.health()
        result["health_after"] = {k: health.get(k) for k in ("participants", "streams", "whipSessions")}
    finally:
        await before.close()
        await player.close()
        await cam.close()


async def scenario_whip_vanish(result):
    viewer = Participant("viewer")
    client = WHIPClient(f"{BASE}/whip/{ROOM}/vanishing")
    try:
        await viewer.connect()
        await viewer.join(ROOM)
        status, _, _ = await client.start()
        if status != 201:
            raise ScenarioError(f"WHIP POST {status}")
        await viewer.wait_published(ROOM, "vanishing", timeout=15)
        # Gone without a word: every datagram it would send is dropped from here on.
        Publication.silence(client)
        await wait_left(viewer, "vanishing", result, 40)
    finally:
        await viewer.close()


# What a Conference app page shows of `participant`'s camera: tile status, video size, frames rendered.
TILE = """
const f = [...document.querySelectorAll('#remoteVideos figure')].find((f) => f.dataset.participant === arguments[0]);
const v = f && f.querySelector('video');
return f ? [f.querySelector('.status').textContent, v.videoWidth, v.getVideoPlaybackQuality().totalVideoFrames] : null;
"""
PLAYER = """
const v = document.querySelector('#video');
return [document.querySelector('#status').textContent, v.videoWidth, v.getVideoPlaybackQuality().totalVideoFrames];
"""


async def scenario_browser(result, driver):
    """GStreamer publishes H.264 over WHIP; Chromium's Conference app (room ROOM) shows it; then the same
    Chromium opens the WHEP player page on it. Stopped, the encoder DELETEs and leaves the room."""
    from wcs_media import PAGE_URL, browser_wait
    js = lambda script, *args: asyncio.to_thread(driver.execute_script, script, *args)  # noqa: E731
    await asyncio.to_thread(driver.get, PAGE_URL + f"apps/conference/?roomName={ROOM}")
    await browser_wait(driver, lambda: driver.execute_script("return !!document.querySelector('#joinBtn') && window.app !== undefined"),
                       15, "the Conference app")
    await js("document.querySelector('#login').value = 'alice'; document.querySelector('#joinBtn').click();")
    await browser_wait(driver, lambda: driver.execute_script("return document.querySelector('#status').textContent.trim()") == "ESTABLISHED",
                       15, "alice in the room")
    gst = await start_gst("gst", "H264", 60)
    try:
        tile = await browser_wait(driver, lambda: (lambda t: t if t and t[0] == "PLAYING" and t[1] > 0 else None)(
            driver.execute_script(TILE, "gst")), 20, "gst playing in the Conference app")
        await browser_wait(driver, lambda: driver.execute_script(TILE, "gst")[2] > tile[2] + 10, 10, "gst's frames increasing")
        result["conference"] = await js(TILE, "gst")

        # An aiortc WHIP client shows in the app too, and an aiortc WHEP client plays alice's (Chromium's) camera.
        encoder = WHIPClient(f"{BASE}/whip/{ROOM}/encoder")
        player = WHIPClient(f"{BASE}/whep/{ROOM}/alice", publish=False)
        try:
            result["aiortc_whip"] = (await encoder.start())[0]
            tile = await browser_wait(driver, lambda: (lambda t: t if t and t[0] == "PLAYING" and t[1] > 0 else None)(
                driver.execute_script(TILE, "encoder")), 20, "the aiortc encoder playing in the Conference app")
            await browser_wait(driver, lambda: driver.execute_script(TILE, "encoder")[2] > tile[2] + 10, 10, "encoder frames increasing")
            result["conference_aiortc"] = await js(TILE, "encoder")
            result["aiortc_whep"] = (await player.start())[0]
            await player.wait_frames(video=30, audio=20, timeout=20)
            result["whep_decoded"], result["whep_sizes"] = dict(player.frames), sorted(player.sizes)
            result["aiortc_deletes"] = [await encoder.delete(), await player.delete()]
        finally:
            await encoder.close()
            await player.close()

        await asyncio.to_thread(driver.get, PAGE_URL + f"apps/whep-player/?room={ROOM}&name=gst")
        shown = await browser_wait(driver, lambda: (lambda p: p if p[0] == "PLAYING" and p[1] > 0 else None)(
            driver.execute_script(PLAYER)), 20, "the WHEP player playing")
        await browser_wait(driver, lambda: driver.execute_script(PLAYER)[2] > shown[2] + 10, 10, "WHEP frames increasing")
        result["player"] = await js(PLAYER)
        result["sessions_while_playing"] = (await aiortc_room.health())["whipSessions"]
        await asyncio.to_thread(driver.get, "about:blank")  # the page's pagehide DELETEs its session
        deadline = now() + 10
        while now() < deadline and (await aiortc_room.health())["whipSessions"] != 1:
            await asyncio.sleep(0.2)
        result["sessions_after_player"] = (await aiortc_room.health())["whipSessions"]
    finally:
        if gst.returncode is None:
            gst.terminate()  # gst_whip.py DELETEs its session on SIGTERM
        result["gst"] = await gst_report(gst, 20)
    deadline = now() + 10
    while now() < deadline and (await aiortc_room.health())["participants"] != 0:
        await asyncio.sleep(0.2)
    result["participants_at_end"] = (await aiortc_room.health())["participants"]


if __name__ == "__main__":
    import sys
    if "browser" in sys.argv:
        from wcs_media import open_browser
        aiortc_room.run_main({"browser": scenario_browser}, default_timeout=90, open_extra=open_browser)
    else:
        aiortc_room.run_main({"whip-aiortc": scenario_whip_aiortc, "whip-gst": scenario_whip_gst,
                              "whep-aiortc": scenario_whep_aiortc, "whip-vanish": scenario_whip_vanish}, default_timeout=90)
