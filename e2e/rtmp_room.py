"""RTMP participants with a real encoder: ffmpeg publishes into a room over RTMP and an aiortc participant, in
the room over Parley's WebSocket protocol, plays and decodes the stream.

- publish: ffmpeg sends 640x360 H.264 (testsrc, constrained baseline, no B-frames, a keyframe every second) and
  AAC (a 440 Hz tone) to rtmp://127.0.0.1:1935/ROOM/encoder?token=…; the viewer hears `joined` and `published`
  (display `rtmp`), plays the stream, decodes its video and its audio (transcoded to Opus); when ffmpeg ends, the viewer hears `unpublished` and `left`, and nothing is left.
- bframes: ffmpeg sends H.264 with B-frames; the publish is refused with advice, and ffmpeg says so.

Runs as aiortc_room.py does (aiortc_room.run_main): inside `unshare -n`, with its own server (RTMP on its default
port, 1935, free in the namespace), and prints `RESULT {json}`.
"""
import asyncio
import json
import re

import aiortc_room
from aiortc_room import Participant, ScenarioError

ROOM = "rtmp-room"
URL = f"rtmp://127.0.0.1:1935/{ROOM}/encoder?token=kept-for-auth"
BASELINE = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "baseline",
            "-g", "30", "-pix_fmt", "yuv420p"]
BFRAMES = ["-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "main", "-bf", "2", "-g", "30", "-pix_fmt", "yuv420p"]


AAC = ["-c:a", "aac", "-b:a", "96k", "-ac", "2"]


async def ffmpeg(encoder, seconds, audio=False):
    sound = ["-f", "lavfi", "-t", str(seconds), "-i", "sine=frequency=440:sample_rate=48000"] if audio else []
    return await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-t", str(seconds),
        "-i", "testsrc=size=640x360:rate=30", *sound, *encoder, *(AAC if audio else ["-an"]), "-f", "flv", URL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)


async def scenario_publish(result, encoding=BASELINE):
    """`encoding`: BFRAMES with --rtmp-transcode (PARLEY_RTMP_TRANSCODE=1 in the server's environment): re-encoded
    without B-frames instead of refused."""
    viewer = Participant("viewer")
    encoder = None
    try:
        await viewer.connect()
        await viewer.join(ROOM)
        encoder = await ffmpeg(encoding, 8, audio=True)
        joined = await viewer.wait_event(lambda e: e.get("event") == "joined", 10, "the encoder joining")
        result["joined"] = joined["participant"]["name"]
        stream = await viewer.wait_published(ROOM, "encoder", timeout=10)
        result["published"] = stream
        playback = await viewer.play(ROOM, stream["id"], audio=True)
        await playback.wait_frames(video=60, audio=100, timeout=15)
        result["playback"] = playback.summary()
        # The encoder ends: its stream and then itself go from the room.
        _, stderr = await asyncio.wait_for(encoder.communicate(), 20)
        result["ffmpeg"] = {"exit": encoder.returncode, "stderr": stderr.decode(errors="replace")[-500:]}
        unpublished = await viewer.wait_event(lambda e: e.get("event") == "unpublished", 10, "unpublished")
        left = await viewer.wait_event(lambda e: e.get("event") == "left", 10, "left")
        result["unpublished"] = unpublished["reason"]
        result["left"] = left["reason"]
        await viewer.close()
        h = await aiortc_room.wait_health(lambda h: h["streams"] == 0 and h["media"]["peerConnections"] == 0, 10,
                                          "the stream gone")
        result["health_at_end"] = {k: h[k] for k in ("sessions", "rooms", "participants", "streams")}
    finally:
        if encoder and encoder.returncode is None:
            encoder.kill()
        await viewer.close()


async def scenario_bframes(result):
    viewer = Participant("viewer")
    try:
        await viewer.connect()
        await viewer.join(ROOM)
        encoder = await ffmpeg(BFRAMES, 6)
        _, stderr = await asyncio.wait_for(encoder.communicate(), 20)
        result["ffmpeg"] = {"exit": encoder.returncode, "stderr": stderr.decode(errors="replace")[-800:]}
        await viewer.wait_event(lambda e: e.get("event") == "left", 10, "the refused encoder leaving")
        result["published"] = len(viewer.events_of("published"))
        h = await aiortc_room.wait_health(lambda h: h["streams"] == 0 and h["participants"] == 1, 10, "nothing left")
        result["health_at_end"] = {k: h[k] for k in ("sessions", "rooms", "participants", "streams")}
    finally:
        await viewer.close()


