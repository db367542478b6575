"""Web Call Server compatibility in real browsers: Chromium A speaks the WCS protocol from a small client written
here from the protocol facts (its peer connection set up as the WebSDK sets its own: `bundlePolicy: "max-compat"`,
no ICE servers, the offer sent right after setLocalDescription without waiting for candidates); Chromium B uses
Parley's SDK. In one room they publish camera (and A a screen), play each other, decode, chat, and A leaves.
The WebSDK itself stays out of the repository."""
from conftest import wait_for

# A WCS client as the SDK behaves on the wire (WCS-PROTOCOL.md), not the SDK's code.
WCS_CLIENT = r"""
const [url, appKey, login, token] = arguments;
return (async () => {
  const c = window.__wcs = { log: [], pcs: {}, names: {}, ops: {}, url, published: [] };
  const log = (e) => c.log.push(e);
  const ws = c.ws = new WebSocket(url);
  const send = c.send = (message, obj) => ws.send(JSON.stringify({ message, data: [obj] }));
  const uuid = () => crypto.randomUUID();
  ws.onclose = (e) => log('DISCONNECTED ' + e.code);
  ws.onmessage = async (event) => {
    const frame = JSON.parse(event.data);
    const obj = frame.data[0];  // read without checking, as the SDK does
    switch (frame.message) {
      case 'ping': send('pong', null); break;
      case 'getUserData': log('ESTABLISHED ' + obj.login); break;
      case 'fail': log('FAIL ' + obj.info); break;
      case 'DataStatusEvent': { const op = c.ops[obj.operationId]; delete c.ops[obj.operationId]; op && op(obj); break; }
      case 'OnDataEvent': {
        const p = obj.payload;
        if (p.name === 'PUBLISHED') c.published.push(p.info);
        log(p.name + ' ' + (typeof p.info === 'string' ? p.info : JSON.stringify(p.info)));
        break;
      }
      case 'setRemoteSDP': await c.pcs[frame.data[0]].setRemoteDescription({ type: 'answer', sdp: frame.data[1] }); break;
      case 'notifyStreamStatusEvent': log(c.names[obj.mediaSessionId] + ' ' + obj.status + (obj.info ? ' ' + obj.info : '')); break;
      case 'notifyStreamEvent': log(c.names[obj.mediaSessionId] + ' event ' + obj.type); break;
    }
  };
  c.sendData = (payload) => new Promise((resolve) => { const id = uuid(); c.ops[id] = resolve; send('sendData', { operationId: id, payload }); });
  c.stream = async (kind, room, name, media) => {
    const id = uuid();
    const pc = c.pcs[id] = new RTCPeerConnection({ bundlePolicy: 'max-compat', iceServers: [] });
    c.names[id] = name;
    if (kind === 'publishStream') {
      for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
    } else {
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
      const video = document.createElement('video');
      video.id = 'play-' + name; video.muted = true; video.autoplay = true;
      document.body.appendChild(video);
      pc.ontrack = (e) => { video.srcObject = video.srcObject || new MediaStream(); video.srcObject.addTrack(e.track); };
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    send(kind, { mediaSessionId: id, name, published: kind === 'publishStream', hasVideo: true, hasAudio: true,
                 status: 'PENDING', record: false, mediaProvider: 'WebRTC', sdp: offer.sdp, custom: { name: room },
                 bitrate: 0, minBitrate: 0, maxBitrate: 0 });
    return id;
  };
  c.decoded = async (name) => {
    const id = Object.keys(c.names).find((k) => c.names[k] === name);
    let frames = 0;
    (await c.pcs[id].getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0; });
    return frames;
  };
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  send('connection', { appKey, mediaProviders: ['WebRTC', 'WSPlayer'], clientVersion: '2.0',
                       clientOSVersion: navigator.appVersion, clientBrowserVersion: navigator.userAgent,
                       msePacketizationVersion: 2, custom: token ? { login, token } : { login } });
  return true;
})();
"""

