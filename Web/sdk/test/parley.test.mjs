// Unit tests of the SDK against a scripted fake server: `node --test Web/sdk/test/`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Parley, SESSION_STATUS, ROOM_EVENT } from "../parley.js";

/** A fake WebSocket whose "server" side is a script in the test. */
class FakeSocket {
  static instances = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.instances.push(this);
  }
  send(text) { this.sent.push(JSON.parse(text)); this.onsend?.(JSON.parse(text)); }
  close(code = 1000) { this.readyState = 3; this.onclose?.({ code, reason: "" }); }
  // server side
  open() { this.readyState = 1; this.onopen?.(); }
  push(frame) { this.onmessage?.({ data: JSON.stringify(frame) }); }
  drop() { this.readyState = 3; this.onclose?.({ code: 1006, reason: "" }); }
}

/** A tiny server: answers connect and join, records everything. */
function serve(socket, { username = "test", others = [], history = [], refuseJoin } = {}) {
  socket.onsend = (req) => {
    const reply = (result) => queueMicrotask(() => socket.push({ id: req.id, ok: true, result }));
    const fail = (code) => queueMicrotask(() => socket.push({ id: req.id, ok: false, error: { code, message: code } }));
    if (req.type === "connect") reply({ sessionId: "s1", username, server: { name: "parley", version: "t" } });
    if (req.type === "join") refuseJoin ? fail(refuseJoin) : reply({ room: { name: req.room ?? "random123", maxParticipants: 10, participants: others, history } });
    if (req.type === "message") reply({ message: { room: req.room, from: username, text: req.text, time: 5, to: req.to } });
    if (req.type === "leave") reply({});
  };
  socket.open();
}

const tick = () => new Promise((r) => setTimeout(r, 0));
async function until(condition) {
  for (let i = 0; i < 200 && !condition(); i++) await tick();
  assert.ok(condition(), "condition not reached");
}
function fakeTimers() {
  const queue = [];
  return { queue, setTimeout: (fn, ms) => (queue.push({ fn, ms }), queue.length), clearTimeout: () => {} };
}

test("connect → ESTABLISHED, join → STATE with participants and history", async () => {
  FakeSocket.instances = [];
  const statuses = [];
  const session = Parley.roomApi.connect({ urlServer: "ws://x/ws", username: " test ", WebSocket: FakeSocket })
    .on(SESSION_STATUS.CONNECTED, () => statuses.push("CONNECTED"))
    .on(SESSION_STATUS.ESTABLISHED, () => statuses.push("ESTABLISHED"));
  let state = null;
  const room = session.join({ name: "abc" }).on(ROOM_EVENT.STATE, (r) => (state = r));
  await tick();
  serve(FakeSocket.instances[0], { others: [{ name: "alice", streams: [] }], history: [{ room: "abc", from: "alice", text: "hi", time: 1 }] });
  await until(() => state);
  assert.deepEqual(statuses, ["CONNECTED", "ESTABLISHED"]);
  assert.equal(session.id(), "s1");
  assert.equal(room.name(), "abc");
  assert.deepEqual(room.getParticipants().map((p) => p.name()), ["alice"]);
  assert.equal(room.history()[0].from.name(), "alice");
  assert.ok(room.history()[0].time instanceof Date);
  assert.deepEqual(FakeSocket.instances[0].sent.map((r) => r.type), ["connect", "join"]);
});

test("events: JOINED, MESSAGE, LEFT; sendMessage to the room and to one participant", async () => {
  FakeSocket.instances = [];
  const session = Parley.roomApi.connect({ urlServer: "ws://x/ws", username: "test", WebSocket: FakeSocket });
  const seen = [];
  const room = session.join({ name: "abc" })
    .on(ROOM_EVENT.JOINED, (p) => seen.push(`joined ${p.name()}`))
    .on(ROOM_EVENT.MESSAGE, (m) => seen.push(`${m.from.name()}: ${m.text}`))
    .on(ROOM_EVENT.LEFT, (p, reason) => seen.push(`left ${p.name()} ${reason}`));
  await tick();
  const socket = FakeSocket.instances[0];
  serve(socket);
  await until(() => room.isJoined());
  socket.push({ event: "joined", room: "abc", participant: { name: "bob", streams: [] } });
  socket.push({ event: "message", room: "abc", from: "bob", text: "hello", time: 2 });
  socket.push({ event: "message", room: "other", from: "x", text: "not ours", time: 2 });
  const sent = await room.sendMessage("hi bob");
  assert.equal(sent.text, "hi bob");
  await room.getParticipants()[0].sendMessage("private");
  assert.deepEqual(socket.sent.at(-1), { id: socket.sent.at(-1).id, type: "message", room: "abc", text: "private", to: "bob" });
  socket.push({ event: "left", room: "abc", participant: { name: "bob" }, reason: "disconnected" });
  assert.deepEqual(seen, ["joined bob", "bob: hello", "left bob disconnected"]);
  assert.equal(room.getParticipants().length, 0);
  assert.deepEqual(room.history().map((m) => m.text), ["hello", "hi bob", "private"]);
  await room.leave();
  assert.equal(socket.sent.at(-1).type, "leave");
});

