"""Fixtures for end-to-end tests: a real Parley server on a free port, and headless Chromium browsers."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "e2e" / "output"

# Flags measured to work headless as root on these machines (see the team's TESTING.md).
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns", "--no-first-run", "--disable-dev-shm-usage",
    "--window-size=1280,720",
]


def wait_for(condition, timeout=15.0, what="condition", interval=0.05):
    """Polls `condition` until it returns a truthy value; fails with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, base, port, process, log_path, rtmp_port=None):
        self.base, self.port, self.process, self.log_path = base, port, process, log_path
        self.rtmp_port = rtmp_port

    @property
    def ws_url(self):
        return "ws" + self.base[len("http"):] + "/ws"

    def health(self):
        with urllib.request.urlopen(f"{self.base}/health", timeout=2) as r:
            return json.load(r)


def protocol_socket(server, path="/ws", source=None, origin=None):
    """A WebSocket to the server, from a chosen loopback address (per-address limits count each apart), with an
    Origin header if given (a browser's)."""
    from websockets.sync.client import connect
    sock = socket.socket()
    sock.bind((source or "127.0.0.1", 0))
    sock.connect(("127.0.0.1", server.port))
    return connect(f"ws://127.0.0.1:{server.port}{path}", sock=sock,
                   additional_headers={"Origin": origin} if origin else None)


class ProtocolClient:
    """Parley's protocol over one WebSocket, without a browser: a request returns its reply; the events that come
    meanwhile are kept in `frames`, for `until`."""

    def __init__(self, server, source=None):
        self.ws = protocol_socket(server, source=source)
        self.next_id = 0
        self.frames = []

    def request(self, type_, **fields):
        self.next_id += 1
        request_id = self.next_id
        self.ws.send(json.dumps({"id": request_id, "type": type_, **fields}))
        return self.until(lambda frame: frame.get("id") == request_id)

    def until(self, match, timeout=5):
        """The first frame, kept or new, that `match`es."""
        for frame in self.frames:
            if match(frame):
                return frame
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = json.loads(self.ws.recv(timeout=deadline - time.monotonic()))
            self.frames.append(frame)
            if match(frame):
                return frame
        raise AssertionError(f"no such frame in {self.frames}")

    def close_code(self, timeout=10):
        """Reads until the server closes the socket; its close code."""
        try:
            while True:
                self.ws.recv(timeout=timeout)
        except Exception:
            return self.ws.close_code

    def close(self):
        self.ws.close()


def post_sdp(server, path, body, bearer=None):
    """POSTs an SDP offer (WHIP/WHEP), with a Bearer token if given: (status, headers, body), errors included."""
    import urllib.error
    import urllib.request
    request = urllib.request.Request(server.base + path, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/sdp"})
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def stop_process(process, timeout=10):
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_parley(name, host="127.0.0.1", announced_ip="127.0.0.1", extra_args=(), env=None):
    """Starts a Parley server (the debug build, or $PARLEY_BIN) on free ports and waits for its /health; returns
    (server, stop). Its log is e2e/output/server-NAME.log; its recordings go to a temporary folder."""
    binary = Path(os.environ.get("PARLEY_BIN", REPO / ".build" / "debug" / "parley"))
    if not binary.is_absolute():
        binary = REPO / binary
    assert binary.exists(), f"{binary} is missing: build first (make test does)"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    port, rtmp_port = free_port(), free_port()
    log_path = OUTPUT / f"server-{name}.log"
    log = open(log_path, "w")
    records = tempfile.mkdtemp(prefix="parley-e2e-records-")  # recordings of this test, never in the repository
    process = subprocess.Popen(
        [str(binary), "--host", host, "--port", str(port), "--web-root", str(REPO / "Web"), "--log-level", "info",
         # Media on a free UDP port, offered to browsers on loopback only: no packet leaves this machine.
         "--media-port", "0", "--announced-ip", announced_ip, "--rtmp-port", str(rtmp_port), "--record-dir", records,
         *extra_args],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env} if env else None)
    server = Server(f"http://{host}:{port}", port, process, log_path, rtmp_port)

    def up():
        if process.poll() is not None:
            raise AssertionError(f"parley exited with {process.returncode}; see {log_path}")
        try:
            return server.health()["status"] == "ok"
        except OSError:
            return False

    def stop():
        stop_process(process)
        log.close()
        shutil.rmtree(records, ignore_errors=True)

    try:
        wait_for(up, timeout=30, what="the server's /health")
    except BaseException:
        stop()
        raise
    return server, stop


