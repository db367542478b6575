"""aiortc participants (an independent WebRTC stack) publish and play through Parley's SFU.

The library part: `Participant` (one WebSocket speaking Parley's protocol, with its peer connections),
`Publication` (an aiortc sender of synthetic audio and video) and `Playback` (an aiortc receiver that decodes
what Parley forwards and records when and what it decoded).

The script part runs one scenario and prints one line `RESULT {json}`. It must run inside a private network
namespace (`unshare -n`): it brings up loopback and a veth with 10.77.0.1 (nothing attached, nothing leaves the
machine), starts the Parley server there announcing 10.77.0.1 (aiortc never uses 127.0.0.1), runs the scenario
under a time limit, and stops the server by its process id.

Usage: unshare -n python aiortc_room.py --binary PARLEY --log LOG [--timeout S] SCENARIO [ARGS...]
Scenarios: fanout VIDEO AUDIO | nack rtx|plain | socket-close close|abort | udp-silent | isolation
"""
import argparse
import asyncio
import ctypes
import fractions
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request

import numpy
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCSessionDescription
from aiortc.rtp import RTCP_PSFB_PLI, RTCP_RTPFB_NACK, RtcpPsfbPacket, RtcpRtpfbPacket
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame
import websockets

ADDRESS = "10.77.0.1"
HTTP_PORT = 18080
MEDIA_PORT = 40000
WS_URL = f"ws://{ADDRESS}:{HTTP_PORT}/ws"
HEALTH_URL = f"http://{ADDRESS}:{HTTP_PORT}/health"

# Colours a publisher paints its video with, so a player can tell whose video it decoded. Far apart in RGB, and
# still far apart after a trip through YUV 4:2:0 and a lossy codec.
PALETTE = [(220, 40, 40), (40, 200, 40), (40, 40, 220), (220, 220, 40), (220, 40, 220), (40, 220, 220),
           (235, 235, 235), (25, 25, 25), (128, 128, 128)]


class ScenarioError(Exception):
    """A scenario could not go on: a wait timed out, a request was refused, a peer died."""


def now():
    return time.monotonic()


# MARK: synthetic media

