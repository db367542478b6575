// Unit tests of the SDK against a scripted fake server: `node --test Web/sdk/test/`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Parley, SESSION_STATUS, ROOM_EVENT, ParleyError } from "../parley.js";
import { FakeSocket, socket, serve, tick, until, fakeTimers, connect } from "./fakes.mjs";

function record(session) {
  const statuses = [];
  for (const s of Object.values(SESSION_STATUS)) session.on(s, (_session, info) => statuses.push(info?.code ? `${s} ${info.code}` : s));
  return statuses;
}

test("connect → CONNECTED, ESTABLISHED; a join queued before that → STATE with participants and history", async () => {
  const session = connect({ username: " test " });
  const statuses = record(session);
  let state = null;
  const room = session.join({ name: "abc", maxParticipants: 3 }).on(ROOM_EVENT.STATE, (r) => (state = r));
  assert.equal(session.status(), SESSION_STATUS.PENDING);
  await tick();
  assert.equal(socket(0).url, "ws://x/ws");
  serve(socket(0), { others: [{ name: "alice", streams: [] }], history: [{ room: "abc", from: "alice", text: "hi", time: 1 }] });
  await until(() => state, "STATE");
  assert.equal(state, room);
  assert.deepEqual(statuses, ["CONNECTED", "ESTABLISHED"]);
  assert.equal(session.id(), "s0");
  assert.equal(session.username(), "test", "trimmed by the server");
  assert.equal(room.name(), "abc");
  assert.equal(room.maxParticipants(), 3);
  assert.deepEqual(room.getParticipants().map((p) => p.name()), ["alice"]);
  assert.equal(room.history()[0].from, room.getParticipants()[0], "the sender is the participant object");
  assert.deepEqual(room.history()[0].time, new Date(1));
  const [connectRequest, joinRequest] = socket(0).sent;
  assert.deepEqual(connectRequest, { id: connectRequest.id, type: "connect", username: " test " });
  assert.deepEqual(joinRequest, { id: joinRequest.id, type: "join", room: "abc", maxParticipants: 3 });
  assert.ok(Number.isInteger(connectRequest.id) && joinRequest.id > connectRequest.id, "numeric, increasing ids");
});

test("join without a name: the server's name is known from STATE on; a join after ESTABLISHED is sent at once", async () => {
  const session = connect();
  await tick();
  serve(socket(0));
  await until(() => session.status() === SESSION_STATUS.ESTABLISHED);
  const room = session.join();
  assert.equal(room.name(), null);
  assert.deepEqual(socket(0).sent.at(-1), { id: socket(0).sent.at(-1).id, type: "join" });
  await until(() => room.isJoined());
  assert.equal(room.name(), "random123");
});

test("events: JOINED, MESSAGE (room and private), LEFT; events of other rooms are ignored", async () => {
  const session = connect();
  const seen = [];
  const room = session.join({ name: "abc" })
    .on(ROOM_EVENT.JOINED, (p) => seen.push(`joined ${p.name()}`))
    .on(ROOM_EVENT.MESSAGE, (m) => seen.push(`${m.from.name()}${m.to ? ` to ${m.to}` : ""}: ${m.text}`))
    .on(ROOM_EVENT.LEFT, (p, reason) => seen.push(`left ${p.name()} ${reason}`));
  await tick();
  serve(socket(0));
  await until(() => room.isJoined());
  socket(0).push({ event: "joined", room: "abc", participant: { name: "bob", streams: [] } });
  socket(0).push({ event: "message", room: "abc", from: "bob", text: "hello", time: 2 });
  socket(0).push({ event: "message", room: "abc", from: "bob", text: "psst", time: 3, to: "test" });
  socket(0).push({ event: "message", room: "other", from: "x", text: "not ours", time: 2 });
  socket(0).push({ event: "left", room: "abc", participant: { name: "bob" }, reason: "disconnected" });
  assert.deepEqual(seen, ["joined bob", "bob: hello", "bob to test: psst", "left bob disconnected"]);
  assert.equal(room.getParticipants().length, 0);
  assert.deepEqual(room.history().map((m) => m.text), ["hello", "psst"]);
});

