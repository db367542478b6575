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
