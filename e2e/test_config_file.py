"""`--config parley.yaml`: settings from a YAML file, under environment variables, under flags; a misspelt key stops
the start with a clear error."""
import subprocess

import pytest

from conftest import REPO, ProtocolClient, start_parley

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # websockets: sync connect outside a with block


def joins(server, room, names):
    """Whether each of `names` gets into `room` (all sockets kept open until the end)."""
    clients, results = [], []
    for name in names:
        client = ProtocolClient(server)
        clients.append(client)
        client.request("connect", username=name)
        reply = client.request("join", room=room)
        results.append(reply["ok"] or reply["error"]["code"])
    for client in clients:
        client.close()
    return results


@pytest.mark.parametrize("env,flags,expected", [
    ({}, [], [True, "room_full"]),                                            # the file: 1 per room
    ({"PARLEY_MAX_PARTICIPANTS": "2"}, [], [True, True, "room_full"]),        # the environment wins over it
    ({"PARLEY_MAX_PARTICIPANTS": "2"}, ["--max-participants", "3"], [True, True, True, "room_full"]),  # a flag wins
])
def test_the_file_is_under_the_environment_and_the_flags(tmp_path, env, flags, expected):
    config = tmp_path / "parley.yaml"
    config.write_text("max-participants: 1\nlog-level: notice\nannounced-ips: [127.0.0.1]\n")
    server, stop = start_parley(f"config-{len(expected)}", extra_args=["--config", str(config), *flags], env=env)
    try:
        assert joins(server, "r", [f"p{i}" for i in range(len(expected))]) == expected
    finally:
        stop()


def test_a_misspelt_key_stops_the_start(tmp_path):
    config = tmp_path / "parley.yaml"
    config.write_text("max-particpants: 4\n")
    run = subprocess.run([str(REPO / ".build" / "debug" / "parley"), "--config", str(config)],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode != 0 and "unknown setting max-particpants" in run.stderr, run.stderr