test("sendMessage to the room and to one participant resolves with the message; leave resolves with {}", async () => {
  const session = connect();
  const room = session.join({ name: "abc" });
  await tick();
  serve(socket(0), { others: [{ name: "bob", streams: [] }] });
  await until(() => room.isJoined());
  const sent = await room.sendMessage("hi all");
  assert.equal(sent.text, "hi all");
  assert.equal(sent.from.name(), "test");
  assert.ok(sent.time instanceof Date);
  assert.equal(sent.to, undefined);
  const request = socket(0).sent.at(-1);
  assert.deepEqual(request, { id: request.id, type: "message", room: "abc", text: "hi all" });

  const [bob] = room.getParticipants();
  const privately = await bob.sendMessage("hi you");
  assert.equal(privately.to, "bob");
  assert.deepEqual(socket(0).sent.at(-1), { id: socket(0).sent.at(-1).id, type: "message", room: "abc", text: "hi you", to: "bob" });
  assert.deepEqual(room.history().map((m) => m.text), ["hi all", "hi you"]);

  assert.deepEqual(await room.leave(), {});
  assert.deepEqual(socket(0).sent.at(-1), { id: socket(0).sent.at(-1).id, type: "leave", room: "abc" });
  assert.equal(room.isJoined(), false);
  assert.equal(session.rooms().length, 0);
  await assert.rejects(room.sendMessage("too late"), { code: "not_in_room" });
});

test("an error reply rejects with a ParleyError carrying the code; replies are matched by id", async () => {
  const session = connect();
  const room = session.join({ name: "abc" });
  await tick();
  serve(socket(0));
  await until(() => room.isJoined());
  socket(0).onsend = () => {};  // answer by hand, out of order
  const first = room.sendMessage("");
  const second = room.sendMessage("ok");
  const [a, b] = socket(0).sent.slice(-2);
  socket(0).push({ id: b.id, ok: true, result: { message: { room: "abc", from: "test", text: "ok", time: 9 } } });
  socket(0).push({ id: 999, ok: true, result: {} });    // unknown id: ignored
  socket(0).push({ id: null, ok: false, error: { code: "bad_json", message: "?" } });
  socket(0).push("not json");
  socket(0).push({ id: a.id, ok: false, error: { code: "invalid_text", message: "empty" } });
  assert.equal((await second).text, "ok");
  const error = await first.then(() => null, (e) => e);
  assert.ok(error instanceof ParleyError && error instanceof Error);
  assert.equal(error.code, "invalid_text");
  assert.equal(error.message, "empty");
});

test("sendMessage before the room is joined rejects with not_in_room, without sending", async () => {
  const session = connect();
  const room = session.join({ name: "abc" });
  await assert.rejects(room.sendMessage("early"), { code: "not_in_room" });
  await tick();
  assert.equal(socket(0).sent.length, 0);
});

test("a refused join emits ROOM_EVENT.FAILED with the code and is forgotten", async () => {
  const session = connect();
  let failure = null;
  const room = session.join({ name: "abc" }).on(ROOM_EVENT.FAILED, (r, info) => (failure = { r, info }));
  await tick();
  serve(socket(0), { refuseJoin: "name_taken" });
  await until(() => failure);
  assert.equal(failure.r, room);
  assert.deepEqual(failure.info, { code: "name_taken", message: "refused: name_taken" });
  assert.equal(session.rooms().length, 0);
  assert.equal(session.status(), SESSION_STATUS.ESTABLISHED, "the session stays up");
});

test("a refused connect → FAILED with the error, no reconnect; joins never sent", async () => {
  const timers = fakeTimers();
  const session = connect({ username: "\u0001", timers });
  const statuses = record(session);
  session.join({ name: "abc" });
  await tick();
  socket(0).onsend = (req) => queueMicrotask(() => socket(0).push({ id: req.id, ok: false, error: { code: "invalid_username", message: "bad" } }));
  socket(0).open();
  await until(() => session.status() === SESSION_STATUS.FAILED);
  assert.deepEqual(statuses, ["CONNECTED", "FAILED invalid_username"]);
  assert.equal(socket(0).readyState, 3, "the socket is closed");
  assert.deepEqual(socket(0).sent.map((r) => r.type), ["connect"]);
  assert.equal(timers.queue.length, 0);
  assert.equal(FakeSocket.instances.length, 1);
});

test("a server that cannot be reached → FAILED at once (nothing to reconnect to)", async () => {
  const timers = fakeTimers();
  const session = connect({ timers });
  const statuses = record(session);
  await tick();
  socket(0).drop();
  assert.deepEqual(statuses, ["FAILED connection_lost"]);
  assert.equal(timers.queue.length, 0);
});

