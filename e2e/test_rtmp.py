"""RTMP participants, with ffmpeg as the encoder and aiortc as the WebRTC viewer (scenarios in rtmp_room.py)."""
from conftest import OUTPUT, REPO, run_namespaced_scenario

SCRIPT = REPO / "e2e" / "rtmp_room.py"


def run(scenario, env=None):
    return run_namespaced_scenario(SCRIPT, f"rtmp-{scenario}", scenario, timeout=60, grace=20, cwd=str(REPO / "e2e"), env=env)


def test_ffmpeg_publishes_into_a_room_and_a_webrtc_viewer_decodes_it():
    check_publish(run("publish"))


def test_with_rtmp_transcode_a_b_frame_stream_is_re_encoded_and_plays():
    r = run("bframes-transcoded", env={"PARLEY_RTMP_TRANSCODE": "1"})
    check_publish(r)
    log = (OUTPUT / "server-rtmp-bframes-transcoded.log").read_text(errors="replace")
    assert "re-encoding without them" in log, log[-2000:]


def check_publish(r):
    playback = r["playback"]
    print(f"{playback['frames']} frames, first video {playback['first_video_after_answer']} s after the answer")
    assert r["joined"] == "encoder"
    assert r["published"]["display"] == "rtmp" and r["published"]["video"] and r["published"]["audio"], r["published"]
    # H.264 repackaged, not transcoded (the answer offers the SPS's own profile); AAC transcoded to Opus.
    assert playback["codecs"] == {"video": "H264/90000", "audio": "opus/48000/2"}, playback["codecs"]
    assert playback["frames"]["video"] >= 60 and playback["sizes"] == [[640, 360]], playback
    # The tone, not silence: ffmpeg's sine source peaks at 1/8 of full scale (-18 dBFS).
    assert playback["frames"]["audio"] >= 100 and playback["audio_peak"] > 2000, playback
    # An encoder cannot be asked for a keyframe: the viewer starts from the keyframe cache, within a second.
    assert playback["first_video_after_answer"] is not None and playback["first_video_after_answer"] < 1.0, playback
    assert r["ffmpeg"]["exit"] == 0, r["ffmpeg"]
    assert r["unpublished"] == "unpublished" and r["left"] == "left", r
    # The viewer has gone too: no session, room or stream record is left behind.
    assert r["health_at_end"] == {"sessions": 0, "rooms": 0, "participants": 0, "streams": 0}, r["health_at_end"]


def test_a_stream_with_b_frames_is_refused_with_advice():
    r = run("bframes")
    assert r["ffmpeg"]["exit"] != 0, r["ffmpeg"]
    assert "bframes=0" in r["ffmpeg"]["stderr"], r["ffmpeg"]["stderr"]
    assert r["published"] == 0
    assert r["health_at_end"] == {"sessions": 1, "rooms": 1, "participants": 1, "streams": 0}, r["health_at_end"]


def test_a_reconnecting_encoder_takes_its_name_over():
    r = run("takeover")
    assert r["old_unpublished"] == "disconnected" and r["old_left"] == "disconnected", r
    assert r["joined"] == ["encoder", "encoder"], r["joined"]
    assert r["playback"]["frames"]["video"] >= 30, r["playback"]
    assert r["first_exit"] != 0 and r["second_exit"] == 0, r


def _codecs(r):
    return {s["codec_name"]: s for s in r["streams"]}


def test_ffmpeg_plays_a_browsers_h264_stream_over_rtmp_with_opus_as_aac():
    r = run("play-h264")
    codecs = _codecs(r)
    assert set(codecs) == {"h264", "aac"}, r
    assert (codecs["h264"]["width"], codecs["h264"]["height"]) == (640, 480), codecs
    assert codecs["aac"]["sample_rate"] == "48000" and codecs["aac"]["channels"] == 2, codecs
    # 3 s of it decode: the player started at a keyframe (asked of the publisher) and kept going.
    assert r["decode_exit"] == 0 and r["decoded_video_frames"] >= 60, r["decode_stderr"]
    # librtmp's player records it too.
    dumped = {s["codec_name"] for s in r["rtmpdump"]["streams"]} if isinstance(r["rtmpdump"]["streams"], list) else set()
    assert dumped == {"h264", "aac"}, r["rtmpdump"]
    # ffprobe and ffmpeg sent C1 with a digest and got (and checked) the digest handshake; rtmpdump sent none.
    log = (OUTPUT / "server-rtmp-play-h264.log").read_text(errors="replace")
    started = [line for line in log.splitlines() if "RTMP player started" in line]
    assert [("handshake=digest" in line) for line in started] == [True, True, False], started


