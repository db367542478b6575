"""The Two Way Video Chat & Screen app (/apps/two-way-video-chat-screen/) in real browsers, one per user: the call,
then Share: the other side sees the screen beside the cameras; Stop sharing, or the browser's own stop, removes it
for both; leaving takes camera and screen away. Chromium's fake-media flags make getDisplayMedia return a
synthetic 800×600 screen without a picker."""
from conftest import AppUser, wait_for

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
