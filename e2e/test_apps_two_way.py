"""The Two Way Video Chat app (/apps/two-way-video-chat/) in real browsers, one per user: a call between two people
with the remote camera large and ours small at its bottom left, chat, mute, a choice of microphone, a third
person refused (2 by default), a dropped connection that comes back by itself, a blocked camera, and leaving."""
from conftest import AppUser, wait_for

# Run in the page before Join: keeps the app's WebSocket reachable so that a test can cut it as a network would.
KEEP_SOCKETS = """
const Native = window.WebSocket;
window.__sockets = [];
window.WebSocket = class extends Native { constructor(...args) { super(...args); window.__sockets.push(this); } };
return true;
"""

# Run in the page before Join: the camera and microphone are refused as if the user had blocked them.
DENY_CAMERA = """
navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
return true;
"""

RECT = "const r = document.querySelector(arguments[0]).getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]"


def test_two_way_call(parley_server, browser_factory):
    alice = AppUser(browser_factory(), "alice")
    alice.open(parley_server.base + "/apps/two-way-video-chat/")
    alice.join()
    alice.joined()
    assert "1 of 2" in alice.text("#participants")

    bob = AppUser(browser_factory(), "bob")
    bob.open(alice.invite())
    bob.js(KEEP_SOCKETS)
    bob.join()
    bob.joined()
    bob.sees_playing("alice")
    alice.sees_playing("bob")

    # The remote camera large, ours small over its bottom left corner.
    remote = bob.js(RECT, "#remoteVideos figure")
    local = bob.js(RECT, "#localVideo")
    assert (local[2] - local[0]) * 2.5 < remote[2] - remote[0], (local, remote)
    assert remote[0] <= local[0] < remote[0] + 30 and remote[3] - 30 < local[3] <= remote[3], (local, remote)

    # Chat both ways, in order.
    bob.send("hi alice")
    wait_for(lambda: alice.chat() == [("bob", "hi alice")], what="bob's message at alice")
    alice.send("hi bob")
    alice.send("how are you?")
    wait_for(lambda: bob.chat() == [("bob", "hi alice"), ("alice", "hi bob"), ("alice", "how are you?")],
             what="alice's answers at bob, in order")

    # Mute and unmute: the buttons say what a click does, and bob sees alice's state on her video.
    alice.find("#micBtn").click()
    wait_for(lambda: bob.tiles()[0][3] == "mic off", what="bob seeing alice's microphone muted")
    alice.find("#camBtn").click()
    wait_for(lambda: bob.tiles()[0][3] == "mic off · camera off", what="bob seeing alice's camera muted")
    assert alice.text("#micBtn") == "Unmute mic" and alice.text("#camBtn") == "Unmute camera"
    alice.find("#micBtn").click()
    alice.find("#camBtn").click()
    wait_for(lambda: bob.tiles()[0][3] == "", what="bob seeing alice unmuted")
    bob.sees_playing("alice")
    bob.screenshot("two-way-video-chat", element="#remoteVideos figure video")

    # A choice of microphone: picking another one republishes; bob plays the new stream.
    from selenium.webdriver.support.ui import Select
    old_stream = bob.js("return document.querySelector('#remoteVideos figure').dataset.stream")
    mics = Select(alice.find("#micSelect"))
    assert len(mics.options) >= 2, [o.text for o in mics.options]
    assert len(Select(alice.find("#cameraSelect")).options) >= 1
    other = next(o for o in mics.options if o.get_attribute("value") != mics.first_selected_option.get_attribute("value"))
    other_id = other.get_attribute("value")
    mics.select_by_value(other_id)
    alice.joined()
    assert alice.js("return app.camera.localStream().getAudioTracks()[0].getSettings().deviceId") == other_id
    wait_for(lambda: [t for t in bob.tiles() if t[2] == "PLAYING"] and
             bob.js("return document.querySelector('#remoteVideos figure').dataset.stream") != old_stream,
             what="bob playing alice's republished stream")
    bob.sees_playing("alice")
    assert len(bob.tiles()) == 1

    # A third person: the room holds two.
    carol = AppUser(browser_factory(), "carol")
    carol.open(alice.invite())
    carol.join()
    wait_for(lambda: "Current room is full" in carol.notice(), what="the room-full message")
    assert carol.text("#joinBtn") == "Join"
    carol.driver.quit()

    # Bob's connection drops: his page says so, reconnects by itself, and the call goes on both ways.
    bob.js("window.__sockets.at(-1).close(); return true")
    wait_for(lambda: "Connection lost: reconnecting…" in bob.system_lines(), what="bob told the connection dropped")
    wait_for(lambda: "Reconnected" in bob.system_lines() and bob.text("#status") == "ESTABLISHED",
             timeout=20, what="bob reconnected")
    assert "back" in bob.notice()
    bob.joined()
    bob.sees_playing("alice")
    alice.sees_playing("bob")
    assert len(alice.tiles()) == 1 and len(bob.tiles()) == 1
    bob.send("still here")
    wait_for(lambda: alice.chat()[-1] == ("bob", "still here"), what="chat after the reconnection")

    # Alice leaves: bob sees it and her video goes; alice's page is back to Join.
    alice.find("#joinBtn").click()
    wait_for(lambda: alice.text("#joinBtn") == "Join" and alice.text("#status") == "DISCONNECTED", what="alice left")
    wait_for(lambda: "alice left" in bob.system_lines() and bob.tiles() == [], what="bob seeing alice leave")
    assert "1 of 2" in bob.text("#participants")


def test_two_way_blocked_camera_still_chats(parley_server, browser_factory):
    user = AppUser(browser_factory(), "nocam")
    user.open(parley_server.base + "/apps/two-way-video-chat/")
    user.js(DENY_CAMERA)
    user.join()
    wait_for(lambda: "Camera or microphone blocked" in user.notice(), what="the blocked-camera message")
    assert "site settings" in user.notice()
    assert user.text("#status") == "ESTABLISHED" and user.text("#joinBtn") == "Leave"
    assert user.text("#localStatus").startswith("FAILED")
    user.send("I can still type")
    wait_for(lambda: user.chat() == [("nocam", "I can still type")], what="the message accepted by the room")
