"""`make install PREFIX=…`: a binary with the Swift runtime linked in, and the web apps beside it; run from
anywhere (not the source tree), it serves the apps and the SDK."""
import os
import subprocess
import urllib.request

from conftest import REPO, free_port, stop_process, wait_for


def test_an_installed_binary_runs_from_anywhere_and_serves_its_apps(tmp_path):
    prefix = tmp_path / "usr"
    # Unoptimized (STATIC_CONFIG=debug): the same layout and linking as a release install, built quicker (5.3 minutes
    # cold in CI, against ~8); `make test` has a budget.
    make = subprocess.run(["make", "--no-print-directory", "install", f"PREFIX={prefix}", "STATIC_CONFIG=debug"], cwd=REPO,
                          capture_output=True, text=True, timeout=1800)
    assert make.returncode == 0, make.stdout[-2000:] + make.stderr[-2000:]
    binary = prefix / "bin" / "parley"
    assert (prefix / "share" / "parley" / "web" / "sdk" / "parley.js").exists()
    assert not (prefix / "share" / "parley" / "web" / "sdk" / "test").exists(), "the SDK's tests are not installed"
    libraries = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    assert "libswiftCore" not in libraries and "libFoundation" not in libraries, libraries

    port = free_port()
    server = subprocess.Popen([str(binary), "--host", "127.0.0.1", "--port", str(port), "--media-port", "0",
                               "--rtmp-port", "0", "--announced-ip", "127.0.0.1", "--record-dir", str(tmp_path / "records")],
                              cwd="/", env={k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def page(path):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                    return r.status, r.read()
            except OSError:
                return None
        wait_for(lambda: page("/health"), timeout=30, what="the installed server")
        status, sdk = page("/sdk/parley.js")
        assert status == 200 and b"export const SESSION_STATUS" in sdk
        status, app = page("/apps/conference/")
        assert status == 200 and b"<html" in app.lower()
    finally:
        stop_process(server)
