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

    def make():
        tmp = tempfile.mkdtemp(prefix="parley-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
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
