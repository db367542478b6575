"""A "laptop" for end-to-end tests: a network namespace joined to this one by a veth pair, with its own Chromium,
whose link the test can take down and up (a laptop closed and opened again).

    this namespace   10.99.0.1/30  slpA ==veth== slpB  10.99.0.2/30   the laptop's namespace (no default route)

The server listens on 10.99.0.1 (a local address here, so browsers of this namespace reach it too, even while the
link is down). The laptop's Chromium and chromedriver run in its namespace; Selenium reaches that chromedriver
through a Unix socket (a file, so it crosses namespaces) and not over the link that goes down: a forwarder
thread here (TCP on 127.0.0.1 → the socket) and `ns_bridge.py` there (the socket → chromedriver's port).
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from conftest import CHROMIUM_FLAGS, free_port, wait_for
from ns_bridge import forward

HERE = Path(__file__).resolve().parent
HOST_IP, LAPTOP_IP = "10.99.0.1", "10.99.0.2"


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


class SleepyHost:
    def __init__(self):
        self.name = f"parley-laptop-{os.getpid()}"
        self.tmp = tempfile.mkdtemp(prefix="parley-laptop-")
        self.processes = []
        self.drivers = []
        self.listener = None

    def __enter__(self):
        _ip("netns", "del", self.name, check=False)
        _ip("link", "del", "slpA", check=False)
        _ip("netns", "add", self.name)
        _ip("link", "add", "slpA", "type", "veth", "peer", "name", "slpB", "netns", self.name)
        _ip("addr", "add", f"{HOST_IP}/30", "dev", "slpA")
        _ip("link", "set", "slpA", "up")
        _ip("-n", self.name, "link", "set", "lo", "up")
        _ip("-n", self.name, "addr", "add", f"{LAPTOP_IP}/30", "dev", "slpB")
        _ip("-n", self.name, "link", "set", "slpB", "up")
        return self

    def __exit__(self, *exc):
        for driver in self.drivers:
            try:
                driver.quit()
            except Exception:
                pass
        for process in self.processes:
            process.kill()
            process.wait()
        if self.listener:
            self.listener.close()
        _ip("netns", "del", self.name, check=False)  # takes slpB, and so slpA, with it
        _ip("link", "del", "slpA", check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def link(self, up):
        """The laptop's side of the link up or down (down: as if its lid closed, for everything but Selenium)."""
        _ip("-n", self.name, "link", "set", "slpB", "up" if up else "down")

    def browser(self, origin):
        """A Chromium in the laptop's namespace, driven from here. `origin` (http://10.99.0.1:PORT) counts as
        secure, so the page gets its (fake) camera as it would on https://."""
        from selenium import webdriver

        port = 9515  # chromedriver's port inside the laptop's own namespace: nothing else listens there
        path = os.path.join(self.tmp, "chromedriver.sock")
        run = ["ip", "netns", "exec", self.name]
        self.processes.append(subprocess.Popen(
            [*run, "/usr/bin/chromedriver", f"--port={port}"], env={**os.environ, "TMPDIR": self.tmp},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.processes.append(subprocess.Popen([*run, sys.executable, str(HERE / "ns_bridge.py"), path, str(port)]))
        wait_for(lambda: os.path.exists(path), timeout=10, what="the bridge into the laptop's namespace")

        self.listener = socket.create_server(("127.0.0.1", free_port()))
        threading.Thread(target=forward, args=(self.listener, lambda: _unix(path)), daemon=True).start()
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--unsafely-treat-insecure-origin-as-secure={origin}")
        url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        driver = wait_for(lambda: _remote(webdriver, url, options), timeout=20, interval=0.5,
                          what="chromedriver in the laptop's namespace")
        driver.set_script_timeout(30)
        self.drivers.append(driver)
        return driver


def _unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def _remote(webdriver, url, options):
    try:
        return webdriver.Remote(command_executor=url, options=options)
    except Exception:
        return None
