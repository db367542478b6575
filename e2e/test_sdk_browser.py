"""The SDK in a real browser: two Chromium sessions load a page served by Parley, join a room, chat, leave."""
from conftest import wait_for

# Runs in the page: imports the SDK, connects, joins, and records every event in window.__log.
JOIN = """
const [wsUrl, username, roomName] = arguments;
return (async () => {
  const { Parley, SESSION_STATUS, ROOM_EVENT } = await import('/sdk/parley.js');
  window.__log = [];
  const log = (entry) => window.__log.push(entry);
  window.__session = Parley.roomApi.connect({ urlServer: wsUrl, username })
    .on(SESSION_STATUS.ESTABLISHED, () => log('ESTABLISHED'))
    .on(SESSION_STATUS.DISCONNECTED, () => log('DISCONNECTED'));
  window.__room = window.__session.join({ name: roomName })
    .on(ROOM_EVENT.STATE, (room) => log('STATE ' + room.getParticipants().map((p) => p.name()).join(',')))
    .on(ROOM_EVENT.JOINED, (p) => log('JOINED ' + p.name()))
    .on(ROOM_EVENT.LEFT, (p, reason) => log('LEFT ' + p.name() + ' ' + reason))
    .on(ROOM_EVENT.MESSAGE, (m) => log('MESSAGE ' + m.from.name() + ': ' + m.text))
    .on(ROOM_EVENT.FAILED, (room, info) => log('FAILED ' + info.code));
  return true;
})();
"""


def log_of(driver):
    return driver.execute_script("return window.__log || []")


def has(driver, entry):
    return lambda: entry in log_of(driver)


def open_page(driver, server):
    driver.get(server.base + "/")
    assert "Parley" in driver.title


def test_two_sessions_join_chat_and_leave(parley_server, browser_factory):
    alice, bob = browser_factory(), browser_factory()
    for driver in (alice, bob):
        open_page(driver, parley_server)

    alice.execute_script(JOIN, parley_server.ws_url, "alice", "e2e-room")
    wait_for(has(alice, "STATE "), what="alice's room state")
    bob.execute_script(JOIN, parley_server.ws_url, "bob", "e2e-room")
    wait_for(has(bob, "STATE alice"), what="bob seeing alice in the room")
    wait_for(has(alice, "JOINED bob"), what="alice seeing bob join")
    assert log_of(alice)[0] == "ESTABLISHED"

    # Chat both ways, in order.
    alice.execute_script("return window.__room.sendMessage('hello bob')")
    alice.execute_script("return window.__room.sendMessage('second')")
    wait_for(has(bob, "MESSAGE alice: second"), what="alice's messages at bob")
    bob_messages = [e for e in log_of(bob) if e.startswith("MESSAGE")]
    assert bob_messages == ["MESSAGE alice: hello bob", "MESSAGE alice: second"]
    bob.execute_script("return window.__room.sendMessage('hi alice')")
    wait_for(has(alice, "MESSAGE bob: hi alice"), what="bob's message at alice")

    # Bob leaves: alice is told, and the server holds one participant.
    bob.execute_script("return window.__room.leave()")
    wait_for(has(alice, "LEFT bob left"), what="alice seeing bob leave")
    assert parley_server.health()["participants"] == 1

    # Alice closes her session: the room is gone.
    alice.execute_script("window.__session.disconnect()")
    wait_for(lambda: parley_server.health()["rooms"] == 0, what="the empty room to be removed")


def test_name_taken_is_refused(parley_server, browser_factory):
    first, second = browser_factory(), browser_factory()
    for driver in (first, second):
        open_page(driver, parley_server)
    first.execute_script(JOIN, parley_server.ws_url, "sam", "taken-room")
    wait_for(has(first, "STATE "), what="the first sam joining")
    second.execute_script(JOIN, parley_server.ws_url, "sam", "taken-room")
    wait_for(has(second, "FAILED name_taken"), what="the second sam refused")
    assert parley_server.health()["participants"] == 1


def test_closing_the_tab_is_seen_as_disconnected(parley_server, browser_factory):
    stays, goes = browser_factory(), browser_factory()
    for driver in (stays, goes):
        open_page(driver, parley_server)
    stays.execute_script(JOIN, parley_server.ws_url, "stays", "drop-room")
    wait_for(has(stays, "STATE "), what="stays joining")
    goes.execute_script(JOIN, parley_server.ws_url, "goes", "drop-room")
    wait_for(has(stays, "JOINED goes"), what="goes joining")
    goes.quit()  # the browser goes away: its socket closes without a leave
    wait_for(has(stays, "LEFT goes disconnected"), what="the dropped tab seen as left")
