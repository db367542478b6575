// Fakes shared by the SDK tests: a WebSocket with a scripted server, timers, and (installFakeMedia) the
// browser's media objects (RTCPeerConnection, MediaStream, navigator.mediaDevices, elements).
import assert from "node:assert/strict";
import { Parley } from "../parley.js";

/** A fake WebSocket whose "server" side is driven by the test. */
export class FakeSocket {
  static instances = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.instances.push(this);
  }
  send(text) { const request = JSON.parse(text); this.sent.push(request); this.onsend?.(request); }
  close(code = 1000) { this.readyState = 3; this.onclose?.({ code, reason: "" }); }
  // server side
  open() { this.readyState = 1; this.onopen?.(); }
  push(frame) { this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) }); }
  drop(code = 1006) { this.readyState = 3; this.onclose?.({ code, reason: "" }); }
  /** The requests of one type sent so far. */
  requests(type) { return this.sent.filter((r) => r.type === type); }
}
export const socket = (i) => FakeSocket.instances[i];

/**
 * A tiny server on one socket: answers like docs/PROTOCOL.md says. `hold`: request types whose replies are
 * kept in `ws.held` (push them by hand); `refuse`: `{type: code}` error replies (`refuseJoin` for joins, may be
 * a function of the request). Media requests get stream ids `pub1`, `play1`, … and the answer SDP `answer`.
 * `iceServers(reply)`: TURN servers for the connect and join replies.
 */
export function serve(ws, { username = "test", others = [], history = [], refuseJoin, refuse = {}, hold = [], iceServers } = {}) {
  ws.held = [];
  let streams = 0;
  ws.onsend = (req) => {
    const send = (frame) => (hold.includes(req.type) ? ws.held.push(frame) : queueMicrotask(() => ws.push(frame)));
    const reply = (result) => send({ id: req.id, ok: true, result });
    const fail = (code) => send({ id: req.id, ok: false, error: { code, message: `refused: ${code}` } });
    if (refuse[req.type]) return fail(refuse[req.type]);
    if (req.type === "connect") reply({ sessionId: `s${FakeSocket.instances.indexOf(ws)}`, username, server: { name: "parley", version: "t" }, ...(iceServers ? { iceServers: iceServers("connect") } : {}) });
    if (req.type === "join") {
      const refusal = typeof refuseJoin === "function" ? refuseJoin(req) : refuseJoin;
      if (refusal) fail(refusal);
      else reply({ room: { name: req.room ?? "random123", maxParticipants: req.maxParticipants ?? 10, participants: others, history }, ...(iceServers ? { iceServers: iceServers("join") } : {}) });
    }
    if (req.type === "message") {
      const message = { room: req.room, from: username, text: req.text, time: 5 };
      if (req.to) message.to = req.to;
      reply({ message });
    }
    if (req.type === "publish") {
      const stream = `pub${++streams}`;
      reply({ stream, sdp: "answer", audio: true, video: true, ...(req.record ? { recordName: `stream-${stream}.webm` } : {}) });
    }
    if (req.type === "play") reply({ stream: `play${++streams}`, sdp: "answer" });
    if (req.type === "echo") reply({ stream: `echo${++streams}`, sdp: "answer" });
    if (req.type === "ping") reply({ time: 1 });
    if (["leave", "mute", "stop", "stopStream"].includes(req.type)) reply({});
  };
  ws.open();
}

export const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
export async function until(condition, what = "condition") {
  for (let i = 0; i < 200 && !condition(); i++) await tick();
  assert.ok(condition(), `${what} not reached`);
}
/** Timers the test fires by hand: `timers.queue` holds {fn, ms}. */
export function fakeTimers() {
  const queue = [];
  return {
    queue,
    setTimeout: (fn, ms) => { const t = { fn, ms }; queue.push(t); return t; },
    clearTimeout: (t) => { const i = queue.indexOf(t); if (i >= 0) queue.splice(i, 1); },
    fire() { queue.shift().fn(); },
  };
}
export function connect(options = {}) {
  FakeSocket.instances = [];
  // No heartbeat unless a test asks: its timers would mix with the reconnection's in fakeTimers().
  return Parley.roomApi.connect({ urlServer: "ws://x/ws", username: "test", WebSocket: FakeSocket, heartbeat: false, ...options });
}