test("after a drop: RECONNECTING with doubling backoff, then ESTABLISHED and every room rejoined with STATE", async () => {
  const timers = fakeTimers();
  const session = connect({ timers, reconnect: { maxAttempts: 5, initialDelay: 100, maxDelay: 300 } });
  const statuses = record(session);
  const states = [];
  const named = session.join({ name: "abc" }).on(ROOM_EVENT.STATE, (r) => states.push(r.name()));
  const random = session.join().on(ROOM_EVENT.STATE, (r) => states.push(r.name()));
  await tick();
  serve(socket(0), { others: [{ name: "bob", streams: [] }] });
  await until(() => states.length === 2);

  const pending = named.sendMessage("lost");
  socket(0).drop();
  await assert.rejects(pending, { code: "connection_lost" });
  assert.equal(session.status(), SESSION_STATUS.RECONNECTING);
  assert.equal(named.isJoined(), false);
  await assert.rejects(named.sendMessage("while down"), { code: "not_in_room" });

  const delays = [];
  for (let i = 1; i <= 3; i++) {   // three retries find no server
    delays.push(timers.queue[0].ms);
    timers.fire();
    socket(i).drop();
  }
  delays.push(timers.queue[0].ms);
  assert.ok(delays[0] >= 50 && delays[0] <= 100, `first delay ${delays[0]}`);
  assert.ok(delays[1] >= 100 && delays[1] <= 200, `second delay ${delays[1]}`);
  assert.ok(delays[2] >= 150 && delays[2] <= 300 && delays[3] <= 300, `capped: ${delays}`);
  timers.fire();                   // the fourth finds it back
  serve(socket(4), { others: [{ name: "bob", streams: [] }] });
  await until(() => states.length === 4);
  assert.deepEqual(states, ["abc", "random123", "abc", "random123"]);
  assert.equal(session.status(), SESSION_STATUS.ESTABLISHED);
  assert.equal(session.id(), "s4");
  assert.deepEqual(socket(4).sent.map((r) => [r.type, r.room]), [["connect", undefined], ["join", "abc"], ["join", "random123"]]);
  assert.deepEqual(statuses, ["CONNECTED", "ESTABLISHED", "RECONNECTING connection_lost", "CONNECTED", "ESTABLISHED"]);
  assert.deepEqual(named.getParticipants().map((p) => p.name()), ["bob"]);

  // The attempt count starts over after a success.
  socket(4).drop();
  assert.ok(timers.queue[0].ms <= 100);
});

test("gives up after maxAttempts → FAILED; reconnect: false → FAILED at the first drop", async () => {
  const timers = fakeTimers();
  const session = connect({ timers, reconnect: { maxAttempts: 2, initialDelay: 10 } });
  const statuses = record(session);
  await tick();
  serve(socket(0));
  await until(() => session.status() === SESSION_STATUS.ESTABLISHED);
  socket(0).drop();
  timers.fire();
  socket(1).drop();
  timers.fire();
  socket(2).drop();
  assert.equal(session.status(), SESSION_STATUS.FAILED);
  assert.equal(timers.queue.length, 0);
  assert.deepEqual(statuses, ["CONNECTED", "ESTABLISHED", "RECONNECTING connection_lost", "FAILED connection_lost"]);

  const plain = connect({ timers, reconnect: false });
  await tick();
  serve(socket(0));
  await until(() => plain.status() === SESSION_STATUS.ESTABLISHED);
  socket(0).drop(1001);
  assert.equal(plain.status(), SESSION_STATUS.FAILED);
  assert.equal(timers.queue.length, 0);
});

test("disconnect() → DISCONNECTED, closes the socket and never reconnects, even during RECONNECTING", async () => {
  const { session, statuses, timers } = await established();
  session.disconnect();
  assert.equal(socket(0).readyState, 3);
  assert.equal(timers.queue.length, 0);
  assert.deepEqual(statuses, ["CONNECTED", "ESTABLISHED", "DISCONNECTED"]);

  const other = connect({ timers });
  await tick();
  serve(socket(0));
  await until(() => other.status() === SESSION_STATUS.ESTABLISHED);
  socket(0).drop();
  assert.equal(timers.queue.length, 1);
  other.disconnect();
  assert.equal(timers.queue.length, 0, "the retry is cancelled");
  assert.equal(other.status(), SESSION_STATUS.DISCONNECTED);
});