@pytest.fixture
def parley_server(request):
    server, stop = start_parley(request.node.name)
    yield server
    stop()


@pytest.fixture
def browser_factory():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    created = []

    def make(video_file=None, extra_flags=()):
        tmp = tempfile.mkdtemp(prefix="parley-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        for flag in extra_flags:
            options.add_argument(flag)
        if video_file:
            # The fake camera plays this file instead of its own (very compressible) pattern.
            options.add_argument(f"--use-file-for-fake-video-capture={video_file}")
        # Each browser gets its own TMPDIR (not --user-data-dir, which slows a second browser badly).
        service = Service(executable_path="/usr/bin/chromedriver", env={**os.environ, "TMPDIR": tmp})
        driver = webdriver.Chrome(service=service, options=options)
        driver.set_script_timeout(30)
        created.append((driver, tmp))
        return driver

    yield make
    for driver, tmp in created:
        try:
            driver.quit()
        except Exception:
            pass  # a test may have closed it already
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def busy_video():
    """A camera-like video with real detail: 640x480, 20 fps, 2 s of moving noise (Y4M, looped by Chromium).
    Chromium's built-in fake camera is so compressible that its encoder stays far below the rate the network
    allows, which would hide whether bandwidth feedback works."""
    import numpy as np

    path = os.path.join(os.path.dirname(__file__), "output", "busy-640x480.y4m")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        rng = np.random.default_rng(7)
        width, height, frames = 640, 480, 40
        gradient = np.tile(np.linspace(40, 200, width, dtype=np.float32), (height, 1))
        with open(path + ".tmp", "wb") as f:
            f.write(f"YUV4MPEG2 W{width} H{height} F20:1 Ip A1:1 C420jpeg\n".encode())
            for i in range(frames):
                y = np.roll(gradient, i * 8, axis=1) + rng.normal(0, 25, (height, width))
                f.write(b"FRAME\n")
                f.write(np.clip(y, 0, 255).astype(np.uint8).tobytes())
                chroma = rng.integers(100, 156, (height // 2, width // 2), dtype=np.uint8)
                f.write(chroma.tobytes())
                f.write(chroma[::-1].tobytes())
        os.replace(path + ".tmp", path)
    return path


# ---- The web apps (Web/apps/conference, two-way-video-chat, two-way-video-chat-screen), driven as a user would ----

# Decodes a screenshot (a PNG data URL) in the page itself and measures it: the luminance spread of the whole
# page and of one element's rectangle (e.g. a remote <video>). A blank or black capture has a spread near 0.
_SCREENSHOT_SPREAD = """
const [png, selector] = arguments;
return (async () => {
  const image = new Image();
  image.src = 'data:image/png;base64,' + png;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.width; canvas.height = image.height;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const spread = (x, y, w, h) => {
    const data = context.getImageData(x, y, Math.max(1, w), Math.max(1, h)).data;
    let n = 0, sum = 0, squares = 0;
    for (let i = 0; i < data.length; i += 4) {
      const l = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
      n += 1; sum += l; squares += l * l;
    }
    return Math.sqrt(Math.max(0, squares / n - (sum / n) ** 2));
  };
  const out = { width: image.width, height: image.height, page: spread(0, 0, image.width, image.height) };
  const element = selector && document.querySelector(selector);
  if (element) {
    const r = element.getBoundingClientRect(), k = image.width / window.innerWidth;
    // The middle 60 % of its height: captions overlay the top or bottom of a video.
    out.element = spread(Math.round(r.left * k), Math.round((r.top + 0.2 * r.height) * k), Math.round(r.width * k), Math.round(0.6 * r.height * k));
  }
  return out;
})();
"""

# Inbound video counters of one played stream, found through the app's debugging hook window.app.plays.
_PLAY_STATS = """
const [participant, display] = arguments;
const play = [...window.app.plays.values()].find((p) => p.participant === participant && p.display === display);
const pc = play && play.stream.getPeerConnection();
if (!pc) return null;
return pc.getStats().then((report) => {
  const out = { framesDecoded: 0, frameWidth: 0, audioPackets: 0 };
  report.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') { out.framesDecoded += r.framesDecoded || 0; out.frameWidth = r.frameWidth || 0; }
    if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audioPackets += r.packetsReceived || 0;
  });
  return out;
});
"""


class AppUser:
    """One person using one of the web apps in one browser: only page elements (by their stable ids) are
    touched, except for getStats(), read through the app's documented debugging hook `window.app`."""

    def __init__(self, driver, name):
        self.driver, self.name = driver, name

    def find(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def text(self, css):
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null", css)

    def open(self, url):
        self.driver.get(url)
        wait_for(lambda: self.js("return !!document.querySelector('#joinBtn') && window.app !== undefined"),
                 what=f"{self.name}: the app to load")

    def join(self, login=None):
        field = self.find("#login")
        field.clear()
        field.send_keys(login or self.name)
        self.find("#joinBtn").click()

    def joined(self, timeout=20):
        """Waits for what the user sees once in the room: ESTABLISHED, Leave, an invite link, our camera live."""
        wait_for(lambda: self.text("#status") == "ESTABLISHED" and self.text("#joinBtn") == "Leave"
                 and "roomName=" in (self.text("#inviteAddress") or ""), timeout=timeout, what=f"{self.name} in the room")
        wait_for(lambda: self.text("#localStatus") == "PUBLISHING", timeout=timeout,
                 what=f"{self.name}'s camera publishing (local status: {self.text('#localStatus')})")
        wait_for(lambda: self.js("return document.querySelector('#localVideo').videoWidth") > 0, timeout=timeout,
                 what=f"{self.name}'s own camera showing")

    def invite(self):
        return self.text("#inviteAddress")

    def notice(self):
        return self.text("#notice") if self.js("return !document.querySelector('#notice').hidden") else ""

    def send(self, text):
        field = self.find("#message")
        field.send_keys(text)
        self.find("#sendBtn").click()

    def chat(self):
        """The chat as shown: (sender, text) of each message, system lines left out."""
        return [tuple(x) for x in self.js(
            "return [...document.querySelectorAll('#chat li[data-from]')]"
            ".map((li) => [li.dataset.from, li.querySelector('.text').textContent])")]

    def system_lines(self):
        return self.js("return [...document.querySelectorAll('#chat li.system')].map((li) => li.textContent)")

    def tiles(self, container="#remoteVideos"):
        """The remote videos shown: (participant, label, status text, mute flags) of each."""
        return [tuple(x) for x in self.js(
            "return [...document.querySelectorAll(arguments[0] + ' figure')].map((f) => [f.dataset.participant,"
            " f.dataset.display, f.querySelector('.status').textContent, f.querySelector('.flags').textContent])",
            container)]

    def video(self, participant, display="camera", container="#remoteVideos"):
        """videoWidth and rendered frames of a remote <video>."""
        return self.js(
            "const f = [...document.querySelectorAll(arguments[0] + ' figure')].find((f) =>"
            " f.dataset.participant === arguments[1] && f.dataset.display === arguments[2]);"
            "const v = f && f.querySelector('video');"
            "return v ? { width: v.videoWidth, height: v.videoHeight, frames: v.getVideoPlaybackQuality().totalVideoFrames,"
            " paused: v.paused } : null", container, participant, display)

    def stats(self, participant, display="camera"):
        return self.js(_PLAY_STATS, participant, display)

    def sees_playing(self, participant, display="camera", container="#remoteVideos", timeout=25):
        """Waits until `participant`'s stream plays here: status PLAYING, videoWidth > 0, and both the frames
        decoded (getStats) and the frames rendered by the <video> increase. Returns the last stats."""
        wait_for(lambda: any(t[0] == participant and t[1] == display and t[2] == "PLAYING" for t in self.tiles(container)),
                 timeout=timeout, what=f"{self.name} playing {participant}'s {display} ({self.tiles(container)})")
        wait_for(lambda: (self.video(participant, display, container) or {}).get("width", 0) > 0, timeout=timeout,
                 what=f"{self.name}: {participant}'s {display} video has a size")
        first, shown = self.stats(participant, display), self.video(participant, display, container)
        wait_for(lambda: self.stats(participant, display)["framesDecoded"] > first["framesDecoded"] + 5
                 and self.video(participant, display, container)["frames"] > shown["frames"] + 5,
                 timeout=timeout, what=f"{self.name}: {participant}'s {display} frames increasing")
        return self.stats(participant, display)

    def screenshot(self, name, element=None):
        """Saves e2e/output/<name>.png and checks it is not blank: the page (and `element`, e.g. a remote
        video, if given) must show a spread of luminance, which a white, grey or black capture does not."""
        OUTPUT.mkdir(parents=True, exist_ok=True)
        self.js("window.scrollTo(0, 0)")
        png = self.driver.get_screenshot_as_base64()
        import base64
        path = OUTPUT / f"{name}.png"
        path.write_bytes(base64.b64decode(png))
        spread = self.js(_SCREENSHOT_SPREAD, png, element)
        print(f"{path.name}: {path.stat().st_size} bytes, luminance spread {spread}")
        assert path.stat().st_size > 20_000, f"{path} is suspiciously small"
        assert spread["page"] > 20, f"{path} looks blank: {spread}"
        if element:
            assert spread.get("element", 0) > 10, f"{element} looks blank in {path}: {spread}"
        return path


def run_namespaced_scenario(script, name, scenario, *args, timeout=90, grace=30, cwd=None, env=None):
    """Runs one scenario of a runner script (aiortc_room.run_main) in a fresh `unshare -n` namespace with its own
    server, and returns its result. Any error there fails the test with the scenario's message and the end of the
    server's log; the result and the server's log are kept in e2e/output/ under `name`."""
    binary = Path(os.environ.get("PARLEY_BIN", REPO / ".build" / "debug" / "parley"))
    binary = binary if binary.is_absolute() else REPO / binary
    assert binary.exists(), f"{binary} is missing: build first (swift build --product parley)"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    log = OUTPUT / f"server-{name}.log"
    command = ["unshare", "-n", sys.executable, str(script), "--binary", str(binary), "--log", str(log),
               "--web-root", str(REPO / "Web"), "--timeout", str(timeout), scenario, *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                               env={**os.environ, **env} if env else None)
    try:
        stdout, stderr = process.communicate(timeout=timeout + grace)
    except subprocess.TimeoutExpired:
        process.terminate()  # the runner stops what it started and prints what it has
        try:
            stdout, stderr = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
    lines = [line[len("RESULT "):] for line in stdout.splitlines() if line.startswith("RESULT ")]
    server_log = log.read_text(errors="replace")[-4000:] if log.exists() else "(no server log)"
    assert lines, f"no result from {scenario} (exit {process.returncode}):\n{stdout[-2000:]}\n{stderr[-4000:]}\n" \
                  f"--- server log ---\n{server_log}"
    result = json.loads(lines[-1])
    (OUTPUT / f"{name}.json").write_text(json.dumps(result, indent=1))
    assert "error" not in result, f"{scenario}: {result['error']}\n{result.get('traceback', '')}\n" \
                                  f"{stderr[-2000:]}\n--- server log ---\n{server_log}"
    assert not result["server_stop"]["killed"], f"the server ignored SIGTERM: {result['server_stop']}"
    return result