PARLEY_SETUP = """
const [wsUrl, username, roomName] = arguments;
return (async () => {
  const { Parley, ROOM_EVENT, STREAM_STATUS } = await import('/sdk/parley.js');
  window.__S = STREAM_STATUS;
  window.__log = [];
  window.__streams = {};
  const log = (e) => window.__log.push(e);
  window.__session = Parley.roomApi.connect({ urlServer: wsUrl, username });
  window.__room = window.__session.join({ name: roomName })
    .on(ROOM_EVENT.STATE, () => log('STATE'))
    .on(ROOM_EVENT.LEFT, (p) => log('LEFT ' + p.name()))
    .on(ROOM_EVENT.MESSAGE, (m) => log('MESSAGE ' + m.from.name() + ': ' + m.text))
    .on(ROOM_EVENT.PUBLISHED, (p, s) => log('PUBLISHED ' + p.name() + ' ' + s.display))
    .on(ROOM_EVENT.UNPUBLISHED, (p, s, reason) => log('UNPUBLISHED ' + p.name() + ' ' + s.display + ' ' + reason));
  return true;
})();
"""

PARLEY_PLAY = """
const [publisher, label] = arguments;
const participant = window.__room.getParticipants().find((p) => p.name() === publisher);
const box = document.createElement('div');
document.body.appendChild(box);
const stream = participant.play(box, { name: label, muted: true });
window.__streams[label] = stream;
for (const s of Object.values(window.__S)) stream.on(s, () => window.__log.push('play ' + label + ' ' + s));
return true;
"""

PARLEY_DECODED = """
const [label] = arguments;
return (async () => {
  let frames = 0;
  const pc = window.__streams[label].getPeerConnection();
  if (!pc) return 0;
  (await pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0; });
  return frames;
})();
"""


def wcs_log(driver):
    return driver.execute_script("return window.__wcs ? window.__wcs.log : []")


def parley_log(driver):
    return driver.execute_script("return window.__log || []")


def has(log_of, driver, entry):
    return lambda: any(e.startswith(entry) for e in log_of(driver))