class PatternVideo(MediaStreamTrack):
    """A frame of one colour (the publisher's identity) with a moving white bar on top, at a steady rate. With
    `texture`, the top third is a fixed noise, so that each keyframe takes many packets (delta frames stay small)."""
    kind = "video"

    def __init__(self, width=320, height=240, fps=30, color=PALETTE[1], texture=False):
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.base = numpy.empty((height, width, 3), numpy.uint8)
        self.base[:] = color
        if texture:
            noise = numpy.random.default_rng(7).integers(0, 256, (height // 3, width, 3), dtype=numpy.uint8)
            self.base[: height // 3] = noise
        self.count = 0
        self.start = None

    async def recv(self):
        if self.start is None:
            self.start = time.time()
        self.count += 1
        await asyncio.sleep(max(0, self.start + self.count / self.fps - time.time()))
        image = self.base.copy()
        bar = (self.count * 4) % self.width
        image[: self.height // 6, bar: bar + self.width // 8] = 255
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = self.count * (90000 // self.fps), fractions.Fraction(1, 90000)
        return frame


class ToneAudio(MediaStreamTrack):
    """A 440 Hz tone in 20 ms frames of signed 16-bit mono."""
    kind = "audio"

    def __init__(self, rate=48000):
        super().__init__()
        self.rate, self.count, self.start = rate, 0, None

    async def recv(self):
        if self.start is None:
            self.start = time.time()
        samples = self.rate // 50
        self.count += 1
        await asyncio.sleep(max(0, self.start + self.count / 50 - time.time()))
        t = (numpy.arange(samples) + self.count * samples) / self.rate
        data = (numpy.sin(2 * numpy.pi * 440 * t) * 8000).astype(numpy.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(data, format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = self.rate, self.count * samples, fractions.Fraction(1, self.rate)
        return frame


def prefer(transceiver, kind, name):
    """Offers only `name` (e.g. VP8, H264, opus, PCMU; or several, "VP8,H264", in that order) for this transceiver."""
    wanted = [f"{kind}/{n}".lower() for n in name.split(",")]
    codecs = sorted((c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() in wanted),
                    key=lambda c: wanted.index(c.mimeType.lower()))
    assert codecs, f"aiortc has no {kind}/{name}"
    transceiver.setCodecPreferences(codecs)


def identify(frame):
    """The palette index nearest to the colour of the frame's lower part (below the moving bar)."""
    image = frame.to_ndarray(format="rgb24")
    mean = image[image.shape[0] // 3:].reshape(-1, 3).mean(axis=0)
    distances = [sum((mean[i] - c[i]) ** 2 for i in range(3)) for c in PALETTE]
    return distances.index(min(distances))


# MARK: SDP

def sections(sdp):
    """Per m= section: kind, port, direction and codecs as {"pt", "name", "fmtp"} in the m-line's order."""
    result = []
    for block in re.split(r"\r?\n(?=m=)", sdp)[1:]:
        lines = block.splitlines()
        kind, port, _, *pts = lines[0][2:].split()
        rtpmap = dict(re.findall(r"^a=rtpmap:(\d+) (\S+)", block, re.M))
        fmtp = dict(re.findall(r"^a=fmtp:(\d+) (\S+)", block, re.M))
        direction = next((d for d in ("sendrecv", "sendonly", "recvonly", "inactive") if f"a={d}" in lines), None)
        ssrc_groups = re.findall(r"^a=ssrc-group:FID (\d+) (\d+)", block, re.M)
        result.append({"kind": kind, "port": int(port), "direction": direction, "ssrc_groups": ssrc_groups,
                       "codecs": [{"pt": int(pt), "name": rtpmap.get(pt, "?"), "fmtp": fmtp.get(pt, "")} for pt in pts]})
    return result


def chosen_codecs(sdp):
    """{kind: the first codec of each accepted section, e.g. "VP8/90000"} of an answer."""
    return {s["kind"]: s["codecs"][0]["name"] for s in sections(sdp) if s["port"] != 0 and s["codecs"]}


# MARK: signaling

class Participant:
    """One Parley WebSocket and the aiortc peer connections it started."""

    def __init__(self, name, url=WS_URL):
        self.name, self.url = name, url
        self.ws = None
        self.events = []  # every event, in arrival order, with "_t" (monotonic arrival time) added
        self.closed = False
        self.publications, self.playbacks = [], []
        self._next_id = 0
        self._pending = {}
        self._changed = asyncio.Condition()
        self._reader = None

    async def connect(self):
        self.ws = await asyncio.wait_for(websockets.connect(self.url, open_timeout=10), 10)
        self._reader = asyncio.ensure_future(self._read())
        return await self.request("connect", username=self.name)

    async def _read(self):
        try:
            async for text in self.ws:
                frame = json.loads(text)
                if "event" in frame:
                    frame["_t"] = now()
                    self.events.append(frame)
                    async with self._changed:
                        self._changed.notify_all()
                else:
                    future = self._pending.pop(frame.get("id"), None)
                    if future and not future.done():
                        future.set_result(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed = True
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ScenarioError(f"{self.name}: socket closed before the reply"))
            async with self._changed:
                self._changed.notify_all()

    async def request(self, type, timeout=10, **fields):
        """Sends a request and returns its result; a refusal raises ScenarioError naming the error code."""
        reply = await self.try_request(type, timeout, **fields)
        if not reply.get("ok"):
            raise ScenarioError(f"{self.name}: {type} refused: {reply.get('error')}")
        return reply["result"]

    async def try_request(self, type, timeout=10, **fields):
        """Sends a request and returns the whole reply, ok or not."""
        self._next_id += 1
        request_id = self._next_id
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self.ws.send(json.dumps({"id": request_id, "type": type, **fields}))
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise ScenarioError(f"{self.name}: no reply to {type} within {timeout}s") from None

    async def wait_event(self, predicate, timeout, what):
        """The first event (received so far or later) that satisfies `predicate`, within `timeout` seconds."""
        async def find():
            async with self._changed:
                while True:
                    for event in self.events:
                        if predicate(event):
                            return event
                    if self.closed:
                        raise ScenarioError(f"{self.name}: socket closed while waiting for {what}")
                    await self._changed.wait()
        try:
            return await asyncio.wait_for(find(), timeout)
        except asyncio.TimeoutError:
            seen = [{k: v for k, v in e.items() if k != "_t"} for e in self.events][-8:]
            raise ScenarioError(f"{self.name}: timed out after {timeout}s waiting for {what}; last events: {seen}") from None

    async def wait_stream_status(self, stream, status, timeout=10):
        return await self.wait_event(lambda e: e.get("event") == "stream" and e.get("stream") == stream
                                     and e.get("status") in (status, "failed", "closed"),
                                     timeout, f"stream {stream} {status}")

    async def wait_published(self, room, publisher, timeout=10):
        event = await self.wait_event(lambda e: e.get("event") == "published" and e.get("room") == room
                                      and e["participant"]["name"] == publisher, timeout,
                                      f"published by {publisher} in {room}")
        return event["stream"]

    def events_of(self, kind):
        return [e for e in self.events if e.get("event") == kind]

    async def join(self, room, **fields):
        return (await self.request("join", room=room, **fields))["room"]

    async def publish(self, room, **options):
        publication = Publication(self, room, **options)
        self.publications.append(publication)
        await publication.start()
        return publication

    async def play(self, room, stream, **options):
        playback = Playback(self, room, stream, **options)
        self.playbacks.append(playback)
        await playback.start()
        return playback

    async def close_socket(self):
        if self.ws is not None:
            await asyncio.wait_for(self.ws.close(), 5)
        if self._reader is not None:
            await asyncio.wait_for(asyncio.shield(self._reader), 5)

    async def close(self):
        """Closes every peer connection and the socket; never raises (for clean-up)."""
        for peer in self.publications + self.playbacks:
            await peer.close()
        try:
            await self.close_socket()
        except Exception:
            pass


class Publication:
    """An aiortc peer connection sending synthetic audio and/or video into a room."""

    def __init__(self, participant, room, video="VP8", audio="opus", size=(320, 240), fps=30, color=PALETTE[1],
                 display="camera", texture=False, record=False):
        self.participant, self.room, self.texture, self.record = participant, room, texture, record
        self.video_codec, self.audio_codec = video, audio
        self.size, self.fps, self.color, self.display = size, fps, color, display
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.stream = self.answer = None
        self.connected_at = None

    async def start(self, timeout=10):
        if self.video_codec:
            video = self.pc.addTransceiver(PatternVideo(*self.size, fps=self.fps, color=self.color, texture=self.texture), direction="sendonly")
            prefer(video, "video", self.video_codec)
            self.video_sender = video.sender
        if self.audio_codec:
            audio = self.pc.addTransceiver(ToneAudio(8000 if self.audio_codec == "PCMU" else 48000), direction="sendonly")
            prefer(audio, "audio", self.audio_codec)
        await asyncio.wait_for(self.pc.setLocalDescription(await self.pc.createOffer()), timeout)
        result = await self.participant.request("publish", room=self.room, sdp=self.pc.localDescription.sdp,
                                                display=self.display, **({"record": True} if self.record else {}))
        self.stream, self.answer, self.accepted = result["stream"], result["sdp"], result
        await asyncio.wait_for(self.pc.setRemoteDescription(RTCSessionDescription(self.answer, "answer")), timeout)
        event = await self.participant.wait_stream_status(self.stream, "connected", timeout)
        if event["status"] != "connected":
            raise ScenarioError(f"{self.participant.name}: publish {self.stream} {event['status']}: {event.get('reason')}")
        self.connected_at = event["_t"]

    def fixed_keyframe_interval(self, seconds):
        """From now on the video encoder cannot be asked for a keyframe (as an RTMP encoder cannot): PLI and FIR
        are ignored, and a keyframe comes every `seconds` by itself. Returns the task to cancel."""
        sender = self.video_sender
        sender._send_keyframe = lambda: None  # shadows the method aiortc calls on PLI/FIR

        async def keyframes():
            while True:
                await asyncio.sleep(seconds)
                sender._RTCRtpSender__force_keyframe = True  # what the real _send_keyframe sets
        return asyncio.ensure_future(keyframes())

    def silence(self):
        """Drops everything this peer connection sends from now on, without telling anyone: no DTLS close, no
        RTCP BYE, no STUN. The sockets stay open, so it looks like a network that stopped carrying packets."""
        dropped = {"datagrams": 0}

        class Silent:
            def __init__(self, inner):
                self._inner = inner

            def sendto(self, data, addr=None):
                dropped["datagrams"] += 1

            def __getattr__(self, name):
                return getattr(self._inner, name)

        for transceiver in self.pc.getTransceivers():
            connection = transceiver.sender.transport.transport._connection
            for protocol in connection._protocols:
                if not isinstance(protocol.transport, Silent):
                    protocol.transport = Silent(protocol.transport)
        return dropped

    async def close(self):
        try:
            await asyncio.wait_for(self.pc.close(), 5)
        except Exception:
            pass


class Playback:
    """An aiortc peer connection receiving one published stream through Parley and decoding it."""

    def __init__(self, participant, room, source, video=True, audio=True, expect_color=None, identify_every=5):
        self.participant, self.room, self.source = participant, room, source
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.want_video, self.want_audio = video, audio
        self.expect_color, self.identify_every = expect_color, identify_every
        self.stream = self.answer = None
        self.requested_at = self.answer_applied_at = self.connected_at = None
        self.first_frame_at = {"video": None, "audio": None}
        self.frames = {"video": 0, "audio": 0}
        self.sizes = set()
        self.audio_formats = set()
        self.audio_peak = 0  # the loudest decoded sample, 0..32767: silence is not audio
        self.colors = {}  # palette index → frames identified as it
        self.ended = {}  # kind → why recv() stopped
        self.receivers = {}
        self._tasks = []
        self._progress = asyncio.Condition()

    async def start(self, timeout=10):
        if self.want_video:
            self.receivers["video"] = self.pc.addTransceiver("video", direction="recvonly").receiver
        if self.want_audio:
            self.receivers["audio"] = self.pc.addTransceiver("audio", direction="recvonly").receiver

        @self.pc.on("track")
        def on_track(track):
            self._tasks.append(asyncio.ensure_future(self._drain(track)))

        await asyncio.wait_for(self.pc.setLocalDescription(await self.pc.createOffer()), timeout)
        self.requested_at = now()
        result = await self.participant.request("play", room=self.room, stream=self.source,
                                                sdp=self.pc.localDescription.sdp)
        self.stream, self.answer = result["stream"], result["sdp"]
        self.answer_applied_at = now()
        await asyncio.wait_for(self.pc.setRemoteDescription(RTCSessionDescription(self.answer, "answer")), timeout)
        event = await self.participant.wait_stream_status(self.stream, "connected", timeout)
        if event["status"] != "connected":
            raise ScenarioError(f"{self.participant.name}: play {self.stream} {event['status']}: {event.get('reason')}")
        self.connected_at = event["_t"]

    async def _drain(self, track):
        kind = track.kind
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                self.ended[kind] = "ended"
                break
            except Exception as error:  # a decoder or transport failure: report it, do not hide it
                self.ended[kind] = repr(error)
                break
            if self.first_frame_at[kind] is None:
                self.first_frame_at[kind] = now()
            self.frames[kind] += 1
            if kind == "video":
                self.sizes.add((frame.width, frame.height))
                if self.frames[kind] % self.identify_every == 1:
                    color = identify(frame)
                    self.colors[color] = self.colors.get(color, 0) + 1
            else:
                self.audio_formats.add((frame.sample_rate, frame.layout.name, frame.format.name))
                if frame.format.name == "s16":
                    self.audio_peak = max(self.audio_peak, int(abs(frame.to_ndarray().astype("int32")).max()))
            async with self._progress:
                self._progress.notify_all()
        async with self._progress:
            self._progress.notify_all()

    async def wait_frames(self, video=0, audio=0, timeout=15):
        """Waits until at least this many video and audio frames have been decoded."""
        async def enough():
            async with self._progress:
                while self.frames["video"] < video or self.frames["audio"] < audio:
                    if ("video" in self.ended and self.frames["video"] < video) or \
                       ("audio" in self.ended and self.frames["audio"] < audio):
                        raise ScenarioError(f"{self.participant.name}: playback ended early: {self.ended}")
                    await self._progress.wait()
        try:
            await asyncio.wait_for(enough(), timeout)
        except asyncio.TimeoutError:
            raise ScenarioError(f"{self.participant.name}: after {timeout}s only {self.frames} decoded of {self.source} "
                                f"(wanted video {video}, audio {audio}; ended: {self.ended})") from None

    def summary(self):
        def since(t0, t1):
            return None if t0 is None or t1 is None else round(t1 - t0, 3)
        return {
            "stream": self.stream, "source": self.source, "frames": dict(self.frames),
            "sizes": sorted(self.sizes), "audio_formats": sorted(self.audio_formats),
            "audio_peak": self.audio_peak,
            "colors": {str(k): v for k, v in self.colors.items()}, "ended": self.ended,
            "codecs": chosen_codecs(self.answer) if self.answer else None,
            "first_video_after_request": since(self.requested_at, self.first_frame_at["video"]),
            "first_video_after_answer": since(self.answer_applied_at, self.first_frame_at["video"]),
            "first_video_after_connected": since(self.connected_at, self.first_frame_at["video"]),
            "connected_after_answer": since(self.answer_applied_at, self.connected_at),
        }

    async def close(self):
        try:
            await asyncio.wait_for(self.pc.close(), 5)
        except Exception:
            pass
        for task in self._tasks:
            task.cancel()


# MARK: health

async def health():
    def get():
        with urllib.request.urlopen(HEALTH_URL, timeout=2) as response:
            return json.load(response)
    return await asyncio.to_thread(get)


async def wait_health(predicate, timeout, what):
    """Polls /health until `predicate(health)` holds; returns that health."""
    deadline = now() + timeout
    last = None
    while now() < deadline:
        last = await health()
        if predicate(last):
            return last
        await asyncio.sleep(0.1)
    raise ScenarioError(f"timed out after {timeout}s waiting for /health: {what}; last: {last}")


async def wait_pc_closed(pc, timeout):
    """The peer connection's state once it is closed, or whatever it is after `timeout` seconds."""
    deadline = now() + timeout
    while pc.connectionState != "closed" and now() < deadline:
        await asyncio.sleep(0.05)
    return pc.connectionState


def idle(h):
    return h["media"]["peerConnections"] == 0 and h["rooms"] == 0 and h["participants"] == 0


async def close_all(participants):
    await asyncio.gather(*(p.close() for p in participants), return_exceptions=True)


async def end_clean(result, participants):
    """Everyone hangs up; the server must forget them all: no room, no participant, no peer connection."""
    await close_all(participants)
    h = await wait_health(idle, 10, "no rooms, participants or peer connections")
    result["health_at_end"] = {k: h[k] for k in ("sessions", "rooms", "participants")} | {
        "peerConnections": h["media"]["peerConnections"]}


# MARK: scenarios

async def scenario_fanout(result, video="VP8", audio="opus"):
    """alice publishes; bob and carol (in the room already) play and decode; dave joins later and must decode his
    first video frame within a second; then alice stops and everyone is told."""
    room = f"fanout-{video}-{audio}".lower()
    alice, bob, carol, dave = (Participant(n) for n in ("alice", "bob", "carol", "dave"))
    people = [alice, bob, carol, dave]
    try:
        for p in (alice, bob, carol):
            await p.connect()
            await p.join(room)
        publication = await alice.publish(room, video=video, audio=audio, color=PALETTE[1])
        result["publish"] = {"stream": publication.stream, "codecs": chosen_codecs(publication.answer),
                             "audio": publication.accepted["audio"], "video": publication.accepted["video"]}
        announced = {}
        for p in (bob, carol):
            announced[p.name] = await p.wait_published(room, "alice")
        result["published_events"] = announced
        playbacks = {}
        for p in (bob, carol):
            playbacks[p.name] = await p.play(room, announced[p.name]["id"])
        for playback in playbacks.values():
            await playback.wait_frames(video=30, audio=30, timeout=15)
        # Let the stream run on, so that the late joiner cannot be served by the first keyframe.
        await playbacks["bob"].wait_frames(video=75, timeout=15)

        # Mute: the others hear `updated`; nobody else may mute or stop alice's stream.
        def updated(muted):
            return lambda e: e.get("event") == "updated" and e["stream"]["id"] == publication.stream \
                and e["stream"]["audioMuted"] is muted
        await alice.request("mute", stream=publication.stream, audioMuted=True)
        result["muted_updates"] = {}
        for p in (bob, carol):
            event = await p.wait_event(updated(True), 5, "updated (audio muted)")
            result["muted_updates"][p.name] = {k: event[k] for k in ("room", "participant", "stream")}
        result["foreign_requests"] = {
            "mute": (await bob.try_request("mute", stream=publication.stream, videoMuted=True)).get("error", {}).get("code"),
            "stop": (await bob.try_request("stop", stream=publication.stream)).get("error", {}).get("code"),
        }

        await dave.connect()
        joined = await dave.join(room)
        result["late_join_participants"] = joined["participants"]
        streams = [s for who in joined["participants"] if who["name"] == "alice" for s in who["streams"]]
        if not streams:
            raise ScenarioError(f"dave's join reply lists no stream of alice: {joined}")
        late = await dave.play(room, streams[0]["id"])
        playbacks["dave"] = late
        await late.wait_frames(video=1, timeout=5)
        await late.wait_frames(video=30, audio=30, timeout=15)
        await alice.request("mute", stream=publication.stream, audioMuted=False)
        result["unmuted_updates"] = {}
        for p in (bob, carol, dave):
            event = await p.wait_event(updated(False), 5, "updated (audio unmuted)")
            result["unmuted_updates"][p.name] = {k: event[k] for k in ("room", "participant", "stream")}
        h = await health()
        result["health_during"] = {"rooms": h["rooms"], "participants": h["participants"],
                                   "peerConnections": h["media"]["peerConnections"]}

        # alice stops: the others get `unpublished`, each player's stream closes with reason `unpublished`.
        stopped_at = now()
        await alice.request("stop", stream=publication.stream)
        result["after_stop"] = {}
        for p in (bob, carol, dave):
            event = await p.wait_event(lambda e: e.get("event") == "unpublished", 5, "unpublished")
            closed = await p.wait_event(lambda e, s=playbacks[p.name].stream: e.get("event") == "stream"
                                        and e.get("stream") == s and e.get("status") in ("closed", "failed"),
                                        5, "its play closed")
            result["after_stop"][p.name] = {"unpublished": {k: event[k] for k in ("room", "participant", "stream", "reason")},
                                            "play": {"status": closed["status"], "reason": closed.get("reason")},
                                            "seconds": round(closed["_t"] - stopped_at, 3)}
        h = await wait_health(lambda h: h["media"]["peerConnections"] == 0, 5, "no peer connection after stop")
        result["peer_connections_after_stop"] = h["media"]["peerConnections"]
        # Parley ended each transport with a DTLS close_notify: aiortc closed its side by itself.
        result["pc_states_after_stop"] = {
            name: await wait_pc_closed(pc, 3) for name, pc in
            [("alice", publication.pc)] + [(name, pb.pc) for name, pb in playbacks.items()]}
        result["playbacks"] = {name: pb.summary() for name, pb in playbacks.items()}
        await end_clean(result, people)
    finally:
        result.setdefault("playbacks", {p.name: pb.summary() for p in people for pb in p.playbacks})
        await close_all(people)


async def scenario_nack(result, mode="rtx"):
    """bob's receiver drops three video packets on purpose, once each; aiortc NACKs them and Parley must send
    them again from its own buffer (as RTX when negotiated: mode `rtx`; with the original SSRC and sequence
    number when bob offers no RTX: mode `plain`) with the very same payload, without asking alice."""
    room = "nack"
    alice, bob = Participant("alice"), Participant("bob")
    try:
        for p in (alice, bob):
            await p.connect()
            await p.join(room)
        publication = await alice.publish(room, video="VP8", audio=None)
        sender = publication.pc.getTransceivers()[0].sender
        upstream = {"nack": [], "pli": 0}
        original_sender_rtcp = sender._handle_rtcp_packet

        async def sender_rtcp(packet):
            if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
                upstream["nack"].append(list(packet.lost))
            elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_PLI:
                upstream["pli"] += 1
            await original_sender_rtcp(packet)
        sender._handle_rtcp_packet = sender_rtcp

        source = await bob.wait_published(room, "alice")
        result["published_event"] = source
        playback = Playback(bob, room, source["id"], audio=False)
        bob.playbacks.append(playback)
        transceiver = playback.pc.addTransceiver("video", direction="recvonly")
        if mode == "plain":
            transceiver.setCodecPreferences(
                [c for c in RTCRtpReceiver.getCapabilities("video").codecs if c.mimeType == "video/VP8"])
        receiver = playback.receivers["video"] = transceiver.receiver

        # Losses are made where a network makes them: whole datagrams, before SRTP. (Dropping after decryption
        # would be wrong for plain retransmissions: SRTP's replay protection rightly refuses a second packet with
        # an SSRC and sequence number it has already seen.) The RTP header is in the clear, so it can be read here.
        drop = {"seen": 0, "start": 60, "every": 3, "count": 3}
        dropped = {}  # sequence number → header and datagram length of what was thrown away
        raw_lengths = {}  # (payload type, sequence number) → datagram length, for retransmissions
        retransmitted, nacks, plis, rtx_osns = [], [], [], []
        media_pts, rtx_pts = set(), set()
        ice = receiver.transport.transport
        original_recv = ice._recv
        original_handle = receiver._handle_rtp_packet
        original_nack = receiver._send_rtcp_nack
        original_pli = receiver._send_rtcp_pli
        nack_generator = receiver._RTCRtpReceiver__nack_generator

        async def recv():
            while True:
                data = await original_recv()
                if data and 127 < data[0] < 192 and len(data) >= 12 and not 192 <= data[1] <= 208:
                    pt, seq = data[1] & 0x7F, int.from_bytes(data[2:4], "big")
                    if pt in media_pts and seq in dropped or pt in rtx_pts:
                        raw_lengths[(pt, seq)] = len(data)
                    elif pt in media_pts:
                        index = drop["seen"] - drop["start"]
                        drop["seen"] += 1
                        if 0 <= index < drop["every"] * drop["count"] and index % drop["every"] == 0:
                            dropped[seq] = {"timestamp": int.from_bytes(data[4:8], "big"), "marker": data[1] >= 128,
                                            "length": len(data), "t": now()}
                            continue
                return data

        async def handle(packet, arrival_time_ms):
            back = None
            if packet.payload_type in media_pts and packet.sequence_number in dropped:
                back = {"seq": packet.sequence_number, "rtx": False,
                        "length": raw_lengths.get((packet.payload_type, packet.sequence_number))}
            elif packet.payload_type in rtx_pts and len(packet.payload) >= 2:
                osn = int.from_bytes(packet.payload[:2], "big")
                rtx_osns.append(osn)
                if osn in dropped:
                    back = {"seq": osn, "rtx": True,
                            "length": raw_lengths.get((packet.payload_type, packet.sequence_number))}
            await original_handle(packet, arrival_time_ms=arrival_time_ms)
            if back:
                lost = dropped[back["seq"]]
                back.update({
                    "after": round(now() - lost["t"], 3),
                    "same_timestamp": packet.timestamp == lost["timestamp"], "same_marker": packet.marker == lost["marker"],
                    # RTX adds the 2-byte original sequence number and nothing else.
                    "length_delta": None if back["length"] is None else back["length"] - lost["length"],
                    # aiortc's own receiver took it: the sequence number is no longer missing.
                    "recovered": back["seq"] not in nack_generator.missing})
                retransmitted.append(back)

        async def send_nack(media_ssrc, lost):
            nacks.append({"lost": list(lost), "t": now()})
            await original_nack(media_ssrc, lost)

        async def send_pli(media_ssrc):
            plis.append(now())
            await original_pli(media_ssrc)

        ice._recv = recv
        receiver._handle_rtp_packet = handle
        receiver._send_rtcp_nack = send_nack
        receiver._send_rtcp_pli = send_pli

        @playback.pc.on("track")
        def on_track(track):
            playback._tasks.append(asyncio.ensure_future(playback._drain(track)))

        await playback.pc.setLocalDescription(await playback.pc.createOffer())
        offer_video = [s for s in sections(playback.pc.localDescription.sdp) if s["kind"] == "video"][0]
        reply = await bob.request("play", room=room, stream=source["id"], sdp=playback.pc.localDescription.sdp)
        playback.stream, playback.answer = reply["stream"], reply["sdp"]
        video = [s for s in sections(playback.answer) if s["kind"] == "video"][0]
        for codec in video["codecs"]:
            (rtx_pts if codec["name"].lower().startswith("rtx/") else media_pts).add(codec["pt"])
        result["answer_video"] = video
        result["offer_has_rtx"] = any(c["name"].lower().startswith("rtx/") for c in offer_video["codecs"])
        result["answer_nack"] = bool(re.search(r"^a=rtcp-fb:\S+ nack\s*$", playback.answer, re.M))
        await playback.pc.setRemoteDescription(RTCSessionDescription(playback.answer, "answer"))
        event = await bob.wait_stream_status(playback.stream, "connected")
        if event["status"] != "connected":
            raise ScenarioError(f"play {event}")

        deadline = now() + 20
        while now() < deadline:
            if len(dropped) == drop["count"] and all(any(r["seq"] == s for r in retransmitted) for s in dropped):
                break
            await asyncio.sleep(0.05)
        # Wait a little longer for duplicates or late ones, and for decoding to go on after the losses.
        frames_at_drops = playback.frames["video"]
        await playback.wait_frames(video=frames_at_drops + 30, timeout=10)
        result.update({
            "dropped": sorted(dropped), "nacks": [n["lost"] for n in nacks],
            "nacked_dropped": sorted({s for n in nacks for s in n["lost"] if s in dropped}),
            "retransmitted": retransmitted, "rtx_osns_seen": len(rtx_osns),
            "still_missing": sorted(s for s in dropped if s in nack_generator.missing),
            "media_pts": sorted(media_pts), "rtx_pts": sorted(rtx_pts),
            "video_frames": playback.frames["video"], "publish_stream": publication.stream,
            "publisher_feedback": upstream, "mode": mode,
            "player_plis_after_drops": len([t for t in plis if dropped and t >= min(d["t"] for d in dropped.values())]),
        })
        result["playback"] = playback.summary()
        await end_clean(result, [alice, bob])
    finally:
        await close_all([alice, bob])


async def scenario_socket_close(result, mode="close"):
    """alice's WebSocket closes (mode `close`: a close handshake; `abort`: the TCP connection just drops) while
    her aiortc peer connection keeps sending: bob (playing) and carol (not playing) get `unpublished` then
    `left`, bob's play closes, and the server drops every peer connection."""
    room = "vanish"
    alice, bob, carol = Participant("alice"), Participant("bob"), Participant("carol")
    people = [alice, bob, carol]
    try:
        for p in people:
            await p.connect()
            await p.join(room)
        publication = await alice.publish(room, size=(160, 120), fps=15)
        source = await bob.wait_published(room, "alice")
        await carol.wait_published(room, "alice")
        playback = await bob.play(room, source["id"])
        await playback.wait_frames(video=10, audio=20, timeout=15)
        h = await health()
        result["peer_connections_before"] = h["media"]["peerConnections"]

        closed_at = now()
        if mode == "abort":
            alice.ws.transport.abort()
        else:
            await alice.close_socket()  # her peer connection stays open and keeps sending
        result["events"] = {}
        for p in (bob, carol):
            left = await p.wait_event(lambda e: e.get("event") == "left" and e["participant"]["name"] == "alice",
                                      10, "alice left")
            sequence = [e for e in p.events if e.get("event") in ("unpublished", "left")]
            result["events"][p.name] = {
                "sequence": [{k: v for k, v in e.items() if k != "_t"} for e in sequence],
                "left_after": round(left["_t"] - closed_at, 3)}
        closed = await bob.wait_event(lambda e: e.get("event") == "stream" and e.get("stream") == playback.stream
                                      and e.get("status") in ("closed", "failed"), 10, "bob's play closed")
        result["play_closed"] = {"status": closed["status"], "reason": closed.get("reason"),
                                 "after": round(closed["_t"] - closed_at, 3)}
        # bob and carol are still here; alice's publish and bob's play must both be gone.
        h = await wait_health(lambda h: h["media"]["peerConnections"] == 0, 10, "no peer connection after alice went")
        result["health_after"] = {"rooms": h["rooms"], "participants": h["participants"], "sessions": h["sessions"],
                                  "peerConnections": h["media"]["peerConnections"],
                                  "after": round(now() - closed_at, 3)}
        result["pc_states"] = {"alice": await wait_pc_closed(publication.pc, 3), "bob": await wait_pc_closed(playback.pc, 3)}
        await end_clean(result, people)
    finally:
        await close_all(people)


async def scenario_udp_silent(result):
    """alice's peer connection goes silent (every datagram dropped, no DTLS close, socket still open): after
    ICE consent expires (30 s) bob and carol get `unpublished`, alice gets `stream closed`, bob's play closes."""
    room = "silent"
    alice, bob, carol = Participant("alice"), Participant("bob"), Participant("carol")
    people = [alice, bob, carol]
    try:
        for p in people:
            await p.connect()
            await p.join(room)
        publication = await alice.publish(room, size=(160, 120), fps=15)
        source = await bob.wait_published(room, "alice")
        await carol.wait_published(room, "alice")
        playback = await bob.play(room, source["id"])
        await playback.wait_frames(video=10, audio=20, timeout=15)

        silent_at = now()
        dropped = publication.silence()
        result["events"] = {}
        for p in (bob, carol):
            event = await p.wait_event(lambda e: e.get("event") == "unpublished", 45, "unpublished")
            result["events"][p.name] = {"unpublished": {k: event[k] for k in ("room", "participant", "stream", "reason")},
                                        "after": round(event["_t"] - silent_at, 3)}
        own = await alice.wait_event(lambda e: e.get("event") == "stream" and e.get("stream") == publication.stream
                                     and e.get("status") in ("closed", "failed"), 10, "alice's publish closed")
        result["publisher_event"] = {"status": own["status"], "reason": own.get("reason"),
                                     "after": round(own["_t"] - silent_at, 3)}
        closed = await bob.wait_event(lambda e: e.get("event") == "stream" and e.get("stream") == playback.stream
                                      and e.get("status") in ("closed", "failed"), 10, "bob's play closed")
        result["play_closed"] = {"status": closed["status"], "reason": closed.get("reason"),
                                 "after": round(closed["_t"] - silent_at, 3)}
        h = await wait_health(lambda h: h["media"]["peerConnections"] == 0, 10, "no peer connection")
        result["health_after"] = {"rooms": h["rooms"], "participants": h["participants"],
                                  "peerConnections": h["media"]["peerConnections"]}
        result["left_events"] = len(bob.events_of("left"))
        result["datagrams_dropped"] = dropped["datagrams"]
        await end_clean(result, people)
    finally:
        await close_all(people)


async def scenario_isolation(result, rooms=3, size=(160, 120), fps=15):
    """Three rooms of three, all at once: everyone publishes and plays the other two of its room. Nobody may
    hear of, play, or decode a stream of another room."""
    names = [[f"r{r}p{i}" for i in range(3)] for r in range(rooms)]
    room_names = [f"iso-{r}" for r in range(rooms)]
    people = {name: Participant(name) for group in names for name in group}
    colors = {name: PALETTE[k] for k, name in enumerate(people)}
    try:
        async def enter(name, room):
            await people[name].connect()
            await people[name].join(room)
        await asyncio.gather(*(enter(n, room_names[r]) for r in range(rooms) for n in names[r]))
        publications = {}

        async def publish(name, room):
            publications[name] = await people[name].publish(room, size=size, fps=fps, color=colors[name])
        await asyncio.gather(*(publish(n, room_names[r]) for r in range(rooms) for n in names[r]))
        stream_room = {publications[n].stream: room_names[r] for r in range(rooms) for n in names[r]}
        owner = {publications[n].stream: n for n in publications}

        playbacks = {}

        async def play_room_mates(name, r):
            for other in names[r]:
                if other != name:
                    announced = await people[name].wait_published(room_names[r], other, timeout=15)
                    if announced["id"] != publications[other].stream:
                        raise ScenarioError(f"{name} was told {other} publishes {announced['id']}, "
                                            f"but {other} got {publications[other].stream}")
                    playbacks[(name, other)] = await people[name].play(
                        room_names[r], announced["id"], identify_every=3)
        await asyncio.gather(*(play_room_mates(n, r) for r in range(rooms) for n in names[r]))
        await asyncio.gather(*(pb.wait_frames(video=20, audio=40, timeout=30) for pb in playbacks.values()))
        h = await health()
        result["health_during"] = {"rooms": h["rooms"], "participants": h["participants"],
                                   "peerConnections": h["media"]["peerConnections"]}

        # Crossing rooms by request must fail too: a stream of room 1 played from room 0, or from room 1 by
        # someone not in it.
        intruder, foreign = names[0][0], publications[names[1][0]].stream
        offer_pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        try:
            offer_pc.addTransceiver("video", direction="recvonly")
            offer_pc.addTransceiver("audio", direction="recvonly")
            await offer_pc.setLocalDescription(await offer_pc.createOffer())
            refusals = {}
            for label, room in (("own_room", room_names[0]), ("other_room", room_names[1])):
                reply = await people[intruder].try_request("play", room=room, stream=foreign,
                                                           sdp=offer_pc.localDescription.sdp)
                refusals[label] = reply.get("error", {}).get("code") if not reply.get("ok") else "accepted"
        finally:
            await asyncio.wait_for(offer_pc.close(), 5)
        result["cross_room_play"] = refusals

        # What everyone heard: every room event, with whom and which stream it named.
        heard = {}
        for name, person in people.items():
            heard[name] = [{"event": e["event"], "room": e.get("room"),
                            "from": (e.get("participant") or {}).get("name", e.get("from")),
                            "stream": (e.get("stream") or {}).get("id") if isinstance(e.get("stream"), dict) else None}
                           for e in person.events if "room" in e]
        result["heard"] = heard
        result["rooms"] = {room_names[r]: names[r] for r in range(rooms)}
        result["stream_room"] = stream_room
        result["stream_owner"] = owner
        result["colors"] = {name: PALETTE.index(c) for name, c in colors.items()}
        result["playbacks"] = {f"{a}<-{b}": pb.summary() for (a, b), pb in playbacks.items()}
        await end_clean(result, list(people.values()))
    finally:
        await close_all(list(people.values()))


async def scenario_late_viewers(result, video="VP8", viewers="4"):
    """alice publishes video from an encoder that makes a keyframe every second and ignores keyframe requests (as
    an RTMP encoder does); bob watches it run; then viewers join one after another, and each must start from the
    keyframe cache: the time from its transport coming up to its first decoded frame is recorded. A cut cached
    keyframe (an H.264 one without its SPS/PPS) shows as a wait of up to 1 s for the encoder's next keyframe."""
    room = f"late-{video}".lower()
    alice, bob = Participant("alice"), Participant("bob")
    people = [alice, bob]
    gop = None
    try:
        for p in (alice, bob):
            await p.connect()
            await p.join(room)
        # Textured, so that each keyframe spans many packets (a flat one fits in a single STAP-A).
        publication = await alice.publish(room, video=video, audio=None, color=PALETTE[1], texture=True)
        result["codec"] = chosen_codecs(publication.answer)["video"]
        # Keyframe requests go unanswered, so a viewer starts on the cached keyframe or waits up to 1 s.
        gop = publication.fixed_keyframe_interval(1.0)
        announced = await bob.wait_published(room, "alice")
        watching = await bob.play(room, announced["id"], audio=False)
        await watching.wait_frames(video=60, timeout=15)
        result["viewers"] = []
        for i in range(int(viewers)):
            await asyncio.sleep(1.2)  # past the keyframe-request pacing, so the cache is what serves the viewer
            viewer = Participant(f"viewer{i}")
            people.append(viewer)
            await viewer.connect()
            await viewer.join(room)
            late = await viewer.play(room, announced["id"], audio=False)
            await late.wait_frames(video=1, timeout=5)
            summary = late.summary()
            result["viewers"].append({k: summary[k] for k in (
                "first_video_after_connected", "first_video_after_answer", "connected_after_answer", "colors")})
            await late.close()
        await end_clean(result, people)
    finally:
        if gop is not None:
            gop.cancel()
        await close_all(people)


async def download_recording(name, label, headers=None):
    """Polls /client/records/NAME until the finished file is there (10 s); saves it as e2e/output/recording-LABEL-NAME.
    Returns (status, bytes, content type, saved path)."""
    url = f"http://{ADDRESS}:{HTTP_PORT}/client/records/{name}"

    def fetch():
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as r:
                return r.status, r.read(), r.headers.get("Content-Type")
        except urllib.error.HTTPError as error:
            return error.code, b"", None
    deadline = now() + 10
    status, body, kind = fetch()
    while status not in (200, 206) and now() < deadline:
        await asyncio.sleep(0.2)
        status, body, kind = fetch()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", f"recording-{label}-{name}")
    with open(path, "wb") as f:
        f.write(body)
    return status, body, kind, path


def drop_incoming_udp(port, percent):
    """Loses `percent` % of the UDP datagrams to `port` (or a "first-last" range: every media loop's port) in this namespace, at random (this kernel has no netem: an
    nftables rule on the input hook; on the output hook a drop would return EPERM to the sender instead)."""
    for command in (["add", "table", "inet", "lossy"],
                    ["add", "chain", "inet", "lossy", "input", "{ type filter hook input priority 0; }"],
                    ["add", "rule", "inet", "lossy", "input", "udp", "dport", str(port), "numgen", "random", "mod", "100",
                     "<", str(percent), "counter", "drop"]):
        subprocess.run(["nft", *command], check=True, capture_output=True, timeout=10)


def dropped_by_nft():
    listing = subprocess.run(["nft", "list", "table", "inet", "lossy"], capture_output=True, text=True, timeout=10).stdout
    match = re.search(r"counter packets (\d+)", listing)
    return int(match.group(1)) if match else 0


async def scenario_record(result, video="VP8", audio="opus", seconds="5", ask="yes", loss="0"):
    """A publish with `record: true` for `seconds`, then unpublished: the finished file is downloaded from
    /client/records/NAME (with a Range request too) into e2e/output/ for the test to read. With `loss`, that
    percentage of what reaches the server's media port is lost."""
    cam = Participant("cam")
    if int(loss) > 0:
        drop_incoming_udp(f"{MEDIA_PORT}-{MEDIA_PORT + 63}", int(loss))
    try:
        await cam.connect()
        await cam.join("rec")
        publication = await cam.publish("rec", video=video, audio=audio, size=(320, 240), record=ask == "yes", texture=True)
        name = publication.accepted.get("recordName")
        result["recordName"] = name
        started = now()
        await asyncio.sleep(float(seconds))
        await cam.request("unpublish", stream=publication.stream)
        result["published_seconds"] = round(now() - started, 2)
        # The recording's last event says the file is complete (or was stopped early, with why).
        deadline = now() + 10
        while now() < deadline and not any(e.get("event") == "recording" and e.get("status") in ("finished", "stopped")
                                           for e in cam.events):
            await asyncio.sleep(0.1)
        status, body, kind, path = await download_recording(name, video)
        result["download"] = {"status": status, "bytes": len(body), "type": kind}
        result["recording_events"] = [{k: e.get(k) for k in ("status", "recordName", "reason")}
                                      for e in cam.events if e.get("event") == "recording"]
        if int(loss) > 0:
            result["dropped_by_nft"] = dropped_by_nft()
        ranged = await download_recording(name, video + "-range", {"Range": "bytes=0-99"})
        result["range"] = {"status": ranged[0], "bytes": len(ranged[1])}
        result["path"] = path
    finally:
        await cam.close()


async def scenario_wcs_record(result, seconds="4"):
    """A Web Call Server client publishes with `record: true` (Flashphoner's Stream Recording demo): its status
    events carry `recordName` (the SDK's getRecordInfo()), and the file downloads once it is unpublished."""
    from wcs_media import WCSParticipant
    alice = WCSParticipant("wcsalice")
    room, name = "rec", "rec-wcsalice-1a2b"
    try:
        await alice.connect()
        await alice.join(room)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        alice.pcs.append(pc)
        video = pc.addTransceiver(PatternVideo(320, 240, fps=30, texture=True), direction="sendonly")
        prefer(video, "video", "VP8")
        pc.addTransceiver(ToneAudio(48000), direction="sendonly")
        stream_id, _ = await alice.negotiate("publishStream", pc, name, room, record=True)
        publishing = await alice.status(stream_id, ("PUBLISHING", "FAILED"), 15)
        result["publishing"] = {k: publishing.get(k) for k in ("status", "recordName")}
        await asyncio.sleep(float(seconds))
        await alice.send("unPublishStream", {"mediaSessionId": stream_id, "name": name})
        unpublished = await alice.status(stream_id, ("UNPUBLISHED",), 10)
        result["unpublished"] = {k: unpublished.get(k) for k in ("status", "recordName")}
        record_name = unpublished.get("recordName")
        status, body, _, path = await download_recording(record_name, "wcs")
        result["download"] = {"status": status, "bytes": len(body)}
        result["path"] = path
    finally:
        await alice.close()


async def scenario_record_killed(result, seconds="3.5"):
    """A recording when the server is killed (SIGKILL): the `.part` file on disk plays up to its last second, and
    the next server start makes it downloadable."""
    import shutil
    records = os.environ["PARLEY_RECORD_DIR"]
    cam = Participant("cam")
    await cam.connect()
    await cam.join("rec")
    publication = await cam.publish("rec", size=(320, 240), record=True, texture=True)
    name = publication.accepted["recordName"]
    await asyncio.sleep(float(seconds))
    me = os.getpid()
    victim = next(int(p) for p in os.listdir("/proc") if p.isdigit() and _parent_and_name(p) == (me, "parley"))
    os.kill(victim, signal.SIGKILL)
    await asyncio.sleep(0.5)
    part = os.path.join(records, name + ".part")
    result["part_exists"] = os.path.exists(part)
    killed_copy = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", f"recording-killed-{name}")
    if result["part_exists"]:
        shutil.copyfile(part, killed_copy)
    result["killed_path"] = killed_copy
    cam.closed = True
    # The next start keeps it: renamed, downloadable.
    binary = sys.argv[sys.argv.index("--binary") + 1]
    log = sys.argv[sys.argv.index("--log") + 1] + ".restart"
    web_root = sys.argv[sys.argv.index("--web-root") + 1] if "--web-root" in sys.argv else "Web"
    server = start_server(binary, log, web_root)
    try:
        status, body, _, path = await download_recording(name, "recovered")
        result["recovered"] = {"status": status, "bytes": len(body), "path": path}
        if status == 200:
            result["recovered_path"] = path
    finally:
        stop_server(server)


def _parent_and_name(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/comm") as f:
            return int(fields[1]), f.read().strip()
    except OSError:
        return None


SCENARIOS = {
    "record-killed": scenario_record_killed,
    "wcs-record": scenario_wcs_record,
    "record": scenario_record,
    "fanout": scenario_fanout,
    "nack": scenario_nack,
    "socket-close": scenario_socket_close,
    "udp-silent": scenario_udp_silent,
    "isolation": scenario_isolation,
    "late-viewers": scenario_late_viewers,
}


# MARK: namespace and server

def set_up_namespace():
    """Loopback plus a veth with 10.77.0.1 and a default route through it. Refuses to touch a namespace that
    already has other interfaces: this must only ever run in the fresh namespace of `unshare -n`."""
    with open("/proc/self/net/dev") as f:  # this network namespace's interfaces (/sys shows the host's)
        interfaces = {line.split(":")[0].strip() for line in f.readlines()[2:]}
    if interfaces != {"lo"}:
        raise SystemExit(f"refusing to configure a network namespace with {sorted(interfaces)}: run under unshare -n")
    for command in ("ip link set lo up", "ip link add v0 type veth peer name v1",
                    f"ip addr add {ADDRESS}/24 dev v0", "ip link set v0 up", "ip link set v1 up",
                    "ip route add default dev v0"):
        subprocess.run(command.split(), check=True)


def die_with_parent():
    """In the server's child process: SIGTERM it if this runner dies, so no server outlives a killed test."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_server(binary, log_path, web_root):
    log = open(log_path, "w")
    process = subprocess.Popen(
        [binary, "--host", "0.0.0.0", "--port", str(HTTP_PORT), "--media-port", str(MEDIA_PORT),
         "--announced-ip", ADDRESS, "--web-root", web_root, "--log-level", "info"],
        stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    log.close()
    deadline = now() + 30
    while now() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"parley exited with {process.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(HEALTH_URL, timeout=1) as response:
                if json.load(response).get("status") == "ok":
                    return process
        except OSError:
            time.sleep(0.05)
    stop_server(process)
    raise SystemExit("the server did not answer /health within 30 s")


def stop_server(process):
    """SIGTERM, then SIGKILL after 10 s; returns how it ended."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return {"code": process.returncode, "killed": True}
    return {"code": process.returncode, "killed": False}


def run_main(scenarios, default_timeout=90, open_extra=None):
    """The runner both scenario scripts share: in this (already unshared) namespace, start the server, run one
    scenario under a time limit, stop the server and print `RESULT {json}`. `open_extra`, if given, returns
    (arguments put before the scenario's own, a function that releases them), e.g. a browser."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--web-root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Web"))
    parser.add_argument("--timeout", type=float, default=default_timeout)
    parser.add_argument("scenario", choices=sorted(scenarios))
    parser.add_argument("args", nargs="*")
    options = parser.parse_args()

    set_up_namespace()
    server = start_server(options.binary, options.log, options.web_root)
    result = {"scenario": options.scenario, "args": options.args}
    started = now()
    release = None
    # A SIGTERM from the test (its own time limit) still stops the server and prints what was found so far.
    def interrupted(*_):
        raise KeyboardInterrupt("SIGTERM")
    signal.signal(signal.SIGTERM, interrupted)
    try:
        extra = ()
        if open_extra is not None:
            extra, release = open_extra()

        async def run():
            await asyncio.wait_for(scenarios[options.scenario](result, *extra, *options.args), options.timeout)
        asyncio.run(run())
    except asyncio.TimeoutError:
        result["error"] = f"the scenario did not finish within {options.timeout}s"
    except ScenarioError as error:
        result["error"] = str(error)
    except (Exception, KeyboardInterrupt) as error:
        result["error"] = f"{type(error).__name__}: {error}"
        result["traceback"] = traceback.format_exc()[-3000:]
    finally:
        if release is not None:
            release()
        result["seconds"] = round(now() - started, 2)
        result["server_stop"] = stop_server(server)
        print("RESULT " + json.dumps(result, default=list), flush=True)
        sys.stderr.flush()
        # aiortc's decoder threads are not daemons: after an interrupted scenario they would keep this process
        # (and its namespace) alive. Everything worth keeping is printed; the server is stopped.
        os._exit(0)


def main():
    run_main(SCENARIOS)


if __name__ == "__main__":
    main()
