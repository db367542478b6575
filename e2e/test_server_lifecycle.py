"""Process-level behaviour of the parley binary: it always stops on SIGTERM."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from conftest import OUTPUT, REPO, free_port, wait_for


def test_sigterm_exits_even_with_an_idle_connection_open():
    # A browser's speculative pre-connect opens TCP and sends nothing; shutdown must not wait for it forever.
    binary = Path(os.environ.get("PARLEY_BIN", REPO / ".build" / "debug" / "parley"))
    binary = binary if binary.is_absolute() else REPO / binary
    port = free_port()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with open(OUTPUT / "server-sigterm.log", "w") as log:
        process = subprocess.Popen([str(binary), "--host", "127.0.0.1", "--port", str(port), "--media-port", "0",
                                    "--announced-ip", "127.0.0.1"], stdout=log, stderr=subprocess.STDOUT)
        try:
            def accepting():
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    return True
                except OSError:
                    return False
            wait_for(accepting, timeout=30, what="the server to listen")
            idle = socket.create_connection(("127.0.0.1", port))
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)
            assert time.monotonic() - started < 12
            idle.close()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
