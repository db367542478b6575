"""The Conference app (/apps/conference/) in real browsers, one per user, following the user's scenario:
join with a login, invite others by the link, see and hear each other, chat, leave; a fourth person finds the
room full (3 by default), and a login already in the room is refused."""
from conftest import AppUser, wait_for

RECT = "const r = document.querySelector(arguments[0]).getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]"


def test_conference_three_people_chat_and_leave(parley_server, browser_factory):
    test = AppUser(browser_factory(), "test")

    # 1–2. Open the page, type a login, press Join: ESTABLISHED, a new room, our camera, the chat and an invite link.
    test.open(parley_server.base + "/apps/conference/")
    assert test.text("#joinBtn") == "Join"
    test.join()
    test.joined()
    invite = test.invite()
    assert invite.startswith(parley_server.base + "/apps/conference/?roomName=")
    assert test.tiles() == []
    assert "1 of 3" in test.text("#participants")

    # 3. test2 opens the invite link, joins: each sees the other's camera playing.
    test2 = AppUser(browser_factory(), "test2")
    test2.open(invite)
    test2.join()
    test2.joined()
    assert test2.invite() == invite
    test2.sees_playing("test")
    test.sees_playing("test2")
    # test's camera at the top left, test2's own below it.
    remote, local = (test2.js(RECT, css) for css in ("#remoteVideos figure", "#localVideo"))
    assert remote[0] < 100 and remote[3] <= local[1], (remote, local)
    assert "test2 joined" in test.system_lines()
    assert "2 of 3" in test.text("#participants")

    # 4. Chat both ways, in order.
    test2.send("hello from test2")
    test2.send("second line")
    wait_for(lambda: test.chat()[-2:] == [("test2", "hello from test2"), ("test2", "second line")], what="test2's messages at test")
    test.send("hi test2, test here")
    wait_for(lambda: test2.chat()[-1:] == [("test", "hi test2, test here")], what="test's answer at test2")
    assert test2.chat() == [("test2", "hello from test2"), ("test2", "second line"), ("test", "hi test2, test here")]
    assert test.chat() == test2.chat()

    # A third person first picks a login already in the room: refused with a clear message, not admitted.
    test3 = AppUser(browser_factory(), "test3")
    test3.open(invite)
    test3.join("test")
    wait_for(lambda: "already taken" in test3.notice(), what="the name-taken message")
    assert '"test"' in test3.notice() and test3.text("#joinBtn") == "Join"
    assert parley_server.health()["participants"] == 2
    # … then another login: in, with both others playing (and they see test3).
    test3.join("test3")
    test3.joined()
    test3.sees_playing("test")
    test3.sees_playing("test2")
    test.sees_playing("test3")
    test2.sees_playing("test3")
    assert test3.chat() == test2.chat()  # the history comes with the join
    assert "3 of 3" in test3.text("#participants")
    test.screenshot("conference", element="#remoteVideos figure video")

    # A fourth person: the room holds 3 by default.
    test4 = AppUser(browser_factory(), "test4")
    test4.open(invite)
    test4.join()
    wait_for(lambda: "Current room is full" in test4.notice(), what="the room-full message")
    assert test4.text("#joinBtn") == "Join" and test4.tiles() == []
    assert parley_server.health()["participants"] == 3
    test4.driver.quit()

    # 5. test2 leaves: its page goes back to Join; the others see it left and its video goes.
    test2.find("#joinBtn").click()
    wait_for(lambda: test2.text("#joinBtn") == "Join" and test2.text("#status") == "DISCONNECTED", what="test2 left")
    assert test2.tiles() == []
    for user in (test, test3):
        wait_for(lambda: "test2 left" in user.system_lines(), what=f"{user.name} told test2 left")
        wait_for(lambda: [t[0] for t in user.tiles()] == ["test3" if user is test else "test"],
                 what=f"test2's video removed at {user.name}")
    assert "2 of 3" in test.text("#participants")
    wait_for(lambda: parley_server.health()["participants"] == 2, what="the server to count 2")


def test_conference_cap_from_the_url_and_phone_width(parley_server, browser_factory):
    """?maxParticipants=2 sets the cap of the room the page creates; the page fits a 360 px wide phone."""
    host = AppUser(browser_factory(), "host")
    host.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": True})
    host.open(parley_server.base + "/apps/conference/?maxParticipants=2")
    host.join()
    host.joined()
    assert "1 of 2" in host.text("#participants")
    guest = AppUser(browser_factory(), "guest")
    guest.open(host.invite())
    guest.join()
    guest.joined()
    host.sees_playing("guest")
    late = AppUser(browser_factory(), "late")
    late.open(host.invite())
    late.join()
    wait_for(lambda: "Current room is full" in late.notice(), what="the room-full message")
    assert "at most 2" in late.notice()

    # Phone width: nothing wider than the screen (no horizontal scrolling), videos inside it.
    assert host.js("return window.innerWidth") == 360
    assert host.js("return document.documentElement.scrollWidth") <= 360
    widest = host.js("return Math.max(...[...document.querySelectorAll('video, button, input, select, #chat')]"
                     ".map((e) => e.getBoundingClientRect().right))")
    assert widest <= 360, f"an element reaches x={widest}"
    host.screenshot("conference-phone", element="#remoteVideos figure video")


def test_index_page_lists_the_apps(parley_server, browser_factory):
    """A newcomer opens the server's address: the apps are listed, and each link opens its app."""
    from selenium.webdriver.common.by import By
    driver = browser_factory()
    for title in ("Conference", "Two Way Video Chat", "Two Way Video Chat & Screen", "Echo test"):
        driver.get(parley_server.base + "/")
        driver.find_element(By.LINK_TEXT, title).click()
        wait_for(lambda: driver.title == f"Parley · {title}", what=f"the {title} page")
        assert driver.find_element(By.CSS_SELECTOR, "h1").text == title