test("a join in flight when the socket drops is not FAILED: it is sent again after the reconnect", async () => {
  const timers = fakeTimers();
  const session = connect({ timers });
  let failed = false;
  let states = 0;
  session.join({ name: "abc" }).on(ROOM_EVENT.FAILED, () => (failed = true)).on(ROOM_EVENT.STATE, () => states++);
  await tick();
  serve(socket(0), { hold: ["join"] });   // connect answered, join never
  await until(() => socket(0).sent.length === 2);
  socket(0).drop();
  await tick();
  assert.equal(failed, false);
  timers.fire();
  serve(socket(1));
  await until(() => states === 1);
  assert.equal(failed, false);
  assert.equal(session.rooms().length, 1);
});

test("leave() while the join is in flight: the join is undone when its reply comes", async () => {
  const session = connect();
  let states = 0;
  const room = session.join({ name: "abc" }).on(ROOM_EVENT.STATE, () => states++);
  await tick();
  serve(socket(0), { hold: ["join"] });
  await until(() => socket(0).sent.length === 2);
  assert.deepEqual(await room.leave(), {});
  assert.equal(session.rooms().length, 0);
  for (const frame of socket(0).held) socket(0).push(frame);
  await until(() => socket(0).sent.length === 3);
  assert.deepEqual(socket(0).sent.at(-1), { id: socket(0).sent.at(-1).id, type: "leave", room: "abc" });
  assert.equal(states, 0);
  assert.equal(room.isJoined(), false);
});

test("a rejoin refused with name_taken (our old session not yet timed out) is retried with backoff", async () => {
  const timers = fakeTimers();
  const session = connect({ timers, reconnect: { maxAttempts: 3, initialDelay: 100 } });
  let states = 0;
  let failure = null;
  session.join({ name: "abc" }).on(ROOM_EVENT.STATE, () => states++).on(ROOM_EVENT.FAILED, (_r, info) => (failure = info));
  await tick();
  serve(socket(0));
  await until(() => states === 1);
  socket(0).drop();
  timers.fire();
  let refusals = 2;   // the server still holds the old session for two more joins
  serve(socket(1), { refuseJoin: () => (refusals-- > 0 ? "name_taken" : null) });
  await until(() => timers.queue.length === 1, "first rejoin retry scheduled");
  assert.ok(timers.queue[0].ms <= 100);
  timers.fire();
  await until(() => timers.queue.length === 1, "second rejoin retry scheduled");
  assert.ok(timers.queue[0].ms >= 100 && timers.queue[0].ms <= 200);
  timers.fire();
  await until(() => states === 2);
  assert.equal(failure, null);
  assert.deepEqual(socket(1).sent.map((r) => r.type), ["connect", "join", "join", "join"]);

  // Past maxAttempts the rejoin gives up with FAILED name_taken.
  socket(1).drop();
  timers.fire();
  serve(socket(2), { refuseJoin: "name_taken" });
  for (let i = 0; i < 3; i++) {
    await until(() => timers.queue.length === 1);
    timers.fire();
  }
  await until(() => failure);
  assert.equal(failure.code, "name_taken");
  assert.equal(session.rooms().length, 0);
});

test("on() chains, off() removes a handler, and a throwing handler does not stop the others", async () => {
  const session = connect();
  const calls = [];
  const removed = () => calls.push("removed");
  const originalError = console.error;
  console.error = () => {};
  try {
    assert.equal(session.on(SESSION_STATUS.ESTABLISHED, removed), session);
    assert.equal(session.off(SESSION_STATUS.ESTABLISHED, removed), session);
    session
      .on(SESSION_STATUS.ESTABLISHED, () => { throw new Error("app bug"); })
      .on(SESSION_STATUS.ESTABLISHED, () => calls.push("second"));
    const room = session.join({ name: "abc" });
    await tick();
    serve(socket(0));
    await until(() => room.isJoined());
  } finally {
    console.error = originalError;
  }
  assert.deepEqual(calls, ["second"]);
});