def test_gstreamers_rtmpsink_publishes_h264_and_aac_into_a_room():
    r = run("gstreamer")
    playback = r["playback"]
    assert r["published"]["video"] and r["published"]["audio"], r["published"]
    assert playback["codecs"] == {"video": "H264/90000", "audio": "opus/48000/2"}, playback["codecs"]
    assert playback["frames"]["video"] >= 60 and playback["sizes"] == [[640, 360]], playback
    assert playback["frames"]["audio"] >= 100 and playback["audio_peak"] > 1000, playback


def test_an_rtmp_encoders_stream_plays_over_rtmp():
    r = run("play-rtmp")
    codecs = _codecs(r)
    assert set(codecs) == {"h264", "aac"} and codecs["h264"]["width"] == 640 and codecs["h264"]["height"] == 360, r
    assert r["decode_exit"] == 0 and r["decoded_video_frames"] >= 60, r["decode_stderr"]


def test_a_browsers_vp8_stream_plays_over_rtmp_transcoded_once_for_all_players():
    r = run("play-vp8")
    codecs = _codecs(r)
    assert set(codecs) == {"h264", "aac"}, r
    assert (codecs["h264"]["width"], codecs["h264"]["height"]) == (640, 480), codecs
    assert codecs["h264"]["profile"] == "Constrained Baseline", codecs
    assert r["decode_exit"] == 0 and r["decoded_video_frames"] >= 60, r["decode_stderr"]
    assert r["second_player"]["exit"] == 0 and r["second_player"]["frames"] >= 60, r["second_player"]
    # Both players at once, one transcode; it ended with them.
    log = (OUTPUT / "server-rtmp-play-vp8.log").read_text(errors="replace")
    assert log.count("VP8 → H.264 transcode started") == 1, log[-3000:]
    assert log.count("VP8 → H.264 transcode ended") == 1, log[-3000:]


def test_publishes_that_cannot_join_are_refused_with_bad_name():
    r = run("bad-names")
    assert r["taken"]["exit"] != 0 and "already taken" in r["taken"]["stderr"], r["taken"]
    assert r["bad_room"]["exit"] != 0 and "Room name must be" in r["bad_room"]["stderr"], r["bad_room"]
    assert r["health_at_end"] == {"sessions": 1, "rooms": 1, "participants": 1, "streams": 0}, r["health_at_end"]
    assert r["alice_events"] == [], r["alice_events"]  # the refused encoders never showed in the room


def test_republish_pushes_a_browsers_stream_to_nginx_rtmp_and_reconnects():
    # nginx listens on 127.0.0.1: pushes there need --republish-local (PARLEY_REPUBLISH_LOCAL=1).
    r = run("republish", env={"PARLEY_REPUBLISH_LOCAL": "1"})
    for key in ("first", "again"):
        codecs = _codecs(r[key])
        assert set(codecs) == {"h264", "aac"}, (key, r[key])
        assert (codecs["h264"]["width"], codecs["h264"]["height"]) == (640, 480), codecs
        assert r[key]["decode_exit"] == 0 and r[key]["decoded_video_frames"] >= 60, r[key]["decode_stderr"]
    assert r["retry"]["retryIn"] >= 1 and r["retry"]["message"], r["retry"]
    assert r["attempts"] >= 2, r
    assert r["stopped"]["reason"] == "stopped", r["stopped"]
    assert r["stopped"]["statuses"][:2] == ["connecting", "publishing"] and "retrying" in r["stopped"]["statuses"], r["stopped"]
    assert r["after_stop_probe_exit"] != 0, "nginx still has the stream after the stop"
    assert r["source_ended"] == "unpublished", r
    assert r["codec_while_watched"] == "H264/90000" and r["codec_unwatched"] == "VP8/90000", r
    vp8 = _codecs(r["vp8"])
    assert set(vp8) == {"h264", "aac"} and (vp8["h264"]["width"], vp8["h264"]["height"]) == (640, 480), r["vp8"]
    assert r["vp8"]["decode_exit"] == 0 and r["vp8"]["decoded_video_frames"] >= 60, r["vp8"]["decode_stderr"]
    assert r["refusals"] == {"bad_url": "bad_url", "no_key": "bad_url", "g711": "unsupported_codec",
                             "unknown": "unknown_stream", "stop_unknown": "unknown_republish"}, r["refusals"]
    assert r["health_at_end"]["streams"] == 0 and r["health_at_end"]["transcodes"] == 0, r["health_at_end"]


def test_a_wcs_publish_with_rtmp_url_is_pushed_to_nginx_rtmp():
    r = run("wcs-rtmp-url", env={"PARLEY_REPUBLISH_LOCAL": "1"})
    codecs = _codecs(r["played"])
    assert set(codecs) == {"h264", "aac"} and (codecs["h264"]["width"], codecs["h264"]["height"]) == (640, 480), r["played"]
    assert r["played"]["decode_exit"] == 0 and r["played"]["decoded_video_frames"] >= 60, r["played"]["decode_stderr"]
    assert r["after_unpublish_probe_exit"] != 0, "nginx still has the stream after unPublishStream"


