"""The Two Way Video Chat & Screen app (/apps/two-way-video-chat-screen/) in real browsers, one per user: the call,
then Share: the other side sees the screen beside the cameras; Stop sharing, or the browser's own stop, removes it
for both; leaving takes camera and screen away. Chromium's fake-media flags make getDisplayMedia return a
synthetic 800×600 screen without a picker."""
from conftest import AppUser, stop_process, wait_for

RECT = "const r = document.querySelector(arguments[0]).getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]"


def test_screen_sharing_call(parley_server, browser_factory):
    alice = AppUser(browser_factory(), "alice")
    alice.open(parley_server.base + "/apps/two-way-video-chat-screen/")
    assert alice.text("#shareBtn") == "Share screen" and alice.js("return document.querySelector('#shareBtn').disabled")
    alice.join()
    alice.joined()
    bob = AppUser(browser_factory(), "bob")
    bob.open(alice.invite())
    bob.join()
    bob.joined()
    bob.sees_playing("alice")
    alice.sees_playing("bob")
    bob.send("can you show me your screen?")
    wait_for(lambda: alice.chat() == [("bob", "can you show me your screen?")], what="bob's message at alice")

    # Alice shares her screen: bob sees it beside the cameras, and his camera view goes on.
    alice.find("#shareBtn").click()
    wait_for(lambda: alice.text("#shareBtn") == "Stop sharing" and alice.text("#localScreenStatus") == "PUBLISHING",
             timeout=20, what="alice sharing")
    stats = bob.sees_playing("alice", "screen", container="#remoteScreens")
    # Chromium's synthetic screen is 800×600 (a sender may scale down under load, so allow some room).
    assert 400 <= stats["frameWidth"] <= 800, stats
    assert 400 <= bob.video("alice", "screen", "#remoteScreens")["width"] <= 800
    assert [t[:2] for t in bob.tiles()] == [("alice", "camera")]  # the screen is not among the cameras
    screen, cams = bob.js(RECT, "#remoteScreens figure"), bob.js(RECT, "#remoteVideos figure")
    assert screen[2] <= cams[0] and screen[1] < cams[3] and cams[1] < screen[3], (screen, cams)  # side by side
    bob.sees_playing("alice")
    bob.screenshot("two-way-video-chat-screen", element="#remoteScreens video")

    # Stop sharing: gone for both.
    alice.find("#shareBtn").click()
    wait_for(lambda: alice.text("#shareBtn") == "Share screen", what="alice's button back to Share")
    wait_for(lambda: bob.tiles("#remoteScreens") == [], what="the screen gone at bob")
    assert alice.js("return document.querySelector('#localScreen').closest('figure').hidden")

    # Shared again, then ended with the browser's own "Stop sharing" (the screen track ends): gone for both.
    alice.find("#shareBtn").click()
    bob.sees_playing("alice", "screen", container="#remoteScreens")
    alice.js("app.screen.localStream().getVideoTracks()[0].dispatchEvent(new Event('ended')); return true")
    wait_for(lambda: alice.text("#shareBtn") == "Share screen", what="alice's button back to Share after the browser's stop")
    wait_for(lambda: bob.tiles("#remoteScreens") == [], what="the screen gone at bob after the browser's stop")
    assert alice.notice() == ""

    # Bob shares too: alice sees it; then bob leaves, and his camera and screen both go at alice.
    bob.find("#shareBtn").click()
    alice.sees_playing("bob", "screen", container="#remoteScreens")
    bob.find("#joinBtn").click()
    wait_for(lambda: bob.text("#joinBtn") == "Join" and bob.text("#shareBtn") == "Share screen", what="bob left")
    wait_for(lambda: "bob left" in alice.system_lines() and alice.tiles() == [] and alice.tiles("#remoteScreens") == [],
             what="bob's camera and screen gone at alice")
    wait_for(lambda: parley_server.health()["participants"] == 1, what="the server to count 1")


def test_a_call_with_a_shared_screen_comes_back_within_10_s_of_a_kill_9(parley_server, browser_factory):
    """The server is killed (SIGKILL: no close frame, no goodbye) in the middle of a call where alice shares her
    screen. Both pages say the connection is lost; once a new server is up on the same port they reconnect, rejoin,
    publish the same camera and screen again (the SDK keeps them: no new capture) and play each other again, all
    within 10 s of the restart."""
    import signal
    import subprocess
    import time

    alice, bob = AppUser(browser_factory(), "alice"), AppUser(browser_factory(), "bob")
    alice.open(parley_server.base + "/apps/two-way-video-chat-screen/")
    alice.join()
    alice.joined()
    bob.open(alice.invite())
    bob.join()
    bob.joined()
    alice.find("#shareBtn").click()
    bob.sees_playing("alice", "screen", container="#remoteScreens")
    bob.sees_playing("alice")
    alice.sees_playing("bob")
    for user in (alice, bob):
        user.js("window.__before = { camera: app.camera, screen: app.screen,"
                " track: app.camera.localStream().getVideoTracks()[0] }; return true")

    old = parley_server.process
    old.send_signal(signal.SIGKILL)
    old.wait(timeout=15)
    for user in (alice, bob):
        wait_for(lambda: user.text("#status") == "RECONNECTING" and "reconnecting" in user.notice(),
                 what=f"{user.name} told the connection is lost")
        assert user.tiles() == [] and user.text("#joinBtn") == "Leave"
    # Our own streams wait for the server, with camera and preview on.
    assert alice.text("#localStatus") == "PENDING" and alice.text("#localScreenStatus") == "PENDING"
    time.sleep(2)  # down for a while, as a real restart is

    # The same server again, on the same port (the fixture stops only the first process: this one is ours).
    with open(parley_server.log_path, "a") as log:
        new = subprocess.Popen(old.args, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _healthy(parley_server), timeout=30, what="the restarted server")
        restarted = time.monotonic()
        for user in (alice, bob):
            wait_for(lambda: "Reconnected" in user.system_lines(), timeout=10, what=f"{user.name} back in the room")
        bob.sees_playing("alice", timeout=10)
        bob.sees_playing("alice", "screen", container="#remoteScreens", timeout=10)
        alice.sees_playing("bob", timeout=10)
        back = time.monotonic() - restarted
        print(f"both play each other again {back:.1f} s after the restart")
        assert back <= 10, f"{back:.1f} s after the restart"
        for user in (alice, bob):
            assert user.js("return app.camera === __before.camera && app.screen === __before.screen"
                           " && app.camera.localStream().getVideoTracks()[0] === __before.track"
                           " && __before.track.readyState === 'live'"), f"{user.name}'s camera was captured again"
            user.joined()
            assert "back" in user.notice()
        assert alice.text("#localStatus") == "PUBLISHING" and alice.text("#localScreenStatus") == "PUBLISHING"
        assert [t[:2] for t in bob.tiles()] == [("alice", "camera")] and len(bob.tiles("#remoteScreens")) == 1
        health = parley_server.health()
        assert health["participants"] == 2, health
        alice.send("are you back?")
        wait_for(lambda: bob.chat()[-1:] == [("alice", "are you back?")], what="chat after the restart")
    finally:
        stop_process(new)


def _healthy(server):
    try:
        return server.health()["status"] == "ok"
    except OSError:
        return False