test("connect() validates its options; a malformed URL → FAILED bad_url", async () => {
  assert.throws(() => Parley.roomApi.connect({ username: "x" }), TypeError);
  assert.throws(() => Parley.roomApi.connect({ urlServer: "ws://x" }), TypeError);
  class Throwing { constructor() { throw new SyntaxError("bad url"); } }
  const session = Parley.roomApi.connect({ urlServer: "nope", username: "x", WebSocket: Throwing });
  await tick();
  assert.equal(session.status(), SESSION_STATUS.FAILED);
});

test("room.republish sends the request, resolves with a Republish that follows its status events until ended", async () => {
  const session = connect();
  const room = session.join({ name: "abc" });
  await tick();
  serve(socket(0));
  await until(() => room.isJoined());
  await assert.rejects(room.republish(undefined, "rtmp://h/live/k"), { code: "unknown_stream" });
  socket(0).onsend = () => {};  // answer by hand
  const pending = room.republish("pub7", "rtmp://h/live/k");
  await tick();
  const request = socket(0).sent.at(-1);
  assert.deepEqual(request, { id: request.id, type: "republish", room: "abc", stream: "pub7", url: "rtmp://h/live/k" });
  socket(0).push({ id: request.id, ok: true, result: { republish: "R1" } });
  const push = await pending;
  assert.equal(push.id(), "R1");
  assert.equal(push.stream(), "pub7");
  const seen = [];
  push.on("status", (p, info) => seen.push([p.id(), info.status, info.attempt ?? info.retryIn ?? info.reason]));
  socket(0).push({ event: "republish", republish: "R1", stream: "pub7", status: "connecting", attempt: 1 });
  socket(0).push({ event: "republish", republish: "other", stream: "pub7", status: "publishing" });  // not ours
  socket(0).push({ event: "republish", republish: "R1", stream: "pub7", status: "retrying", message: "gone", retryIn: 2 });
  socket(0).push({ event: "republish", republish: "R1", stream: "pub7", status: "publishing" });
  push.stop();
  const stop = socket(0).sent.at(-1);
  assert.deepEqual(stop, { id: stop.id, type: "stopRepublish", republish: "R1" });
  socket(0).push({ event: "republish", republish: "R1", stream: "pub7", status: "ended", reason: "stopped" });
  socket(0).push({ event: "republish", republish: "R1", stream: "pub7", status: "publishing" });  // after the end: ignored
  await tick();
  assert.deepEqual(seen, [["R1", "connecting", 1], ["R1", "retrying", 2], ["R1", "publishing", undefined], ["R1", "ended", "stopped"]]);
  assert.equal(push.status(), "ended");
  assert.deepEqual(await push.stop(), {});  // nothing sent once ended
  assert.equal(socket(0).sent.at(-1).id, stop.id);
});

test("a dropped socket ends every Republish with connection_lost", async () => {
  const session = connect();
  const room = session.join({ name: "abc" });
  await tick();
  serve(socket(0));
  await until(() => room.isJoined());
  socket(0).onsend = () => {};
  const pending = room.republish("pub7", "rtmp://h/live/k");
  await tick();
  const request = socket(0).sent.at(-1);
  socket(0).push({ id: request.id, ok: true, result: { republish: "R1" } });
  const push = await pending;
  const seen = [];
  push.on("status", (_p, info) => seen.push(`${info.status} ${info.reason ?? ""}`.trim()));
  socket(0).close(1006, "gone");
  await tick();
  assert.deepEqual(seen, ["ended connection_lost"]);
  assert.equal(push.status(), "ended");
});

test("heartbeat: a ping every interval; one unanswered for the timeout drops the socket and reconnects", async () => {
  const timers = fakeTimers();
  const session = connect({ timers, heartbeat: { interval: 1000, timeout: 500 } });
  const statuses = record(session);
  await tick();
  serve(socket(0));
  await until(() => session.status() === SESSION_STATUS.ESTABLISHED);
  assert.deepEqual(timers.queue.map((t) => t.ms), [1000], "the first beat is scheduled when the socket opens");
  timers.fire();
  assert.deepEqual(socket(0).requests("ping").map((r) => r.type), ["ping"]);
  assert.deepEqual(timers.queue.map((t) => t.ms), [500], "waiting for the answer");
  await until(() => timers.queue[0]?.ms === 1000, "answered: the next beat");
  assert.equal(timers.queue.length, 1);

  // The server goes silent (a half-open connection): the next ping is never answered.
  socket(0).onsend = () => {};
  timers.fire();
  assert.equal(socket(0).requests("ping").length, 2);
  timers.fire();
  assert.equal(session.status(), SESSION_STATUS.RECONNECTING);
  assert.equal(socket(0).readyState, 3, "the dead socket is closed");
  assert.deepEqual(statuses.slice(-1), ["RECONNECTING connection_lost"]);
  assert.equal(timers.queue.length, 1, "only the retry is left");
  timers.fire();
  serve(socket(1));
  await until(() => session.status() === SESSION_STATUS.ESTABLISHED);
  session.disconnect();
  assert.equal(timers.queue.length, 0, "no beat after disconnect()");
});

