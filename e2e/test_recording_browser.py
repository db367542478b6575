"""Recording in the Conference app: a Chromium user ticks Record, talks for a few seconds and unticks it; the link
to the file appears, and a <video> in the page plays the downloaded recording and seeks in it."""
import json
import subprocess
import time
import urllib.request

from conftest import OUTPUT, AppUser, wait_for


def test_the_conference_app_records_and_the_browser_plays_and_seeks_the_file(parley_server, browser_factory):
    user = AppUser(browser_factory(), "recorder")
    user.open(parley_server.base + "/apps/conference/")
    user.join()
    user.joined()
    wait_for(lambda: user.text("#localStatus") == "PUBLISHING", what="the camera publishing")
    user.find("#recordToggle").click()  # published again, recorded
    wait_for(lambda: user.js("return window.app.camera?.getRecordInfo()?.recordName ?? null") is not None
             and user.text("#localStatus") == "PUBLISHING", what="a recorded publish")
    time.sleep(5)
    user.find("#recordToggle").click()  # the recorded stream ends; the camera goes on unrecorded
    wait_for(lambda: user.js("return document.querySelectorAll('#recordings a').length") == 1, what="the recording's link")
    href = user.js("return document.querySelector('#recordings a').getAttribute('href')")
    assert href.startswith("/client/records/stream-") and href.endswith(".webm"), href
    # The file is finished a moment after the stream ends: the page's own <video> loads it, plays and seeks.
    result = user.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const href = arguments[0];
        (async () => {
          for (let i = 0; i < 50; i++) {
            const r = await fetch(href, { method: "HEAD" });
            if (r.ok) break;
            await new Promise((ok) => setTimeout(ok, 200));
          }
          const video = document.createElement("video");
          video.muted = true;
          document.body.append(video);
          const once = (e) => new Promise((ok, fail) => { video.addEventListener(e, ok, { once: true });
                                                        video.addEventListener("error", () => fail(video.error?.message || "error"), { once: true }); });
          video.src = href;
          await once("loadedmetadata");
          const duration = video.duration;
          await video.play();
          await new Promise((ok) => setTimeout(ok, 500));
          const played = video.currentTime;
          video.currentTime = 2.5;
          await once("seeked");
          done({ duration, played, seekedTo: video.currentTime, width: video.videoWidth });
        })().catch((e) => done({ error: String(e) }));
    """, href)
    assert "error" not in result, result
    assert 4.0 < result["duration"] < 7.5, result  # ~5 s recorded
    # The file Chromium's publish made: both tracks, starting together (A/V under 40 ms), every frame decodable.
    with urllib.request.urlopen(parley_server.base + href, timeout=10) as response:
        path = OUTPUT / "recording-chromium.webm"
        path.write_bytes(response.read())
    info = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,start_time", "-of", "json",
                                      str(path)], capture_output=True, text=True, timeout=60).stdout)
    assert sorted(s["codec_name"] for s in info["streams"]) == ["opus", "vp8"], info
    starts = [float(s["start_time"]) for s in info["streams"]]
    assert max(starts) - min(starts) < 0.040, starts
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-enc_time_base:v", "1:1000", "-fps_mode", "passthrough",
                              "-f", "null", "-"], capture_output=True, text=True, timeout=60)
    assert decoded.returncode == 0 and decoded.stderr == "", decoded.stderr[-800:]
    assert result["played"] > 0.2, result
    assert abs(result["seekedTo"] - 2.5) < 0.5, result
    assert result["width"] == 640, result
