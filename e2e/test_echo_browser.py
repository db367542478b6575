"""The echo test page in headless Chromium: its own camera comes back through Parley and is decoded."""
from conftest import wait_for

FRAMES = "return document.getElementById('remoteVideo').getVideoPlaybackQuality().totalVideoFrames"


def test_echo_page_plays_own_video_back(parley_server, browser_factory):
    driver = browser_factory()
    driver.get(parley_server.base + "/apps/echo-test/")
    driver.find_element("id", "startBtn").click()
    wait_for(lambda: driver.find_element("id", "status").text == "PLAYING", timeout=20,
             what="the echo stream to play (status PLAYING)")
    wait_for(lambda: driver.execute_script("return document.getElementById('remoteVideo').videoWidth") > 0,
             timeout=20, what="video coming back (videoWidth > 0)")
    first = driver.execute_script(FRAMES)
    wait_for(lambda: driver.execute_script(FRAMES) > first + 10, timeout=20, what="decoded frames to keep rising")
    health = parley_server.health()
    assert health["media"]["peerConnections"] == 1
    assert health["media"]["packetsOut"] > 50

    # Stop: the transport goes away on the server.
    driver.find_element("id", "startBtn").click()
    wait_for(lambda: parley_server.health()["media"]["peerConnections"] == 0, what="the transport to close")