async def scenario_takeover(result):
    viewer = Participant("viewer")
    first = second = None
    try:
        await viewer.connect()
        await viewer.join(ROOM)
        first = await ffmpeg(BASELINE, 20)
        old = await viewer.wait_published(ROOM, "encoder", timeout=10)
        # The encoder "reconnects" while its first connection is still up: the newest takes the name over.
        second = await ffmpeg(BASELINE, 6)
        gone = await viewer.wait_event(lambda e: e.get("event") == "unpublished" and e["stream"]["id"] == old["id"], 10,
                                       "the old stream unpublished")
        left = await viewer.wait_event(lambda e: e.get("event") == "left", 10, "the old participant leaving")
        new = await viewer.wait_event(lambda e: e.get("event") == "published" and e["stream"]["id"] != old["id"], 10,
                                      "the new stream")
        result["old_unpublished"] = gone["reason"]
        result["old_left"] = left["reason"]
        result["joined"] = [e["participant"]["name"] for e in viewer.events_of("joined")]
        playback = await viewer.play(ROOM, new["stream"]["id"], audio=False)
        await playback.wait_frames(video=30, timeout=15)
        result["playback"] = playback.summary()
        _, err1 = await asyncio.wait_for(first.communicate(), 20)
        _, err2 = await asyncio.wait_for(second.communicate(), 20)
        result["first_exit"], result["second_exit"] = first.returncode, second.returncode
        result["second_stderr"] = err2.decode(errors="replace")[-300:]
    finally:
        for p in (first, second):
            if p and p.returncode is None:
                p.kill()
        await viewer.close()


async def run_tool(*command, timeout=30):
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except asyncio.TimeoutError:
        process.kill()
        out, err = await process.communicate()
    return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")


async def probe(url):
    """ffprobe's view of an RTMP stream, and what ffmpeg decodes of 3 s of it."""
    code, out, err = await run_tool("ffprobe", "-v", "error", "-show_entries",
                                    "stream=codec_name,profile,width,height,sample_rate,channels", "-of", "json", url)
    streams = json.loads(out).get("streams", []) if code == 0 and out.strip() else []
    dcode, _, derr = await run_tool("ffmpeg", "-hide_banner", "-loglevel", "info", "-t", "3", "-i", url, "-f", "null", "-")
    frames = re.findall(r"frame=\s*(\d+)", derr)
    return {"probe_exit": code, "probe_stderr": err[-400:], "streams": streams,
            "decode_exit": dcode, "decoded_video_frames": int(frames[-1]) if frames else 0,
            "decode_stderr": derr[-600:]}


async def scenario_play_webrtc(result, codec):
    """A WebRTC participant publishes `codec` video and Opus; ffprobe and ffmpeg play it over RTMP, and rtmpdump
    (librtmp, the player library OBS's output also descends from) records it."""
    cam = Participant("cam")
    try:
        await cam.connect()
        await cam.join(ROOM)
        await cam.publish(ROOM, video=codec, audio="opus", size=(640, 480))
        url = f"rtmp://127.0.0.1:1935/{ROOM}/cam"
        if codec == "VP8":
            # Transcoded once for all: a second player decodes at the same time.
            async def second():
                code, _, err = await run_tool("ffmpeg", "-hide_banner", "-t", "4", "-i", url, "-f", "null", "-")
                frames = re.findall(r"frame=\s*(\d+)", err)
                return {"exit": code, "frames": int(frames[-1]) if frames else 0}
            probed, result["second_player"] = await asyncio.gather(probe(url), second())
            result.update(probed)
        else:
            result.update(await probe(url))
        if codec == "H264":
            path = "/tmp/parley-rtmpdump.flv"
            code, _, err = await run_tool("timeout", "-k", "2", "5", "rtmpdump", "-q", "-r", url, "--live", "-o", path,
                                          timeout=15)
            pcode, out, perr = await run_tool("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height",
                                              "-of", "json", path)
            result["rtmpdump"] = {"exit": code, "stderr": err[-300:],
                                  "streams": json.loads(out).get("streams", []) if pcode == 0 and out.strip() else perr[-300:]}
        h = await aiortc_room.wait_health(lambda h: h["sessions"] == 1 and h["transcodes"] == 0, 10, "the RTMP players gone")
        result["transcodes_at_end"] = h["transcodes"]
    finally:
        await cam.close()


