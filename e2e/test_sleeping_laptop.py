"""A laptop that sleeps in the middle of a Conference call: its network namespace's link goes down for 40 s
(sleepy_host.py). The others see it leave within 30 s (the server's ping timeout ends its session and streams);
when the link comes back, its page notices the dead socket by itself (the SDK's heartbeat), reconnects, rejoins,
publishes the same camera again and plays the others, and they play it again."""
import time

from conftest import AppUser, start_parley, wait_for
from sleepy_host import HOST_IP, SleepyHost


def test_a_laptop_asleep_for_40_s_leaves_for_the_others_and_rejoins_on_wake(request, browser_factory):
    with SleepyHost() as laptop:
        server, stop = start_parley(request.node.name, host=HOST_IP, announced_ip=HOST_IP)
        try:
            _scenario(server, laptop, browser_factory)
        finally:
            stop()


def _scenario(server, laptop, browser_factory):
    alice = AppUser(browser_factory(extra_flags=[f"--unsafely-treat-insecure-origin-as-secure={server.base}"]), "alice")
    alice.open(server.base + "/apps/conference/")
    alice.join()
    alice.joined()
    bob = AppUser(laptop.browser(server.base), "bob")
    bob.open(alice.invite())
    bob.join()
    bob.joined()
    bob.sees_playing("alice")
    alice.sees_playing("bob")
    bob.js("window.__camera = app.camera; return true")

    laptop.link(False)
    asleep = time.monotonic()
    wait_for(lambda: "bob left" in alice.system_lines() and alice.tiles() == [], timeout=30,
             what="bob's streams ended at alice")
    gone = time.monotonic() - asleep
    health = server.health()
    assert health["participants"] == 1, health
    print(f"bob left for alice {gone:.1f} s after his link went down")
    time.sleep(max(0.0, 40 - (time.monotonic() - asleep)))

    laptop.link(True)
    woke = time.monotonic()
    wait_for(lambda: "Reconnected" in bob.system_lines() and bob.text("#status") == "ESTABLISHED", timeout=30,
             what="bob reconnected after waking")
    alice.sees_playing("bob", timeout=30)
    bob.sees_playing("alice", timeout=30)
    back = time.monotonic() - woke
    print(f"bob and alice play each other again {back:.1f} s after his link came back")
    assert bob.js("return app.camera === window.__camera"), "bob's camera was published again, not captured again"
    assert [t[:2] for t in alice.tiles()] == [("bob", "camera")] and [t[:2] for t in bob.tiles()] == [("alice", "camera")]
    wait_for(lambda: server.health()["participants"] == 2, what="two participants again")
    bob.send("back from sleep")
    wait_for(lambda: alice.chat()[-1:] == [("bob", "back from sleep")], what="bob's chat after waking")
