"""Fixtures for end-to-end tests: a real Parley server on a free port, and headless Chromium browsers."""
import json
import os
import shutil
import signal
import socket
import subprocess
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
    def __init__(self, base, port, process, log_path):
        self.base, self.port, self.process, self.log_path = base, port, process, log_path

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    def health(self):
        with urllib.request.urlopen(f"{self.base}/health", timeout=2) as r:
            return json.load(r)


@pytest.fixture
def parley_server(request):
    binary = Path(os.environ.get("PARLEY_BIN", REPO / ".build" / "debug" / "parley"))
    if not binary.is_absolute():
        binary = REPO / binary
    assert binary.exists(), f"{binary} is missing: build first (make test does)"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = OUTPUT / f"server-{request.node.name}.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [str(binary), "--host", "127.0.0.1", "--port", str(port), "--web-root", str(REPO / "Web"), "--log-level", "info",
         # Media on a free UDP port, offered to browsers on loopback only: no packet leaves this machine.
         "--media-port", "0", "--announced-ip", "127.0.0.1"],
        stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", port, process, log_path)

    def up():
        if process.poll() is not None:
            raise AssertionError(f"parley exited with {process.returncode}; see {log_path}")
        try:
            return server.health()["status"] == "ok"
        except OSError:
            return False

    wait_for(up, timeout=30, what="the server's /health")
    yield server
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


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
