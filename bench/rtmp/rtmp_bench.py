"""RTMP benchmarks (`make bench-rtmp`, part of `make bench`): run inside `unshare -n` by bench/rtmp/run.sh, with
the release build of Parley started by e2e/aiortc_room.run_main, and real peers: ffmpeg encoders and players,
aiortc viewers, nginx-rtmp. Prints `RESULT {json}`; bench/rtmp/run.sh writes the figures to docs/BENCHMARKS.md.

- latency: ffmpeg publishes 640x360 H.264 + AAC whose RTMP timestamps are the wall clock (ms since midnight);
  an aiortc viewer in the room records each RTP packet's arrival and the Sender Reports, which map RTP time back
  to the publisher's timestamps (Parley anchors them on the wall clock at the first frame). Beside it, nginx-rtmp
  relays the same kind of publish to an ffmpeg player whose demuxer stamps each packet's arrival.
- players: server CPU with one RTMP publisher and 0, 1 and 10 RTMP players (H.264 repackaged, Opus → AAC).
- vp8: server CPU with one aiortc VP8 640x480 publisher and 0, 1 and 4 RTMP players (one shared VP8 → H.264).
- many: 20 RTMP publishers into 20 rooms, each played by an RTMP player; frames each player got (a loss would
  drop frames to the next keyframe).
"""
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e"))
import aiortc_room  # noqa: E402
from aiortc_room import Participant, ScenarioError  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FLV = None


