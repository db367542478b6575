// Unit tests of the SDK's media API (publish, play, mute, stop, echo) with fake browser media:
// `node --test Web/sdk/test/`.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { ROOM_EVENT, STREAM_EVENT, STREAM_STATUS } from "../parley.js";
import { socket, serve, tick, until, connect, fakeTimers, installFakeMedia, devices, pc, fakeElement, FakeMediaStream } from "./fakes.mjs";

beforeEach(installFakeMedia);

const BOB_CAMERA = { id: "cam1", display: "camera", audio: true, video: true, audioMuted: false, videoMuted: false };
const BOB_SCREEN = { id: "scr1", display: "screen", audio: false, video: true, audioMuted: false, videoMuted: false };

/** A session in room "abc" with bob (publishing a camera and a screen) in it. */
async function inRoom(serverOptions = {}) {
  const session = connect();
  const room = session.join({ name: "abc" });
  await tick();
  serve(socket(0), { others: [{ name: "bob", streams: [BOB_CAMERA, BOB_SCREEN] }], ...serverOptions });
  await until(() => room.isJoined());
  return { session, room, ws: socket(0), bob: room.getParticipants()[0] };
}

/** Records a stream's statuses as "STATUS code" strings (into `seen`, to share one record). */
function statuses(stream, seen = []) {
  for (const s of Object.values(STREAM_STATUS)) stream.on(s, (_stream, info) => seen.push(info?.code ? `${s} ${info.code}` : s));
  return seen;
}