async def scenario_play_rtmp(result):
    """An RTMP encoder's stream played over RTMP: H.264 passed through both ways, AAC → Opus → AAC."""
    encoder = await ffmpeg(BASELINE, 14, audio=True)
    watcher = Participant("watcher")
    try:
        await watcher.connect()
        await watcher.join(ROOM)
        await watcher.wait_published(ROOM, "encoder", timeout=10)
        result.update(await probe(f"rtmp://127.0.0.1:1935/{ROOM}/encoder"))
    finally:
        if encoder.returncode is None:
            encoder.kill()
        await watcher.close()


async def scenario_gstreamer_publish(result):
    """GStreamer's rtmpsink (librtmp, as OBS's RTMP output) publishes H.264 + AAC; the viewer decodes both."""
    viewer = Participant("viewer")
    gst = None
    try:
        await viewer.connect()
        await viewer.join(ROOM)
        pipeline = (
            "videotestsrc is-live=true num-buffers=300 ! video/x-raw,width=640,height=360,framerate=30/1 "
            "! x264enc tune=zerolatency bframes=0 key-int-max=30 speed-preset=ultrafast ! video/x-h264,profile=baseline "
            "! h264parse ! queue ! flvmux name=m streamable=true "
            f"! rtmpsink location=\"rtmp://127.0.0.1:1935/{ROOM}/gst live=1\" "
            "audiotestsrc is-live=true wave=sine freq=440 samplesperbuffer=960 num-buffers=500 "
            "! audio/x-raw,rate=48000,channels=2 ! avenc_aac ! aacparse ! queue ! m.")
        gst = await asyncio.create_subprocess_exec("gst-launch-1.0", "-q", *pipeline.split(" "),
                                                   stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        stream = await viewer.wait_published(ROOM, "gst", timeout=15)
        result["published"] = stream
        playback = await viewer.play(ROOM, stream["id"], audio=True)
        await playback.wait_frames(video=60, audio=100, timeout=15)
        result["playback"] = playback.summary()
    finally:
        if gst and gst.returncode is None:
            gst.kill()
            _, err = await gst.communicate()
            result["gst_stderr"] = err.decode(errors="replace")[-500:]
        await viewer.close()


async def scenario_bad_names(result):
    """Publishes that cannot join: an invalid room name, and a name a WebRTC participant holds in the room."""
    alice = Participant("encoder")  # holds the name "encoder" in ROOM
    try:
        await alice.connect()
        await alice.join(ROOM)
        for key, url in (("taken", URL), ("bad_room", "rtmp://127.0.0.1:1935/bad%20room!/encoder")):
            process = await asyncio.create_subprocess_exec(
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-t", "3",
                "-i", "testsrc=size=320x240:rate=30", *BASELINE, "-an", "-f", "flv", url,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            _, err = await asyncio.wait_for(process.communicate(), 20)
            result[key] = {"exit": process.returncode, "stderr": err.decode(errors="replace")[-400:]}
        h = await aiortc_room.wait_health(lambda h: h["sessions"] == 1 and h["streams"] == 0, 10, "only alice left")
        result["health_at_end"] = {k: h[k] for k in ("sessions", "rooms", "participants", "streams")}
        result["alice_events"] = [e.get("event") for e in alice.events if e.get("event")]
    finally:
        await alice.close()


NGINX_CONF = """load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off; master_process off; pid {dir}/nginx.pid; error_log {dir}/error.log info;
events {{}}
rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096; application live {{ live on; record off; wait_key on; wait_video on; }} }} }}
"""


class Nginx:
    """A real nginx-rtmp (libnginx-mod-rtmp) as the far end of a push: started, killed and started again."""

    def __init__(self, port=19350):
        import tempfile
        self.port, self.dir = port, tempfile.mkdtemp(prefix="parley-nginx-")
        with open(f"{self.dir}/nginx.conf", "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, port=port))
        self.process = None

    async def start(self):
        self.process = await asyncio.create_subprocess_exec("nginx", "-p", self.dir, "-c", f"{self.dir}/nginx.conf",
                                                            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        for _ in range(50):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise ScenarioError("nginx-rtmp did not start")

    async def stop(self):
        if self.process and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def scenario_republish(result):
    """A browser's H.264 + Opus stream pushed to a real nginx-rtmp with `republish` and played back from nginx by
    ffprobe/ffmpeg as H.264 + AAC; nginx killed and restarted: the push says `retrying`, reconnects and plays
    again; `stopRepublish` ends it, and an unpublished source ends another; bad requests are refused."""
    nginx = Nginx()
    cam, producer = Participant("cam"), Participant("producer")
    far = f"rtmp://127.0.0.1:{nginx.port}/live/parley"
    try:
        await nginx.start()
        for p in (cam, producer):
            await p.connect()
            await p.join(ROOM)
        publication = await cam.publish(ROOM, video="H264", audio="opus", size=(640, 480))
        # nginx keeps no GOP: its players start at the publisher's next keyframe.
        publication.fixed_keyframe_interval(1)
        stream = publication.stream
        await producer.wait_published(ROOM, "cam", timeout=10)

        def statuses(push):
            return [e["status"] for e in producer.events_of("republish") if e["republish"] == push]

        push = (await producer.request("republish", room=ROOM, stream=stream, url=far))["republish"]
        await producer.wait_event(lambda e: e.get("event") == "republish" and e.get("status") == "publishing", 10, "publishing")
        # RTMP watches the room now: a publisher that offers VP8 and H.264 is answered H.264.
        both = await producer.publish(ROOM, video="VP8,H264", audio="opus")
        result["codec_while_watched"] = aiortc_room.chosen_codecs(both.answer)["video"]
        await producer.request("unpublish", stream=both.stream)
        result["first"] = await probe(far)

        # The far end goes away: the push retries with backoff, and publishes again once nginx is back.
        await nginx.stop()
        retry = await producer.wait_event(lambda e: e.get("event") == "republish" and e.get("status") == "retrying", 10, "retrying")
        result["retry"] = {k: retry.get(k) for k in ("message", "retryIn")}
        await nginx.start()
        await producer.wait_event(lambda e: e.get("event") == "republish" and e.get("status") == "publishing"
                                  and e["_t"] > retry["_t"], 20, "publishing again")
        result["again"] = await probe(far)
        result["attempts"] = max(e.get("attempt", 0) for e in producer.events_of("republish"))

        await producer.request("stopRepublish", republish=push)
        ended = await producer.wait_event(lambda e: e.get("event") == "republish" and e.get("status") == "ended", 10, "ended")
        result["stopped"] = {"reason": ended.get("reason"), "statuses": statuses(push)}
        code, _, err = await run_tool("ffprobe", "-v", "error", "-rw_timeout", "3000000", far, timeout=10)
        result["after_stop_probe_exit"] = code

        # A push ends with its source.
        second = (await producer.request("republish", room=ROOM, stream=stream, url=far + "2"))["republish"]
        await producer.wait_event(lambda e: e.get("event") == "republish" and e.get("republish") == second
                                  and e.get("status") == "publishing", 10, "the second push publishing")
        await cam.request("unpublish", stream=stream)
        ended = await producer.wait_event(lambda e: e.get("event") == "republish" and e.get("republish") == second
                                          and e.get("status") == "ended", 10, "the second push ended")
        result["source_ended"] = ended.get("reason")
        # Nothing watches the room: VP8, Parley's own first choice, again.
        both = await producer.publish(ROOM, video="VP8,H264", audio="opus")
        result["codec_unwatched"] = aiortc_room.chosen_codecs(both.answer)["video"]
        await producer.request("unpublish", stream=both.stream)

        # A browser's VP8 stream is pushed transcoded to H.264.
        vp8 = await cam.publish(ROOM, video="VP8", audio="opus", size=(640, 480))
        await producer.wait_event(lambda e: e.get("event") == "published" and e["stream"]["id"] == vp8.stream, 10, "the VP8 stream")
        third = (await producer.request("republish", room=ROOM, stream=vp8.stream, url=far + "vp8"))["republish"]
        await producer.wait_event(lambda e: e.get("event") == "republish" and e.get("republish") == third
                                  and e.get("status") == "publishing", 10, "the VP8 push publishing")
        result["vp8"] = await probe(far + "vp8")

        # Bad requests.
        pcmu = await cam.publish(ROOM, video=None, audio="PCMU")
        await producer.wait_event(lambda e: e.get("event") == "published" and e["stream"]["id"] == pcmu.stream, 10, "the G.711 stream")
        refusals = {}
        for key, fields in (("bad_url", {"stream": vp8.stream, "url": "http://example.invalid/x"}),
                            ("no_key", {"stream": vp8.stream, "url": "rtmp://127.0.0.1/live"}),
                            ("g711", {"stream": pcmu.stream, "url": far}),
                            ("unknown", {"stream": "nosuchstream", "url": far})):
            reply = await producer.try_request("republish", room=ROOM, **fields)
            refusals[key] = reply.get("error", {}).get("code")
        reply = await producer.try_request("stopRepublish", republish="nope")
        refusals["stop_unknown"] = reply.get("error", {}).get("code")
        result["refusals"] = refusals
        await cam.request("unpublish", stream=vp8.stream)
        await cam.request("unpublish", stream=pcmu.stream)
        # The VP8 push ended with its source: its transcode is gone too.
        h = await aiortc_room.wait_health(lambda h: h["streams"] == 0 and h["transcodes"] == 0, 10, "no streams or transcodes left")
        result["health_at_end"] = {k: h[k] for k in ("sessions", "rooms", "participants", "streams", "transcodes")}
    finally:
        await cam.close()
        await producer.close()
        await nginx.stop()


async def scenario_record(result):
    """ffmpeg publishes with ?record=true for 6 s: the server records the stream (H.264 as sent, AAC as Opus) under
    ROOM-NAME-TIME.mkv, which downloads once the encoder has gone."""
    import sys
    process = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-t", "6", "-i", "testsrc=size=640x360:rate=30",
        "-re", "-f", "lavfi", "-t", "6", "-i", "sine=frequency=440:sample_rate=48000", *BASELINE, *AAC,
        "-f", "flv", f"rtmp://127.0.0.1:1935/{ROOM}/encoder?record=true", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    await asyncio.wait_for(process.communicate(), 30)
    log = sys.argv[sys.argv.index("--log") + 1]
    name = None
    for _ in range(50):
        found = re.search(r"recordName=(\S+)", open(log, errors="replace").read())
        if found:
            name = found.group(1)
            break
        await asyncio.sleep(0.1)
    result["recordName"] = name
    status, body, _, path = await aiortc_room.download_recording(name, "rtmp")
    result["download"] = {"status": status, "bytes": len(body)}
    result["path"] = path


async def scenario_wcs_rtmp_url(result):
    """A Web Call Server client publishes H.264 with `rtmpUrl`: once it publishes, Parley pushes it to
    rtmpUrl/rtmp_NAME (WCS's default), where nginx-rtmp's players get H.264 + AAC; unPublishStream ends it there."""
    from aiortc import RTCConfiguration, RTCPeerConnection
    from wcs_media import WCSParticipant
    nginx = Nginx()
    alice = WCSParticipant("wcsalice")
    name = f"{ROOM}-wcsalice-1a2b"
    far = f"rtmp://127.0.0.1:{nginx.port}/live/rtmp_{name}"
    try:
        await nginx.start()
        await alice.connect()
        await alice.join(ROOM)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        alice.pcs.append(pc)
        video = pc.addTransceiver(aiortc_room.PatternVideo(640, 480, fps=30), direction="sendonly")
        aiortc_room.prefer(video, "video", "H264")
        pc.addTransceiver(aiortc_room.ToneAudio(48000), direction="sendonly")
        stream_id, _ = await alice.negotiate("publishStream", pc, name, ROOM, rtmpUrl=f"rtmp://127.0.0.1:{nginx.port}/live")
        status = await alice.status(stream_id, ("PUBLISHING", "FAILED"), 15)
        if status["status"] != "PUBLISHING":
            raise ScenarioError(f"the WCS publish failed: {status}")

        async def keyframes():  # nginx keeps no GOP: its players start at the publisher's next keyframe
            while True:
                await asyncio.sleep(1)
                video.sender._RTCRtpSender__force_keyframe = True
        ticking = asyncio.ensure_future(keyframes())
        await asyncio.sleep(1.5)
        result["played"] = await probe(far)
        ticking.cancel()
        await alice.send("unPublishStream", {"mediaSessionId": stream_id, "name": name})
        await alice.status(stream_id, ("UNPUBLISHED",), 10)
        await asyncio.sleep(1)
        code, _, _ = await run_tool("ffprobe", "-v", "error", "-rw_timeout", "3000000", far, timeout=10)
        result["after_unpublish_probe_exit"] = code
    finally:
        await alice.close()
        await nginx.stop()


if __name__ == "__main__":
    aiortc_room.run_main({"publish": scenario_publish, "bframes": scenario_bframes,
                          "bframes-transcoded": lambda r: scenario_publish(r, BFRAMES), "takeover": scenario_takeover,
                          "play-h264": lambda r: scenario_play_webrtc(r, "H264"),
                          "play-vp8": lambda r: scenario_play_webrtc(r, "VP8"),
                          "play-rtmp": scenario_play_rtmp, "gstreamer": scenario_gstreamer_publish,
                          "bad-names": scenario_bad_names, "republish": scenario_republish,
                          "wcs-rtmp-url": scenario_wcs_rtmp_url, "record": scenario_record}, default_timeout=60)
