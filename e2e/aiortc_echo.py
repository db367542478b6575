"""An aiortc peer (an independent WebRTC stack) runs Parley's echo test and decodes its own media back.

Run inside a private network namespace (see test_aiortc_echo.py): aiortc never uses 127.0.0.1, so the server
announces the namespace's own address and nothing leaves the machine.
Usage: aiortc_echo.py WS_URL VIDEO_CODEC AUDIO_CODEC [--wrong-fingerprint]   → prints one JSON line.
"""
import asyncio
import fractions
import json
import re
import sys
import time

import numpy
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaStreamTrack
from av import AudioFrame, VideoFrame
import websockets


class PatternVideo(MediaStreamTrack):
    """Moving bars, 320x240 at 30 fps: real content for the encoder, unlike a blank frame."""
    kind = "video"

    def __init__(self):
        super().__init__()
        self.count = 0
        self.start = time.time()

    async def recv(self):
        self.count += 1
        await asyncio.sleep(max(0, self.start + self.count / 30 - time.time()))
        image = numpy.zeros((240, 320, 3), numpy.uint8)
        image[:, (self.count * 4) % 320:, 1] = 200
        frame = VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = self.count * 3000, fractions.Fraction(1, 90000)
        return frame


class ToneAudio(MediaStreamTrack):
    kind = "audio"

    def __init__(self, rate):
        super().__init__()
        self.rate, self.count, self.start = rate, 0, time.time()

    async def recv(self):
        samples = self.rate // 50
        self.count += 1
        await asyncio.sleep(max(0, self.start + self.count / 50 - time.time()))
        t = (numpy.arange(samples) + self.count * samples) / self.rate
        data = (numpy.sin(2 * numpy.pi * 440 * t) * 8000).astype(numpy.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(data, format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = self.rate, self.count * samples, fractions.Fraction(1, self.rate)
        return frame


def prefer(transceiver, kind, name):
    codecs = [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() == f"{kind}/{name}".lower()]
    transceiver.setCodecPreferences(codecs)


async def main(url, video_codec, audio_codec, wrong_fingerprint):
    result = {"video_frames": 0, "audio_frames": 0, "status": None, "reason": None}
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    video = pc.addTransceiver(PatternVideo(), direction="sendrecv")
    audio = pc.addTransceiver(ToneAudio(48000 if audio_codec == "opus" else 8000), direction="sendrecv")
    prefer(video, "video", video_codec)
    prefer(audio, "audio", audio_codec)
    received = {"video": 0, "audio": 0}

    @pc.on("track")
    def on_track(track):
        async def drain():
            while True:
                try:
                    frame = await track.recv()
                except Exception:
                    return
                received[track.kind] += 1
                if track.kind == "video":
                    result["size"] = [frame.width, frame.height]
        asyncio.ensure_future(drain())

    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    if wrong_fingerprint:
        offer = re.sub(r"a=fingerprint:sha-256 [0-9A-F:]+", "a=fingerprint:sha-256 " + ":".join(["AB"] * 32), offer)
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"id": 1, "type": "connect", "username": "aiortc"}))
        json.loads(await ws.recv())
        await ws.send(json.dumps({"id": 2, "type": "echo", "sdp": offer}))
        reply = json.loads(await ws.recv())
        if not reply.get("ok"):
            result["status"], result["reason"] = "refused", reply["error"]["code"]
            print(json.dumps(result))
            return
        result["answer_codecs"] = re.findall(r"a=rtpmap:\d+ ([^\r\n]+)", reply["result"]["sdp"])
        await pc.setRemoteDescription(RTCSessionDescription(reply["result"]["sdp"], "answer"))

        async def events():
            async for text in ws:
                frame = json.loads(text)
                if frame.get("event") == "stream":
                    result["status"], result["reason"] = frame["status"], frame.get("reason")
        watcher = asyncio.ensure_future(events())
        deadline = time.time() + 15
        while time.time() < deadline:
            if result["status"] == "failed":
                break
            if received["video"] >= 20 and received["audio"] >= 20:
                break
            await asyncio.sleep(0.1)
        watcher.cancel()
    result["video_frames"], result["audio_frames"] = received["video"], received["audio"]
    await pc.close()
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], "--wrong-fingerprint" in sys.argv))