def server_pid():
    """The Parley this runner started (its child)."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == me and open(f"/proc/{entry}/comm").read().strip() == "parley":
                    return int(entry)
            except OSError:
                continue
    raise ScenarioError("no parley child process")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


async def measure(pid, seconds):
    before, t0 = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return round((cpu_seconds(pid) - before) / (time.monotonic() - t0), 4)


async def tool(*command, timeout=60):
    p = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(p.communicate(), timeout)
    except asyncio.TimeoutError:
        p.kill()
        out, err = await p.communicate()
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


async def make_flv():
    """640x360 H.264 constrained baseline 30 fps ~1 Mbit/s, a keyframe a second, plus AAC-LC 96 kb/s 48 kHz."""
    global FLV
    if FLV is None:
        FLV = os.path.join(tempfile.mkdtemp(prefix="parley-bench-"), "source.flv")
        code, _, err = await tool("ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
                                  "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "20",
                                  "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "baseline",
                                  "-b:v", "1000k", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-ac", "2", FLV)
        if code != 0:
            raise ScenarioError(f"ffmpeg could not make the source: {err}")
    return FLV


async def loop_publisher(url):
    await make_flv()
    return await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", FLV, "-c", "copy", "-f", "flv", url,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


async def rtmp_player(url, seconds=None):
    limit = ["-t", str(seconds)] if seconds else []
    return await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-nostats", "-loglevel", "info", "-stats_period", "1", "-stats", *limit, "-i", url,
        "-c", "copy", "-f", "null", "-", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)


def stop(*processes):
    for p in processes:
        if p is not None and p.returncode is None:
            p.kill()


async def scenario_players(result):
    pid = server_pid()
    url = "rtmp://127.0.0.1:1935/bench/encoder"
    publisher = await loop_publisher(url)
    players = []
    try:
        await aiortc_room.wait_health(lambda h: h["streams"] == 1, 15, "the RTMP stream live")
        await asyncio.sleep(3)
        result["cpu"] = {"0": await measure(pid, 15)}
        result["rss_mib"] = {"0": round(rss_mib(pid), 1)}
        for count in (1, 10):
            while len(players) < count:
                players.append(await rtmp_player(url))
            await asyncio.sleep(4)
            result["cpu"][str(count)] = await measure(pid, 15)
            result["rss_mib"][str(count)] = round(rss_mib(pid), 1)
    finally:
        stop(publisher, *players)


async def scenario_vp8(result):
    pid = server_pid()
    cam = Participant("cam")
    players = []
    try:
        await cam.connect()
        await cam.join("bench")
        publication = await cam.publish("bench", video="VP8", audio="opus", size=(640, 480), texture=True)
        url = f"rtmp://127.0.0.1:1935/bench/{publication.stream}"
        await asyncio.sleep(3)
        result["cpu"] = {"0": await measure(pid, 15)}
        for count in (1, 4):
            while len(players) < count:
                players.append(await rtmp_player(url))
            await asyncio.sleep(5)
            result["cpu"][str(count)] = await measure(pid, 15)
        with open(sys.argv[sys.argv.index("--log") + 1], errors="replace") as f:
            result["transcodes_started"] = f.read().count("VP8 → H.264 transcode started")
    finally:
        stop(*players)
        await cam.close()


async def scenario_record(result, seconds="15"):
    """Server CPU and memory of a 640x480 VP8 + Opus publish from aiortc, without and then with `record: true`
    (one at a time, the same content): the difference is what a recording costs (depacketizing, Matroska, disk)."""
    pid = server_pid()
    result["cpu"], result["rss_mib"] = {}, {}
    for record in (False, True):
        cam = Participant("cam")
        try:
            await cam.connect()
            await cam.join("bench")
            await cam.publish("bench", video="VP8", audio="opus", size=(640, 480), texture=True, record=record)
            await asyncio.sleep(3)
            key = "recorded" if record else "plain"
            result["cpu"][key] = await measure(pid, int(seconds))
            result["rss_mib"][key] = round(rss_mib(pid), 1)
        finally:
            await cam.close()
        await asyncio.sleep(2)


async def scenario_many(result, count="20", seconds="20"):
    count, seconds = int(count), int(seconds)
    pid = server_pid()
    publishers, players = [], []
    try:
        for i in range(count):
            publishers.append(await loop_publisher(f"rtmp://127.0.0.1:1935/room{i}/enc{i}"))
        await aiortc_room.wait_health(lambda h: h["streams"] == count, 30, f"{count} RTMP streams live")
        await asyncio.sleep(2)
        for i in range(count):
            players.append(await rtmp_player(f"rtmp://127.0.0.1:1935/room{i}/enc{i}", seconds=seconds))
        cpu = await measure(pid, seconds - 2)
        frames = []
        for p in players:
            _, err = await asyncio.wait_for(p.communicate(), seconds + 20)
            found = re.findall(r"frame=\s*(\d+)", err.decode(errors="replace"))
            frames.append(int(found[-1]) if found else 0)
        h = await aiortc_room.health()
        result.update({"publishers": count, "duration": seconds, "cpu": cpu, "rss_mib": round(rss_mib(pid), 1),
                       "frames": frames, "expected_frames": 30 * seconds,
                       "streams": h["streams"], "participants": h["participants"]})
    finally:
        stop(*publishers, *players)


# --- latency ---

NTP_UNIX = 2_208_988_800


async def scenario_latency(result, seconds="20"):
    from aiortc import rtcrtpreceiver
    from aiortc.rtp import RtcpSrPacket
    seconds = int(seconds)
    arrivals, reports = [], {}
    receiver = rtcrtpreceiver.RTCRtpReceiver
    original_rtp, original_rtcp = receiver._handle_rtp_packet, receiver._handle_rtcp_packet

    async def on_rtp(self, packet, arrival_time_ms):
        arrivals.append((packet.ssrc, self.track.kind, packet.timestamp, packet.marker, time.time()))
        return await original_rtp(self, packet, arrival_time_ms)

    async def on_rtcp(self, packet):
        if isinstance(packet, RtcpSrPacket):
            ntp = packet.sender_info.ntp_timestamp
            reports.setdefault(packet.ssrc, []).append((time.time(), (ntp >> 32) + (ntp & 0xFFFFFFFF) / 2**32 - NTP_UNIX,
                                                        packet.sender_info.rtp_timestamp))
        return await original_rtcp(self, packet)

    receiver._handle_rtp_packet, receiver._handle_rtcp_packet = on_rtp, on_rtcp
    midnight_us = int(time.mktime(time.localtime()[:3] + (0, 0, 0, 0, 0, -1))) * 1_000_000
    wallclock = ["-vf", f"settb=1/1000,setpts=(RTCTIME-{midnight_us})/(TB*1000000)", "-enc_time_base:v", "1:1000"]
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "baseline", "-g", "30",
              "-pix_fmt", "yuv420p", "-b:v", "1000k"]
    audio = ["-af", f"asettb=1/1000,asetpts=(RTCTIME-{midnight_us})/(TB*1000000)", "-c:a", "aac", "-b:a", "96k", "-ac", "2"]

    def publisher(url, with_audio):
        # -t on the inputs: on the output, with timestamps shifted to the wall clock, it would end at once.
        limit = ["-t", str(seconds + 6)]
        sources = ["-re", "-f", "lavfi", *limit, "-i", "testsrc=size=640x360:rate=30"]
        if with_audio:
            sources += ["-re", "-f", "lavfi", *limit, "-i", "sine=frequency=440:sample_rate=48000"]
        return asyncio.create_subprocess_exec(
            "ffmpeg", "-hide_banner", "-loglevel", "error", *sources, *wallclock, *encode,
            *(audio if with_audio else ["-an"]), "-f", "flv", url,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)

    # Parley: RTMP in, WebRTC out.
    viewer = Participant("viewer")
    encoder = None
    try:
        await viewer.connect()
        await viewer.join("latency")
        encoder = await publisher("rtmp://127.0.0.1:1935/latency/encoder", True)
        stream = await viewer.wait_published("latency", "encoder", timeout=15)
        playback = await viewer.play("latency", stream["id"], audio=True)
        await asyncio.sleep(seconds)
        del playback
    finally:
        stop(encoder)
        await viewer.close()
        receiver._handle_rtp_packet, receiver._handle_rtcp_packet = original_rtp, original_rtcp
    # Parley's reports map the publisher's timestamps onto the wall clock from its first frame's arrival; that
    # frame's own trip (encoder to Parley) is added back, from the server's log of the anchor.
    with open(sys.argv[sys.argv.index("--log") + 1], errors="replace") as f:
        line = next((l for l in f if "RTMP clock anchored" in l), "")
    ms, unix = re.search(r"rtmpMs=(\d+)", line), re.search(r"unixTime=([\d.]+)", line)
    if not ms or not unix:
        raise ScenarioError("no 'RTMP clock anchored' line in the server's log")
    first_trip = float(unix.group(1)) - (midnight_us / 1e6 + int(ms.group(1)) / 1000)
    result["parley_first_frame_trip_ms"] = round(first_trip * 1000, 1)
    result["parley"] = latencies(arrivals, reports, offset_ms=first_trip * 1000)

    # nginx-rtmp: RTMP in, RTMP out (its player's demuxer stamps arrivals; the pts are the wall clock).
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e"))
    from rtmp_room import Nginx
    nginx = Nginx(port=19360)
    encoder = player = None
    try:
        await nginx.start()
        encoder = await publisher(f"rtmp://127.0.0.1:{nginx.port}/live/lat", True)
        await asyncio.sleep(1)
        player = await asyncio.create_subprocess_exec(
            "ffmpeg", "-hide_banner", "-fflags", "nobuffer", "-flags", "low_delay", "-analyzeduration", "500000",
            "-debug_ts", "-i", f"rtmp://127.0.0.1:{nginx.port}/live/lat", "-t", str(seconds), "-map", "0:v", "-c", "copy",
            "-f", "null", "-", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        samples = []
        midnight = midnight_us / 1e6
        while True:
            line = await asyncio.wait_for(player.stderr.readline(), seconds + 15)
            if not line:
                break
            found = re.search(rb"demuxer -> ist_index:\d+ type:video .*?pkt_pts:(\d+)", line)
            if found:
                samples.append((time.time() - midnight) * 1000 - int(found.group(1)))
        result["nginx"] = {"video": summary(samples[30:])}
    finally:
        stop(encoder, player)
        await nginx.stop()


def summary(values):
    if not values:
        return None
    values = sorted(values)
    return {"n": len(values), "median_ms": round(statistics.median(values), 1),
            "p95_ms": round(values[int(len(values) * 0.95) - 1], 1), "max_ms": round(values[-1], 1)}


def latencies(arrivals, reports, offset_ms=0.0):
    """Per track: arrival − the publisher's timestamp of each packet (video: a frame's last packet), through the
    latest Sender Report before it. The first second is left out (the keyframe cache's frame, the jitter of the
    start)."""
    out = {}
    start = min((a[4] for a in arrivals), default=0) + 1
    for kind, rate in (("video", 90000), ("audio", 48000)):
        samples = []
        for ssrc, track, ts, marker, at in arrivals:
            if track != kind or at < start or (kind == "video" and not marker):
                continue
            srs = [r for r in reports.get(ssrc, []) if r[0] <= at]
            if not srs:
                continue
            _, ntp, rtp = srs[-1]
            delta = ((ts - rtp + 2**31) % 2**32 - 2**31) / rate
            samples.append((at - (ntp + delta)) * 1000 + offset_ms)
        out[kind] = summary(samples)
    return out


if __name__ == "__main__":
    aiortc_room.run_main({"latency": scenario_latency, "players": scenario_players, "vp8": scenario_vp8,
                          "many": scenario_many, "record": scenario_record}, default_timeout=180)