def test_wcs_protocol_browser_and_parley_sdk_browser(parley_server, browser_factory):
    room = "wcs-browser"
    wcs, parley = browser_factory(), browser_factory()
    for driver in (wcs, parley):
        driver.get(parley_server.base + "/")
    bare_url = f"ws://127.0.0.1:{parley_server.port}"
    wcs.execute_script(WCS_CLIENT, bare_url, "roomApp", "wcsuser")
    wait_for(has(wcs_log, wcs, "ESTABLISHED"), what="the WCS session established")
    status = wcs.execute_script("return window.__wcs.sendData({command: 'join', options: {name: arguments[0]}})", room)
    assert status["status"] == "ACCEPTED", status
    wait_for(has(wcs_log, wcs, "STATE []"), what="STATE of an empty room")

    parley.execute_script(PARLEY_SETUP, parley_server.ws_url, "parleyuser", room)
    wait_for(has(parley_log, parley, "STATE"), what="the Parley SDK in the room")
    wait_for(has(wcs_log, wcs, "JOINED parleyuser"), what="the WCS client told of the Parley user")

    # The WCS side publishes its camera the way the WebSDK does; the Parley SDK plays and decodes it.
    camera = f"{room}-wcsuser-ab12"
    wcs.execute_script("""
        return navigator.mediaDevices.getUserMedia({audio: true, video: true})
          .then((m) => window.__wcs.stream('publishStream', arguments[0], arguments[1], m)).then(() => true);
    """, room, camera)
    wait_for(has(wcs_log, wcs, f"{camera} PUBLISHING"), timeout=20, what="the WCS camera publishing")
    wait_for(has(parley_log, parley, f"PUBLISHED wcsuser {camera}"), what="the Parley SDK told of the WCS camera")
    parley.execute_script(PARLEY_PLAY, "wcsuser", camera)
    wait_for(lambda: parley.execute_script(PARLEY_DECODED, camera) > 10, timeout=20, what="Parley decoding the WCS camera")

    # Share: a screen from the WCS side, named as the room SDK names it.
    screen = f"{camera}-screenShare"
    wcs.execute_script("""
        return navigator.mediaDevices.getDisplayMedia({video: true})
          .then((m) => window.__wcs.stream('publishStream', arguments[0], arguments[1], m)).then(() => true);
    """, room, screen)
    wait_for(has(wcs_log, wcs, f"{screen} PUBLISHING"), timeout=20, what="the WCS screen publishing")
    # A `screenShare` name is a screen share to Parley's SDK too: its label (display) is "screen".
    wait_for(has(parley_log, parley, "PUBLISHED wcsuser screen"), what="the Parley SDK told of the WCS screen")
    parley.execute_script(PARLEY_PLAY, "wcsuser", "screen")
    wait_for(lambda: parley.execute_script(PARLEY_DECODED, "screen") > 5, timeout=20, what="Parley decoding the WCS screen")

    # The Parley side publishes; the WCS client hears PUBLISHED and plays it by its WCS name.
    parley.execute_script("""
        const box = document.createElement('div'); document.body.appendChild(box);
        const s = window.__room.publish({display: box});
        for (const st of Object.values(window.__S)) s.on(st, () => window.__log.push('publish ' + st));
        return true;""")
    wait_for(has(parley_log, parley, "publish PUBLISHING"), timeout=20, what="the Parley camera publishing")
    wait_for(has(wcs_log, wcs, 'PUBLISHED {"login":"parleyuser"'), what="the WCS client told of the Parley camera")
    name = wcs.execute_script("return window.__wcs.published.find((i) => i.login === 'parleyuser').name")
    assert name.startswith(f"{room}-parleyuser-"), name
    wcs.execute_script("return window.__wcs.stream('playStream', arguments[0], arguments[1]).then(() => true)", room, name)
    wait_for(has(wcs_log, wcs, f"{name} PLAYING"), timeout=20, what="the WCS client playing the Parley camera")
    wait_for(lambda: wcs.execute_script("return window.__wcs.decoded(arguments[0])", name) > 10, timeout=20,
             what="the WCS client decoding the Parley camera")

    # Chat both ways.
    status = wcs.execute_script("""return window.__wcs.sendData({command: 'sendMessage',
        options: {roomConfig: {name: arguments[0]}, to: 'parleyuser', text: 'hello from wcs'}})""", room)
    assert status["status"] == "ACCEPTED", status
    wait_for(has(parley_log, parley, "MESSAGE wcsuser: hello from wcs"), what="Parley reading the WCS chat")
    parley.execute_script("window.__room.sendMessage('hello from parley'); return true")
    wait_for(has(wcs_log, wcs, 'MESSAGE {"from":"parleyuser","text":"hello from parley"}'), what="WCS reading the chat")

    # Stop sharing: the Parley side hears UNPUBLISHED and its play of the screen stops.
    wcs.execute_script("""
        const c = window.__wcs; const id = Object.keys(c.names).find((k) => c.names[k] === arguments[0]);
        c.send('unPublishStream', {mediaSessionId: id, name: arguments[0], published: true, hasVideo: true,
                                   hasAudio: true, status: 'PUBLISHING', record: false});
        c.pcs[id].close(); return true;""", screen)
    wait_for(has(wcs_log, wcs, f"{screen} UNPUBLISHED"), what="the WCS screen unpublished")
    wait_for(has(parley_log, parley, "UNPUBLISHED wcsuser screen"), what="Parley told the screen is gone")
    wait_for(has(parley_log, parley, "play screen STOPPED"), what="Parley's screen play stopped")

    # The WCS side leaves and disconnects: its streams end and the Parley side hears it go.
    status = wcs.execute_script("return window.__wcs.sendData({command: 'leave', options: {name: arguments[0]}})", room)
    assert status["status"] == "ACCEPTED", status
    wait_for(has(wcs_log, wcs, f"{camera} UNPUBLISHED"), what="the WCS camera unpublished by the leave")
    wait_for(has(wcs_log, wcs, f"{name} STOPPED"), what="the WCS play stopped by the leave")
    wait_for(has(parley_log, parley, "LEFT wcsuser"), what="Parley told the WCS user left")
    wait_for(has(parley_log, parley, f"play {camera} STOPPED"), what="Parley's camera play stopped")
    wcs.execute_script("window.__wcs.ws.close(); return true")
    wait_for(lambda: parley_server.health()["sessions"] == 1, what="the WCS session gone")
    wait_for(lambda: parley_server.health()["media"]["peerConnections"] == 1, what="only the Parley camera left")