// ---- media ----

export class FakeTrack extends EventTarget {
  constructor(kind) {
    super();
    this.kind = kind;
    this.enabled = true;
    this.stopped = false;
  }
  stop() { this.stopped = true; }
  /** What the browser does when the user presses its own "Stop sharing". */
  end() { this.dispatchEvent(new Event("ended")); }
}

export class FakeMediaStream {
  constructor(tracks = []) { this.tracks = [...tracks]; }
  getTracks() { return [...this.tracks]; }
  getAudioTracks() { return this.tracks.filter((t) => t.kind === "audio"); }
  getVideoTracks() { return this.tracks.filter((t) => t.kind === "video"); }
  addTrack(track) { this.tracks.push(track); }
}

export class FakePeerConnection {
  static instances = [];
  constructor(config) {
    this.config = config;
    this.transceivers = [];
    this.localDescription = null;
    this.remoteDescription = null;
    this.closed = false;
    FakePeerConnection.instances.push(this);
  }
  addTransceiver(trackOrKind, init) {
    const track = typeof trackOrKind === "string" ? null : trackOrKind;
    this.transceivers.push({ kind: track?.kind ?? trackOrKind, track, direction: init?.direction ?? "sendrecv", streams: init?.streams });
  }
  addTrack(track) { this.transceivers.push({ kind: track.kind, track, direction: "sendrecv" }); }
  async createOffer() { return { type: "offer", sdp: `offer${FakePeerConnection.instances.indexOf(this)}` }; }
  async setLocalDescription(description) { this.localDescription = description; }
  async setRemoteDescription(description) {
    if (this.closed) throw new DOMException("The peer connection is closed", "InvalidStateError");
    this.remoteDescription = description;
  }
  close() { this.closed = true; }
  async getStats() { return new Map(); }
  /** The server's media arriving: fires ontrack with a new remote track. */
  receive(kind) {
    const track = new FakeTrack(kind);
    this.ontrack?.({ track, streams: [] });
    return track;
  }
}
export const pc = (i) => FakePeerConnection.instances[i];

/** navigator.mediaDevices: records its calls; `deny` makes the next capture fail with that error. */
export const devices = {
  calls: [],
  deny: null,
  async getUserMedia(constraints) { return this.capture("getUserMedia", constraints); },
  async getDisplayMedia(constraints) { return this.capture("getDisplayMedia", constraints); },
  capture(method, constraints) {
    this.calls.push({ method, constraints });
    if (this.deny) throw this.deny;
    const kinds = ["audio", "video"].filter((kind) => constraints[kind]);
    return new FakeMediaStream(kinds.map((kind) => new FakeTrack(kind)));
  },
};

/** An element: `fakeElement("DIV")` is a container whose created children are <video> fakes. */
export function fakeElement(tagName) {
  return {
    tagName,
    children: [],
    parent: null,
    ownerDocument: { createElement: (name) => fakeElement(name.toUpperCase()) },
    appendChild(child) { child.parent = this; this.children.push(child); },
    remove() { this.parent.children.splice(this.parent.children.indexOf(this), 1); this.parent = null; },
  };
}

/** Puts the media fakes on globalThis (Node has none of them) and resets their records. */
export function installFakeMedia() {
  FakePeerConnection.instances = [];
  devices.calls = [];
  devices.deny = null;
  globalThis.RTCPeerConnection = FakePeerConnection;
  globalThis.MediaStream = FakeMediaStream;
  Object.defineProperty(globalThis, "navigator", { value: { mediaDevices: devices }, configurable: true, writable: true });
}