test("the browser's `online` event retries at once while RECONNECTING, and checks an open socket at once", async () => {
  const target = new EventTarget();
  globalThis.addEventListener = target.addEventListener.bind(target);
  globalThis.removeEventListener = target.removeEventListener.bind(target);
  try {
    const timers = fakeTimers();
    const session = connect({ timers, heartbeat: { interval: 10000, timeout: 5000 } });
    await tick();
    serve(socket(0));
    await until(() => session.status() === SESSION_STATUS.ESTABLISHED);
    target.dispatchEvent(new Event("online"));
    assert.equal(socket(0).requests("ping").length, 1, "an open socket is checked");
    await until(() => timers.queue.length === 1 && timers.queue[0].ms === 10000);

    socket(0).drop();
    assert.equal(session.status(), SESSION_STATUS.RECONNECTING);
    assert.equal(FakeSocket.instances.length, 1);
    target.dispatchEvent(new Event("online"));
    assert.equal(FakeSocket.instances.length, 2, "a new socket at once");
    serve(socket(1));
    await until(() => session.status() === SESSION_STATUS.ESTABLISHED);
    session.disconnect();
    target.dispatchEvent(new Event("online"));
    assert.equal(FakeSocket.instances.length, 2, "nothing after disconnect()");
  } finally {
    delete globalThis.addEventListener;
    delete globalThis.removeEventListener;
  }
});

test("token: sent with connect; a function is asked on every connect; a refusal is FAILED unauthorized", async () => {
  const fixed = connect({ token: "t0" });
  await tick();
  serve(socket(0));
  await until(() => fixed.status() === SESSION_STATUS.ESTABLISHED);
  assert.equal(socket(0).requests("connect")[0].token, "t0");

  const timers = fakeTimers();
  let minted = 0;
  const fresh = connect({ timers, token: async () => `t${++minted}` });
  await tick();
  serve(socket(0));
  await until(() => fresh.status() === SESSION_STATUS.ESTABLISHED);
  socket(0).drop();
  timers.fire();
  serve(socket(1));
  await until(() => fresh.status() === SESSION_STATUS.ESTABLISHED);
  assert.deepEqual([socket(0), socket(1)].map((ws) => ws.requests("connect")[0].token), ["t1", "t2"]);

  const refused = connect({ token: "expired" });
  const statuses = record(refused);
  await tick();
  serve(socket(0), { refuse: { connect: "unauthorized" } });
  await until(() => refused.status() === SESSION_STATUS.FAILED);
  assert.deepEqual(statuses, ["CONNECTED", "FAILED unauthorized"]);

  const broken = connect({ token: () => { throw new Error("backend down"); } });
  const seen = [];
  broken.on(SESSION_STATUS.FAILED, (_s, info) => seen.push(info));
  await tick();
  socket(0).open();
  await until(() => seen.length === 1);
  assert.deepEqual(seen, [{ code: "token_unavailable", message: "No access token: backend down" }]);
  assert.equal(socket(0).requests("connect").length, 0);
});

/** An ESTABLISHED session with fake timers, and the record of its statuses. */
async function established(options = {}) {
  const timers = fakeTimers();
  const session = connect({ timers, ...options });
  const statuses = record(session);
  await tick();
  serve(socket(0));
  await until(() => session.status() === SESSION_STATUS.ESTABLISHED);
  return { session, statuses, timers };
}

test("closed with 4003 (removed by the operator): FAILED kicked, no reconnect", async () => {
  const { statuses, timers } = await established();
  socket(0).drop(4003);
  assert.deepEqual(statuses, ["CONNECTED", "ESTABLISHED", "FAILED kicked"]);
  assert.equal(timers.queue.length, 0, "no retry");
});