test("publish: muted preview, sendonly offer with label and mute state, answer applied; PUBLISHING on an early connected", async () => {
  const { room, ws } = await inRoom({ hold: ["publish"] });
  const display = fakeElement("DIV");
  const constraints = { audio: { deviceId: "mic2" }, video: { width: 640, height: 480, frameRate: 15, deviceId: "cam2" } };
  const stream = room.publish({ display, constraints });
  const seen = statuses(stream);
  assert.equal(stream.status(), STREAM_STATUS.PENDING);
  await until(() => ws.requests("publish").length === 1, "publish request");

  assert.deepEqual(devices.calls, [{ method: "getUserMedia", constraints: {
    audio: { deviceId: { exact: "mic2" } },
    video: { width: 640, height: 480, frameRate: 15, deviceId: { exact: "cam2" } },
  } }]);
  const local = stream.getMediaStream();
  assert.equal(local, stream.localStream());
  const [video] = display.children;
  assert.equal(video.tagName, "VIDEO");
  assert.deepEqual([video.srcObject, video.muted, video.autoplay, video.playsInline], [local, true, true, true]);
  assert.deepEqual(pc(0).transceivers.map((t) => [t.kind, t.direction, t.track, t.streams[0]]),
    [["audio", "sendonly", local.getAudioTracks()[0], local], ["video", "sendonly", local.getVideoTracks()[0], local]]);
  assert.deepEqual(pc(0).config, { iceServers: [], bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
  const [request] = ws.requests("publish");
  assert.deepEqual(request, { id: request.id, type: "publish", room: "abc", sdp: "offer0", display: "camera", audioMuted: false, videoMuted: false });

  // The server's transport connects before its reply reaches us: the event waits for the stream's id.
  ws.push({ event: "stream", stream: "pub1", status: "connected" });
  assert.equal(stream.status(), STREAM_STATUS.PENDING);
  for (const frame of ws.held) ws.push(frame);
  await until(() => stream.status() === STREAM_STATUS.PUBLISHING, "PUBLISHING");
  assert.equal(stream.id(), "pub1");
  await until(() => pc(0).remoteDescription);
  assert.deepEqual(pc(0).remoteDescription, { type: "answer", sdp: "answer" });
  assert.equal(stream.getPeerConnection(), pc(0));

  await stream.stop();
  assert.deepEqual(ws.sent.at(-1), { id: ws.sent.at(-1).id, type: "stop", stream: "pub1" });
  assert.deepEqual(seen, ["PUBLISHING", "UNPUBLISHED stopped"]);
  assert.ok(pc(0).closed && local.getTracks().every((t) => t.stopped), "connection and camera released");
  assert.equal(display.children.length, 0, "the preview is removed");
  ws.push({ event: "stream", stream: "pub1", status: "closed", reason: "unpublished" });
  assert.deepEqual(seen, ["PUBLISHING", "UNPUBLISHED stopped"], "an ended stream stays ended");
});

test("publish refused by the server → FAILED with its code and message; the camera is released", async () => {
  const { room } = await inRoom({ refuse: { publish: "no_common_codec" } });
  let failure = null;
  const stream = room.publish({ constraints: { audio: true } }).on(STREAM_STATUS.FAILED, (s, info) => (failure = info));
  await until(() => failure, "FAILED");
  assert.deepEqual(failure, { code: "no_common_codec", message: "refused: no_common_codec" });
  assert.equal(stream.status(), STREAM_STATUS.FAILED);
  assert.ok(stream.getMediaStream().getTracks()[0].stopped);
  assert.ok(pc(0).closed);
});

test("camera denied → FAILED media_denied with the browser's reason; nothing is sent", async () => {
  const { room, ws } = await inRoom();
  devices.deny = new DOMException("Permission denied", "NotAllowedError");
  let failure = null;
  room.publish({ display: fakeElement("VIDEO") }).on(STREAM_STATUS.FAILED, (s, info) => (failure = info));
  await until(() => failure, "FAILED");
  assert.deepEqual(failure, { code: "media_denied", message: "Camera or microphone unavailable: NotAllowedError (Permission denied)" });
  assert.equal(ws.requests("publish").length, 0);
  assert.equal(pc(0), undefined);
});

test("publish before the room is joined → FAILED not_in_room, without asking for the camera", async () => {
  const session = connect();
  const room = session.join({ name: "abc" });
  let failure = null;
  room.publish({}).on(STREAM_STATUS.FAILED, (s, info) => (failure = info));
  await until(() => failure);
  assert.equal(failure.code, "not_in_room");
  assert.equal(devices.calls.length, 0, "the camera is not even asked for");
});

test("a server `failed` event → FAILED with its reason and message", async () => {
  const { room, ws } = await inRoom();
  const first = room.publish({});
  const firstSeen = statuses(first);
  await until(() => first.id());
  let failure;
  first.on(STREAM_STATUS.FAILED, (_, info) => { failure = info; });
  ws.push({ event: "stream", stream: first.id(), status: "failed", reason: "fingerprint_mismatch",
            message: "The peer's DTLS certificate does not match the fingerprint in its offer" });
  assert.deepEqual(firstSeen, ["FAILED failed"]);
  assert.deepEqual(failure, { code: "failed", reason: "fingerprint_mismatch",
                              message: "The peer's DTLS certificate does not match the fingerprint in its offer" });
});

/** inRoom with fake timers: the test drives the reconnection. */
async function inRoomWithTimers(options = {}) {
  const timers = fakeTimers();
  const session = connect({ timers, ...options });
  const room = session.join({ name: "abc" });
  await tick();
  serve(socket(0), { others: [{ name: "bob", streams: [BOB_CAMERA] }] });
  await until(() => room.isJoined());
  return { session, room, timers, bob: room.getParticipants()[0] };
}

test("a dropped socket: a publish keeps its camera (PENDING connection_lost) and is published again after the rejoin; plays FAILED", async () => {
  const { room, timers, bob } = await inRoomWithTimers();
  const display = fakeElement("VIDEO");
  const camera = room.publish({ display, name: "cam", record: true });
  const seen = statuses(camera);
  const play = bob.play(fakeElement("VIDEO"));
  const playSeen = statuses(play);
  await until(() => camera.id() && play.id());
  socket(0).push({ event: "stream", stream: camera.id(), status: "connected" });
  socket(0).push({ event: "stream", stream: play.id(), status: "connected" });
  await camera.muteVideo();
  const local = camera.localStream();
  const first = camera.getPeerConnection();

  socket(0).drop();
  assert.deepEqual(seen, ["PUBLISHING", "PENDING connection_lost"]);
  assert.deepEqual(playSeen, ["PLAYING", "FAILED connection_lost"]);
  assert.equal(camera.id(), null);
  assert.ok(first.closed, "the old connection is closed");
  assert.ok(local.getTracks().every((t) => !t.stopped), "the camera stays on");
  assert.equal(display.srcObject, local, "the preview stays");
  await camera.muteAudio();  // while away: sent with the new publish

  timers.fire();
  serve(socket(1), { others: [{ name: "bob", streams: [BOB_CAMERA] }] });
  await until(() => socket(1).requests("publish").length === 1, "the publish sent again");
  const [request] = socket(1).requests("publish");
  assert.deepEqual(request, { id: request.id, type: "publish", room: "abc", sdp: "offer2", display: "cam",
                              audioMuted: true, videoMuted: true, record: true });
  assert.deepEqual(socket(1).sent.map((r) => r.type), ["connect", "join", "publish"]);
  const second = camera.getPeerConnection();
  assert.notEqual(second, first);
  assert.deepEqual(second.transceivers.map((t) => t.track), local.getTracks(), "the same tracks");
  assert.equal(devices.calls.length, 1, "the camera is not asked for again");
  await until(() => camera.id() === "pub1");
  assert.deepEqual(camera.getRecordInfo(), { recordName: "stream-pub1.webm", status: null });
  socket(1).push({ event: "stream", stream: "pub1", status: "connected" });
  assert.deepEqual(seen, ["PUBLISHING", "PENDING connection_lost", "PUBLISHING"]);
  assert.equal(play.status(), STREAM_STATUS.FAILED, "the app plays the others again from STATE");
});

/** A publish that was PUBLISHING when the socket dropped. */
async function publishingThenDropped(options = {}) {
  const { room, timers } = await inRoomWithTimers(options);
  const camera = room.publish({});
  const seen = statuses(camera);
  await until(() => camera.id());
  socket(0).push({ event: "stream", stream: camera.id(), status: "connected" });
  socket(0).drop();
  return { camera, seen, timers };
}

test("a publish kept through a drop: stop() ends it at once; a final rejoin refusal or giving up ends it FAILED", async () => {
  {
    const { room, timers } = await inRoomWithTimers();
    const camera = room.publish({});
    await until(() => camera.id());
    socket(0).drop();
    assert.equal(camera.status(), STREAM_STATUS.PENDING);
    await camera.stop();
    assert.equal(camera.status(), STREAM_STATUS.UNPUBLISHED);
    assert.ok(camera.localStream().getTracks().every((t) => t.stopped));
    timers.fire();
    serve(socket(1));
    await until(() => room.isJoined());
    await tick();
    assert.equal(socket(1).requests("publish").length, 0, "a stopped publish is not sent again");
  }
  {
    const { camera, seen, timers } = await publishingThenDropped();
    timers.fire();
    serve(socket(1), { refuseJoin: "room_full" });
    await until(() => camera.status() === STREAM_STATUS.FAILED);
    assert.deepEqual(seen, ["PUBLISHING", "PENDING connection_lost", "FAILED room_full"]);
    assert.ok(camera.localStream().getTracks().every((t) => t.stopped), "the camera is released");
  }
  {
    const { seen, timers } = await publishingThenDropped({ reconnect: { maxAttempts: 1 } });
    timers.fire();
    socket(1).drop();
    assert.deepEqual(seen, ["PUBLISHING", "PENDING connection_lost", "FAILED connection_lost"]);
  }
  {
    const { room } = await inRoomWithTimers({ reconnect: { restore: false } });
    const camera = room.publish({});
    const seen = statuses(camera);
    await until(() => camera.id());
    socket(0).drop();
    assert.deepEqual(seen, ["FAILED connection_lost"], "restore: false ends publishes with the socket");
  }
});

test("screen: getDisplayMedia with system audio, label `screen`; the browser's Stop sharing → stop sent, UNPUBLISHED", async () => {
  const { room, ws } = await inRoom();
  const camera = room.publish({ display: fakeElement("DIV") });
  const screen = room.publish({ display: fakeElement("DIV"), constraints: { screen: true, audio: true } });
  const seen = statuses(screen);
  await until(() => camera.id() && screen.id(), "both published");
  assert.deepEqual(devices.calls.map((c) => [c.method, c.constraints]),
    [["getUserMedia", { audio: true, video: true }], ["getDisplayMedia", { video: true, audio: true }]]);
  assert.deepEqual(ws.requests("publish").map((r) => r.display), ["camera", "screen"]);

  screen.getMediaStream().getVideoTracks()[0].end();
  assert.deepEqual(ws.sent.at(-1), { id: ws.sent.at(-1).id, type: "stop", stream: screen.id() });
  assert.deepEqual(seen, ["UNPUBLISHED stopped"]);
  assert.equal(camera.status(), STREAM_STATUS.PENDING, "the camera goes on");

  const named = room.publish({ name: "slides", constraints: { screen: true } });
  await until(() => named.id());
  assert.deepEqual(devices.calls.at(-1).constraints, { video: true, audio: false });
  assert.equal(ws.requests("publish").at(-1).display, "slides");
});

test("mute: tracks disabled and the state sent; a mute before the reply goes with (or right after) the request", async () => {
  const { room, ws } = await inRoom({ hold: ["publish"] });
  const stream = room.publish({});
  stream.muteVideo();   // before the camera is even there
  await until(() => ws.requests("publish").length === 1);
  assert.equal(ws.requests("publish")[0].videoMuted, true);
  assert.equal(stream.getMediaStream().getVideoTracks()[0].enabled, false);
  stream.muteAudio();   // while the request is in flight
  assert.equal(ws.requests("mute").length, 0);
  for (const frame of ws.held) ws.push(frame);
  await until(() => ws.requests("mute").length === 1);
  assert.deepEqual(ws.requests("mute")[0], { id: ws.requests("mute")[0].id, type: "mute", stream: "pub1", audioMuted: true, videoMuted: true });

  await stream.unmuteVideo();
  assert.deepEqual(ws.sent.at(-1), { id: ws.sent.at(-1).id, type: "mute", stream: "pub1", videoMuted: false });
  const [audio] = stream.getMediaStream().getAudioTracks();
  const [video] = stream.getMediaStream().getVideoTracks();
  assert.deepEqual([audio.enabled, video.enabled, stream.isAudioMuted(), stream.isVideoMuted()], [false, true, true, false]);
  await stream.unmuteAudio();
  await stream.muteVideo();
  assert.deepEqual(ws.requests("mute").slice(-2).map(({ audioMuted, videoMuted }) => [audioMuted, videoMuted]), [[false, undefined], [undefined, true]]);
  assert.deepEqual([audio.enabled, video.enabled], [true, false]);
});

test("the operator's mute of our publish: MUTED_BY_SERVER and mutedByServer(); not an UPDATED of another participant", async () => {
  const { room, ws } = await inRoom();
  const stream = room.publish({});
  await until(() => stream.id() === "pub1");
  const seen = [], updated = [];
  stream.on(STREAM_EVENT.MUTED_BY_SERVER, (s, mute) => seen.push(mute));
  room.on(ROOM_EVENT.UPDATED, (p, info) => updated.push(p.name()));
  const info = { id: "pub1", audio: true, video: true, audioMuted: true, videoMuted: false, mutedByServer: { audio: true, video: false } };
  ws.push({ event: "updated", room: "abc", participant: { name: "test" }, stream: info });
  ws.push({ event: "updated", room: "abc", participant: { name: "test" }, stream: { ...info, audioMuted: false, mutedByServer: undefined } });
  await until(() => seen.length === 2);
  assert.deepEqual(seen, [{ audio: true, video: false }, null]);
  assert.equal(stream.mutedByServer(), null);
  assert.deepEqual(updated, []);
});

test("play: recvonly offer for the stream's kinds, media shown with sound, PLAYING on connected, STOPPED when unpublished", async () => {
  const { bob, ws } = await inRoom();
  const display = fakeElement("DIV");
  const stream = bob.play(display);
  const seen = statuses(stream);
  await until(() => stream.id(), "play reply");
  const [request] = ws.requests("play");
  assert.deepEqual(request, { id: request.id, type: "play", room: "abc", stream: "cam1", sdp: "offer0" });
  assert.deepEqual(pc(0).transceivers.map((t) => [t.kind, t.direction]), [["audio", "recvonly"], ["video", "recvonly"]]);
  assert.equal(devices.calls.length, 0, "playing needs no camera");

  const [video] = display.children;
  assert.deepEqual([video.tagName, video.autoplay, video.playsInline, video.muted], ["VIDEO", true, true, undefined]);
  const tracks = [pc(0).receive("audio"), pc(0).receive("video")];
  assert.deepEqual(stream.getMediaStream().getTracks(), tracks);
  assert.equal(video.srcObject, stream.getMediaStream());
  ws.push({ event: "stream", stream: "play1", status: "connected" });
  assert.equal(stream.status(), STREAM_STATUS.PLAYING);
  assert.ok((await stream.getPeerConnection().getStats()) instanceof Map);

  let info = null;
  stream.on(STREAM_STATUS.STOPPED, (s, i) => (info = i));
  ws.push({ event: "stream", stream: "play1", status: "closed", reason: "unpublished" });
  assert.deepEqual(seen, ["PLAYING", "STOPPED closed"]);
  assert.equal(info.reason, "unpublished");
  assert.ok(pc(0).closed);
  assert.equal(display.children.length, 0);
  assert.equal(ws.requests("stop").length, 0, "the server ended it already");
});

test("play chooses by id or label, skips kinds not wanted, mutes only when asked; a refusal → FAILED", async () => {
  const { room, bob, ws } = await inRoom();
  const screenVideo = fakeElement("VIDEO");
  const byName = bob.play(screenVideo, { name: "screen", muted: true });
  await until(() => byName.id());
  assert.equal(ws.requests("play")[0].stream, "scr1");
  assert.equal(screenVideo.muted, true);
  assert.deepEqual(byName.getPeerConnection().transceivers.map((t) => t.kind), ["video"], "the screen has no audio");

  const element = fakeElement("VIDEO");
  const silent = bob.play(element, { stream: "cam1", receiveAudio: false });
  await until(() => silent.id());
  assert.deepEqual(silent.getPeerConnection().transceivers.map((t) => t.kind), ["video"]);
  silent.getPeerConnection().receive("video");
  assert.equal(element.srcObject, silent.getMediaStream(), "a given <video> is used as is");
  assert.equal(element.muted, undefined, "not muted unless asked");

  // receiveVideo: false given to publish applies to this room's later plays.
  room.publish({ constraints: { audio: true }, receiveVideo: false });
  const audioOnly = bob.play(null);
  await until(() => audioOnly.id());
  assert.deepEqual(audioOnly.getPeerConnection().transceivers.map((t) => t.kind), ["audio"]);

  const missing = bob.play(null, { stream: "nope" });
  let failure = null;
  missing.on(STREAM_STATUS.FAILED, (s, i) => (failure = i));
  await until(() => failure);
  assert.equal(failure.code, "unknown_stream");

  ws.onsend = (req) => req.type === "play" && queueMicrotask(() => ws.push({ id: req.id, ok: false, error: { code: "no_common_codec", message: "H.264 only" } }));
  const refused = bob.play(null);
  refused.on(STREAM_STATUS.FAILED, (s, i) => (failure = i));
  await until(() => failure.code === "no_common_codec");
  assert.equal(failure.message, "H.264 only");
  assert.equal(refused.status(), STREAM_STATUS.FAILED);
});

test("room events: PUBLISHED, UPDATED and UNPUBLISHED keep participant.getStreams() up to date", async () => {
  const { room, ws } = await inRoom();
  const seen = [];
  room.on(ROOM_EVENT.PUBLISHED, (p, info) => seen.push(`published ${p.name()} ${info.id} ${info.display}`))
    .on(ROOM_EVENT.UPDATED, (p, info) => seen.push(`updated ${p.name()} ${info.id} audioMuted=${info.audioMuted}`))
    .on(ROOM_EVENT.UNPUBLISHED, (p, info, reason) => seen.push(`unpublished ${p.name()} ${info.id} ${info.display} ${reason}`));
  ws.push({ event: "joined", room: "abc", participant: { name: "carol", streams: [] } });
  const carol = room.getParticipants()[1];
  const camera = { id: "c1", display: "camera", audio: true, video: true, audioMuted: false, videoMuted: false };
  ws.push({ event: "published", room: "abc", participant: { name: "carol" }, stream: camera });
  ws.push({ event: "published", room: "abc", participant: { name: "carol" }, stream: { ...camera, id: "c2", display: "screen" } });
  assert.deepEqual(carol.getStreams().map((s) => s.id), ["c1", "c2"]);
  ws.push({ event: "updated", room: "abc", participant: { name: "carol" }, stream: { ...camera, audioMuted: true } });
  assert.deepEqual(carol.getStreams()[0], { ...camera, audioMuted: true });
  ws.push({ event: "unpublished", room: "abc", participant: { name: "carol" }, stream: { id: "c1" }, reason: "unpublished" });
  assert.deepEqual(carol.getStreams().map((s) => s.id), ["c2"]);
  ws.push({ event: "published", room: "other", participant: { name: "carol" }, stream: { ...camera, id: "x" } });
  assert.deepEqual(seen, [
    "published carol c1 camera",
    "published carol c2 screen",
    "updated carol c1 audioMuted=true",
    "unpublished carol c1 camera unpublished",
  ]);
  assert.deepEqual(room.getParticipants()[0].getStreams(), [BOB_CAMERA, BOB_SCREEN], "from the join reply");
});

test("leave ends the room's publishes and plays (the server stops them itself); other rooms' streams go on", async () => {
  const { session, room, bob, ws } = await inRoom();
  const other = session.join({ name: "xyz" });
  await until(() => other.isJoined());
  const mine = room.publish({});
  const theirs = bob.play(null);
  const elsewhere = other.publish({});
  const seen = statuses(theirs, statuses(mine));
  await until(() => mine.id() && theirs.id() && elsewhere.id());
  await room.leave();
  assert.deepEqual(seen, ["UNPUBLISHED left", "STOPPED left"]);
  assert.equal(ws.requests("stop").length, 0);
  assert.deepEqual(ws.sent.at(-1), { id: ws.sent.at(-1).id, type: "leave", room: "abc" });
  assert.ok(mine.getMediaStream().getTracks().every((t) => t.stopped));
  assert.equal(elsewhere.status(), STREAM_STATUS.PENDING);
});

test("session.disconnect() ends every stream (code disconnected) without stop requests", async () => {
  const { session, bob, room, ws } = await inRoom();
  const seen = statuses(bob.play(null), statuses(room.publish({})));
  await until(() => ws.requests("play").length === 1 && ws.requests("publish").length === 1);
  session.disconnect();
  assert.deepEqual(seen.sort(), ["STOPPED disconnected", "UNPUBLISHED disconnected"]);
  assert.equal(ws.requests("stop").length, 0);
});

test("stop() while the publish request is in flight: the stream is stopped on the server when the reply comes", async () => {
  const { room, ws } = await inRoom({ hold: ["publish"] });
  const stream = room.publish({});
  await until(() => ws.requests("publish").length === 1);
  stream.stop();
  assert.equal(stream.status(), STREAM_STATUS.UNPUBLISHED);
  for (const frame of ws.held) ws.push(frame);
  await until(() => ws.requests("stop").length === 1);
  assert.equal(ws.requests("stop")[0].stream, "pub1");
});

test("echo test: sendrecv offer, PLAYING on connected, stopStream on stop()", async () => {
  const { session, ws } = await inRoom();
  const display = fakeElement("VIDEO");
  const stream = session.echoTest({ display });
  const seen = statuses(stream);
  await until(() => stream.id());
  assert.deepEqual(ws.requests("echo")[0], { id: ws.requests("echo")[0].id, type: "echo", sdp: "offer0" });
  assert.deepEqual(pc(0).transceivers.map((t) => [t.kind, t.direction]), [["audio", "sendrecv"], ["video", "sendrecv"]]);
  pc(0).receive("video");
  assert.equal(display.srcObject, stream.getMediaStream());
  assert.ok(stream.localStream() instanceof FakeMediaStream);
  assert.equal(stream.peerConnection(), pc(0));
  ws.push({ event: "stream", stream: stream.id(), status: "connected" });
  await stream.stop();
  assert.deepEqual(seen, ["PLAYING", "STOPPED stopped"]);
  assert.equal(ws.sent.at(-1).type, "stopStream");
});

test("record: true is sent with the publish, and getRecordInfo() names the server's file", async () => {
  const { room, ws } = await inRoom();
  const recorded = room.publish({ record: true });
  const plain = room.publish({});
  await until(() => ws.requests("publish").length === 2 && recorded.id() !== null && plain.id() !== null);
  assert.deepEqual(ws.requests("publish").map((r) => r.record), [true, undefined]);
  const recordName = `stream-${recorded.id()}.webm`;
  assert.deepEqual(recorded.getRecordInfo(), { recordName, status: null });
  assert.equal(plain.getRecordInfo(), null);
  // The recording's events reach the stream, the last one even after the stream has ended.
  const events = [];
  recorded.on("recording", (stream, info) => events.push([stream === recorded, info.status, info.reason]));
  ws.push({ event: "recording", stream: recorded.id(), recordName, status: "started" });
  await recorded.stop();
  ws.push({ event: "recording", stream: recorded.id(), recordName, status: "stopped", reason: "disk_full", message: "full" });
  ws.push({ event: "recording", stream: recorded.id(), recordName, status: "finished" });  // after the recording ended: ignored
  await until(() => events.length === 2);
  assert.deepEqual(events, [[true, "started", undefined], [true, "stopped", "disk_full"]]);
  assert.deepEqual(recorded.getRecordInfo(), { recordName, status: "stopped" });
});

test("a media connection that fails: FAILED ice_failed if the socket answers a ping; if not, the socket is dropped and a publish waits for the rejoin", async () => {
  const { room, timers } = await inRoomWithTimers({ heartbeat: { interval: 10000, timeout: 3000 } });
  const play = room.getParticipants()[0].play(null);
  const camera = room.publish({});
  const playSeen = statuses(play);
  const seen = statuses(camera);
  await until(() => play.id() && camera.id());
  socket(0).push({ event: "stream", stream: camera.id(), status: "connected" });

  play.getPeerConnection().connectionState = "failed";
  play.getPeerConnection().onconnectionstatechange();
  assert.equal(socket(0).requests("ping").length, 1, "the socket is checked");
  await until(() => play.status() === STREAM_STATUS.FAILED);
  assert.deepEqual(playSeen, ["FAILED ice_failed"]);
  assert.equal(socket(0).requests("stop").length, 1);

  socket(0).onsend = () => {};  // the network went away: nothing answers any more
  camera.getPeerConnection().connectionState = "failed";
  camera.getPeerConnection().onconnectionstatechange();
  assert.equal(socket(0).requests("ping").length, 2);
  timers.queue.find((t) => t.ms === 3000).fn();
  await tick();
  assert.deepEqual(seen, ["PUBLISHING", "PENDING connection_lost"]);
  assert.ok(camera.localStream().getTracks().every((t) => !t.stopped));
});

test("TURN: the servers of the latest connect or join reply go to every new connection; iceTransportPolicy passes through", async () => {
  const session = connect({ iceTransportPolicy: "relay" });
  const room = session.join({ name: "abc" });
  await tick();
  const turn = (reply) => [{ urls: ["turn:t.example:3478?transport=udp"], username: `9:${reply}`, credential: "c" }];
  serve(socket(0), { iceServers: turn });
  await until(() => room.isJoined());
  room.publish({});
  await until(() => pc(0));
  assert.deepEqual(pc(0).config, { iceServers: turn("join"), iceTransportPolicy: "relay", bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
});