def test_garbage_and_silent_connections_are_closed_and_the_server_carries_on():
    import json
    import os
    import socket
    import subprocess
    import time
    import urllib.request
    from pathlib import Path

    from conftest import OUTPUT, free_port, wait_for
    binary = Path(os.environ.get("PARLEY_BIN", REPO / ".build" / "debug" / "parley"))
    binary = binary if binary.is_absolute() else REPO / binary
    port, rtmp = free_port(), free_port()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with open(OUTPUT / "server-rtmp-bad-input.log", "w") as log:
        process = subprocess.Popen([str(binary), "--host", "127.0.0.1", "--port", str(port), "--media-port", "0",
                                    "--announced-ip", "127.0.0.1", "--rtmp-port", str(rtmp)], stdout=log, stderr=subprocess.STDOUT)
        try:
            def health():
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                        return json.load(r)
                except OSError:
                    return None
            wait_for(lambda: health() is not None, timeout=30, what="the server")
            silent = socket.create_connection(("127.0.0.1", rtmp))
            # Not RTMP at all: closed at once.
            garbage = socket.create_connection(("127.0.0.1", rtmp))
            garbage.sendall(b"GET / HTTP/1.1\r\n" + b"x" * 2000)
            garbage.settimeout(3)
            assert garbage.recv(100) == b""
            # A handshake that never finishes: closed after 10 s without a byte.
            started = time.monotonic()
            silent.settimeout(15)
            assert silent.recv(100) == b""
            assert 9 < time.monotonic() - started < 13
            h = health()
            assert h["status"] == "ok" and h["sessions"] == 0 and h["streams"] == 0, h
        finally:
            process.terminate()
            process.wait(timeout=15)


def test_rtmps_uses_the_https_certificate_and_refuses_plain_rtmp():
    import json
    import os
    import ssl
    import subprocess
    import time
    import urllib.request
    from pathlib import Path

    from conftest import free_port, wait_for
    binary = Path(os.environ.get("PARLEY_BIN", REPO / ".build" / "debug" / "parley"))
    binary = binary if binary.is_absolute() else REPO / binary
    port, rtmp = free_port(), free_port()
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE

    def health():
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/health", context=insecure, timeout=1) as r:
                return json.load(r)
        except OSError:
            return None

    def publish(scheme):
        return subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-t", "4",
             "-i", "testsrc=size=320x240:rate=30", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
             "-g", "30", "-pix_fmt", "yuv420p", "-an", "-f", "flv", f"{scheme}://127.0.0.1:{rtmp}/secure/enc"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    with open(OUTPUT / "server-rtmps.log", "w") as log:
        process = subprocess.Popen([str(binary), "--host", "127.0.0.1", "--port", str(port), "--media-port", "0",
                                    "--announced-ip", "127.0.0.1", "--rtmp-port", str(rtmp), "--tls-self-signed"],
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: health() is not None, timeout=30, what="the server over HTTPS")
            encoder = publish("rtmps")
            wait_for(lambda: (health() or {}).get("streams") == 1, timeout=15, what="the RTMPS stream published")
            assert encoder.wait(timeout=20) == 0, encoder.stderr.read()
            plain = publish("rtmp")
            assert plain.wait(timeout=20) != 0
            wait_for(lambda: (health() or {}).get("sessions") == 0, timeout=15, what="nothing left")
        finally:
            process.terminate()
            process.wait(timeout=15)


def test_an_rtmp_publish_with_record_true_is_recorded():
    import json
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory(prefix="parley-records-") as records:
        r = run("record", env={"PARLEY_RECORD_DIR": records})
    assert r["recordName"] and r["recordName"].startswith("rtmp-room-encoder-") and r["recordName"].endswith(".mkv"), r
    assert r["download"]["status"] == 200 and r["download"]["bytes"] > 50_000, r["download"]
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name,width,height,start_time",
                          "-of", "json", r["path"]], capture_output=True, text=True, timeout=30)
    info = json.loads(out.stdout)
    streams = {s["codec_name"]: s for s in info["streams"]}
    assert set(streams) == {"h264", "opus"} and streams["h264"]["width"] == 640, info
    assert 5.0 < float(info["format"]["duration"]) < 6.6, info["format"]
    starts = [float(s["start_time"]) for s in info["streams"]]
    assert max(starts) - min(starts) < 0.040, starts
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", r["path"], "-enc_time_base:v", "1:1000", "-fps_mode", "passthrough",
                              "-f", "null", "-"], capture_output=True, text=True, timeout=60)
    assert decoded.returncode == 0 and decoded.stderr == "", decoded.stderr[-800:]
