"""An RTMP encoder in the Conference app: ffmpeg publishes H.264 + AAC over RTMP into the room a Chromium user is
in; the user sees the encoder join, and its video plays and its audio arrives (as Opus) in the page."""
import subprocess

from conftest import AppUser, wait_for


def test_an_rtmp_encoder_plays_in_the_conference_app(parley_server, browser_factory):
    user = AppUser(browser_factory(), "viewer")
    user.open(parley_server.base + "/apps/conference/")
    user.join()
    user.joined()
    room = user.invite().split("roomName=", 1)[1]
    encoder = subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-t", "25", "-i", "testsrc=size=640x360:rate=30",
         "-f", "lavfi", "-t", "25", "-i", "sine=frequency=440:sample_rate=48000", "-c:v", "libx264", "-preset", "ultrafast",
         "-tune", "zerolatency", "-profile:v", "baseline", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k",
         "-f", "flv", f"rtmp://127.0.0.1:{parley_server.rtmp_port}/{room}/encoder"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: "encoder joined" in user.system_lines(), what="the encoder joining the room")
        stats = user.sees_playing("encoder", display="rtmp")
        assert stats["frameWidth"] == 640, stats
        first = stats["audioPackets"]
        wait_for(lambda: user.stats("encoder", "rtmp")["audioPackets"] > first + 50, what="the encoder's audio arriving")
        user.screenshot("conference-rtmp", element="#remoteVideos figure video")
    finally:
        encoder.kill()
        encoder.wait()
    # The encoder gone: its tile goes and the page says it left.
    wait_for(lambda: "encoder left" in user.system_lines(), timeout=20, what="the encoder leaving")
    wait_for(lambda: user.tiles() == [], what="its video removed")


def test_ffmpeg_and_rtmpdump_play_a_chromium_participants_camera_over_rtmp(parley_server, browser_factory, tmp_path):
    """Chromium publishes VP8 (its default) in the Conference app; over RTMP it plays as H.264 + AAC, transcoded
    once for both players."""
    import json
    user = AppUser(browser_factory(), "camuser")
    user.open(parley_server.base + "/apps/conference/")
    user.join()
    user.joined()
    room = user.invite().split("roomName=", 1)[1]
    url = f"rtmp://127.0.0.1:{parley_server.rtmp_port}/{room}/camuser"

    def probe():
        out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height,sample_rate",
                              "-of", "json", url], capture_output=True, text=True, timeout=30)
        return {s["codec_name"]: s for s in json.loads(out.stdout or "{}").get("streams", [])}, out.stderr
    # The publish is live once the page shows the camera; the first probe may come before that.
    found = {}
    wait_for(lambda: found.update(probe()[0]) or set(found) == {"h264", "aac"}, timeout=30, what="ffprobe seeing H.264 + AAC")
    assert (found["h264"]["width"], found["h264"]["height"]) == (640, 480), found
    assert found["aac"]["sample_rate"] == "48000", found
    dump = tmp_path / "camuser.flv"
    subprocess.run(["timeout", "-k", "2", "5", "rtmpdump", "-q", "-r", url, "--live", "-o", str(dump)], timeout=15)
    dumped = subprocess.run(["ffmpeg", "-hide_banner", "-i", str(dump), "-f", "null", "-"], capture_output=True, text=True, timeout=30)
    frames = [int(x) for x in __import__("re").findall(r"frame=\s*(\d+)", dumped.stderr)]
    assert frames and frames[-1] >= 60, dumped.stderr[-800:]
    # Chromium sent VP8: the players got it re-encoded.
    assert "VP8 → H.264 transcode started" in open(parley_server.log_path, errors="replace").read()