test("a refused join emits ROOM_EVENT.FAILED with the code", async () => {
  FakeSocket.instances = [];
  const session = Parley.roomApi.connect({ urlServer: "ws://x/ws", username: "test", WebSocket: FakeSocket });
  let info = null;
  session.join({ name: "full" }).on(ROOM_EVENT.FAILED, (_room, i) => (info = i));
  await tick();
  serve(FakeSocket.instances[0], { refuseJoin: "room_full" });
  await until(() => info);
  assert.equal(info.code, "room_full");
  assert.equal(session.rooms().length, 0);
});

test("a refused connect fails without reconnecting", async () => {
  FakeSocket.instances = [];
  let failed = null;
  const session = Parley.roomApi.connect({ urlServer: "ws://x/ws", username: "x", WebSocket: FakeSocket })
    .on(SESSION_STATUS.FAILED, (_s, info) => (failed = info));
  await tick();
  const socket = FakeSocket.instances[0];
  socket.onsend = (req) => queueMicrotask(() => socket.push({ id: req.id, ok: false, error: { code: "invalid_username", message: "bad" } }));
  socket.open();
  await until(() => failed);
  assert.equal(failed.code, "invalid_username");
  assert.equal(session.status(), SESSION_STATUS.FAILED);
  assert.equal(FakeSocket.instances.length, 1);
});

test("after a drop: RECONNECTING with backoff, then ESTABLISHED again and rooms rejoined", async () => {
  FakeSocket.instances = [];
  const timers = fakeTimers();
  const statuses = [];
  const session = Parley.roomApi.connect({ urlServer: "ws://x/ws", username: "test", WebSocket: FakeSocket, timers,
    reconnect: { maxAttempts: 3, initialDelay: 100, maxDelay: 1000 } });
  for (const s of Object.values(SESSION_STATUS)) session.on(s, () => statuses.push(s));
  let states = 0;
  const room = session.join().on(ROOM_EVENT.STATE, () => states++);
  await tick();
  serve(FakeSocket.instances[0]);
  await until(() => states === 1);
  assert.equal(room.name(), "random123");

  FakeSocket.instances[0].drop();
  assert.equal(session.status(), SESSION_STATUS.RECONNECTING);
  assert.equal(timers.queue.length, 1);
  assert.ok(timers.queue[0].ms >= 50 && timers.queue[0].ms <= 100);
  timers.queue.shift().fn();            // retry 1: the socket fails to open
  FakeSocket.instances[1].drop();
  assert.ok(timers.queue[0].ms >= 100 && timers.queue[0].ms <= 200, "backoff doubles");
  timers.queue.shift().fn();            // retry 2: the server is back
  serve(FakeSocket.instances[2]);
  await until(() => states === 2);
  assert.equal(session.status(), SESSION_STATUS.ESTABLISHED);
  assert.deepEqual(FakeSocket.instances[2].sent.map((r) => [r.type, r.room]), [["connect", undefined], ["join", "random123"]]);
  assert.deepEqual(statuses, ["CONNECTED", "ESTABLISHED", "RECONNECTING", "CONNECTED", "ESTABLISHED"]);
});

test("gives up after maxAttempts, and never reconnects after disconnect()", async () => {
  FakeSocket.instances = [];
  const timers = fakeTimers();
  const session = Parley.roomApi.connect({ urlServer: "ws://x/ws", username: "t", WebSocket: FakeSocket, timers,
    reconnect: { maxAttempts: 2, initialDelay: 10 } });
  await tick();
  FakeSocket.instances[0].drop();
  timers.queue.shift().fn();
  FakeSocket.instances[1].drop();
  timers.queue.shift().fn();
  FakeSocket.instances[2].drop();
  assert.equal(session.status(), SESSION_STATUS.FAILED);
  assert.equal(timers.queue.length, 0);

  FakeSocket.instances = [];
  const other = Parley.roomApi.connect({ urlServer: "ws://x/ws", username: "t", WebSocket: FakeSocket, timers });
  await tick();
  serve(FakeSocket.instances[0]);
  await until(() => other.status() === SESSION_STATUS.ESTABLISHED);
  other.disconnect();
  assert.equal(other.status(), SESSION_STATUS.DISCONNECTED);
  assert.equal(timers.queue.length, 0);
});

test("requests fail fast when not connected, and pending ones are rejected on a drop", async () => {
  FakeSocket.instances = [];
  const session = Parley.roomApi.connect({ urlServer: "ws://x/ws", username: "t", WebSocket: FakeSocket, reconnect: false });
  await assert.rejects(session._request("ping"), { code: "not_connected" });
  await tick();
  const socket = FakeSocket.instances[0];
  socket.open();  // connect is sent but never answered
  const pending = session._request("ping");
  socket.drop();
  await assert.rejects(pending, { code: "not_connected" });
  assert.equal(session.status(), SESSION_STATUS.FAILED);
});

test("connect() validates its options", () => {
  assert.throws(() => Parley.roomApi.connect({ username: "x" }), TypeError);
  assert.throws(() => Parley.roomApi.connect({ urlServer: "ws://x" }), TypeError);
});
