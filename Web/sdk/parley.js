// Parley JavaScript SDK: a plain ES module (no build step, no dependency). Types: parley.d.ts.
// Wire protocol: docs/PROTOCOL.md. Room API shaped like the video-chat room APIs web developers know:
//   Parley.roomApi.connect({urlServer, username}) → session; session.join({name}) → room; room.sendMessage(text)
//   room.publish({display, constraints}) → stream; participant.play(display) → stream; stream.stop()
// After a dropped socket the session reconnects and rejoins its rooms by itself. The server ends a session's
// streams with its socket: our publishes go back to PENDING (code `connection_lost`), keep their camera and
// preview, and are published again once their room is rejoined (STATE), with a new id; plays and echo tests
// become FAILED (`connection_lost`), and the app plays the others' streams again from STATE.

export const SESSION_STATUS = Object.freeze({
  PENDING: "PENDING",           // created, socket not open yet
  CONNECTED: "CONNECTED",       // socket open, `connect` not answered yet
  ESTABLISHED: "ESTABLISHED",   // the server accepted the session
  RECONNECTING: "RECONNECTING", // the socket dropped; retrying with backoff
  DISCONNECTED: "DISCONNECTED", // closed by the application
  FAILED: "FAILED",             // refused by the server, unreachable, or gave up reconnecting
});

export const ROOM_EVENT = Object.freeze({
  STATE: "STATE",             // joined (again): the room's participants and chat history are known
  JOINED: "JOINED",           // another participant joined
  LEFT: "LEFT",               // another participant left
  MESSAGE: "MESSAGE",         // a chat message from another participant
  PUBLISHED: "PUBLISHED",     // another participant published a stream (camera, screen…)
  UNPUBLISHED: "UNPUBLISHED", // … and stopped it (or left)
  UPDATED: "UPDATED",         // … or changed its mute state
  FAILED: "FAILED",           // the join was refused (room_full, name_taken, …)
});

/** Stream events besides its status. */
export const STREAM_EVENT = Object.freeze({
  MUTED_BY_SERVER: "MUTED_BY_SERVER", // a publish: the operator muted or unmuted it (mutedByServer())
});

export const STREAM_STATUS = Object.freeze({
  PENDING: "PENDING",         // media requested, negotiating
  PUBLISHING: "PUBLISHING",   // a publish: the server receives our media
  PLAYING: "PLAYING",         // a play: media flows to us (for an echo test: your own media is coming back)
  UNPUBLISHED: "UNPUBLISHED", // a publish ended: stop(), leave, or closed by the server
  STOPPED: "STOPPED",         // a play or echo test ended: stop(), leave, or closed by the server
  FAILED: "FAILED",           // refused (camera denied, bad SDP, DTLS failure, socket lost…); info says why
});

// A 5 s cap brings clients back within seconds of a server's restart; 30 attempts keep trying for 1–2 minutes
// (a laptop waking up, a network coming back).
const DEFAULT_RECONNECT = { maxAttempts: 30, initialDelay: 500, maxDelay: 5000, restore: true };
// Browsers answer the server's WebSocket pings without telling the page, so only a request of our own shows a
// socket that went silent (a half-open TCP connection after sleep or a network change).
const DEFAULT_HEARTBEAT = { interval: 10000, timeout: 10000 };

/** Delay before retry number `attempt` (0-based): doubling, capped, with jitter in [½, 1] of it so that
 *  the clients of a restarted server do not all come back in the same millisecond. */
function backoff(config, attempt) {
  const base = Math.min(config.maxDelay, config.initialDelay * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

/** A tiny event emitter: `.on()` returns `this` so calls chain. */
class Emitter {
  #handlers = new Map();
  on(event, handler) {
    if (!this.#handlers.has(event)) this.#handlers.set(event, new Set());
    this.#handlers.get(event).add(handler);
    return this;
  }
  off(event, handler) {
    if (handler === undefined) this.#handlers.delete(event);
    else this.#handlers.get(event)?.delete(handler);
    return this;
  }
  emit(event, ...args) {
    for (const handler of [...(this.#handlers.get(event) ?? [])]) {
      try {
        handler(...args);
      } catch (error) {
        // One faulty handler must not stop the others or the SDK's own bookkeeping.
        console.error(`Parley: a ${event} handler threw`, error);
      }
    }
  }
}

/** A refusal: `code` is a server code from docs/PROTOCOL.md, or one of the SDK's own:
 *  `not_connected` (no open socket), `connection_lost` (the socket closed before the reply). */
export class ParleyError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = "ParleyError";
    this.code = code;
  }
}

export class Participant {
  #room;
  #name;
  constructor(room, data) {
    this.#room = room;
    this.#name = data.name;
    /** What this participant publishes: `{id, display, audio, video, audioMuted, videoMuted}` each. */
    this.streams = (data.streams ?? []).map((info) => ({ ...info }));
  }
  name() { return this.#name; }
  getStreams() { return [...this.streams]; }
  /** A private chat message to this participant. */
  sendMessage(text) { return this.#room.sendMessage(text, this.#name); }
  /** Plays one of this participant's streams (the first, or `options.stream` id / `options.name` label) in
   *  `display` (a container, where a <video> is created, or a <video>). → a Stream: PLAYING, STOPPED, FAILED. */
  play(display, options = {}) { return this.#room._play(this, display, options); }
}

export class Room extends Emitter {
  #session;
  #name;
  #maxParticipants;
  #participants = new Map();
  #history = [];
  #joined = false;    // the server counts us in the room now
  #joining = false;   // a join request is in flight
  #wasJoined = false; // joined once: a later join is a rejoin after a reconnect
  #left = false;      // leave() was called: never join again
  #retries = 0;       // rejoins refused with name_taken since the last success
  #receive = { audio: true, video: true };  // kinds participant.play() asks for, unless its options say

  constructor(session, options) {
    super();
    this.#session = session;
    this.#name = options.name ?? null;
    this.#maxParticipants = options.maxParticipants;
  }

  /** The room's name; for a room the server named, known from STATE on. */
  name() { return this.#name; }
  maxParticipants() { return this.#maxParticipants; }
  /** The other participants, in order of joining. */
  getParticipants() { return [...this.#participants.values()]; }
  /** The room's chat from the join reply (oldest first), plus every message sent or received since. */
  history() { return [...this.#history]; }
  isJoined() { return this.#joined; }

  /** Chat text to everyone in the room, or to one participant by name. Resolves with the stored message. */
  async sendMessage(text, to) {
    if (!this.#joined) throw new ParleyError("not_in_room", "The room is not joined (yet)");
    const fields = { room: this.#name, text };
    if (to !== undefined) fields.to = to;
    const result = await this.#session._request("message", fields);
    const message = this.#toMessage(result.message);
    this.#history.push(message);
    return message;
  }

  /** Pushes a stream of this room (our published Stream, or a stream id from a participant's streams) to another RTMP server,
   *  e.g. `rtmp://a.rtmp.youtube.com/live2/KEY`. Resolves with a Republish, whose "status" events say
   *  connecting, publishing, retrying (the server reconnects by itself) and ended. */
  async republish(stream, url) {
    if (!this.#joined) throw new ParleyError("not_in_room", "The room is not joined (yet)");
    const id = typeof stream === "string" ? stream : stream?.id?.();
    if (!id) throw new ParleyError("unknown_stream", "No stream to push: pass a stream id or a published Stream");
    const result = await this.#session._request("republish", { room: this.#name, stream: id, url });
    return this.#session._addRepublish(new Republish(this.#session, result.republish, id));
  }

  /** Leaves the room; resolves with the reply's result ({}). A join still in flight is undone. */
  async leave() {
    if (this.#left) return {};
    this.#left = true;
    this.#session._forget(this);
    // The server stops our publishes and plays of the room when we leave: end them here without a request.
    this.#session._endStreams(this, { code: "left", message: "Left the room" });
    if (!this.#joined) return {};
    this.#joined = false;
    return this.#session._request("leave", { room: this.#name });
  }

  /** Sends camera and microphone (`constraints: {audio, video}`) or the screen (`{screen: true, audio}`) to the
   *  room, with a muted preview in `display`. → a Stream: PUBLISHING, UNPUBLISHED, FAILED. `name` is the label
   *  others see (default "camera", or "screen"). `receiveAudio`/`receiveVideo: false` make this room's
   *  participant.play() skip that kind. `record: true` records the stream on the server: stream.getRecordInfo()
   *  names the file, downloadable at /client/records/NAME once the stream has ended. */
  publish({ display, name, constraints = { audio: true, video: true }, record, receiveAudio, receiveVideo } = {}) {
    if (receiveAudio !== undefined) this.#receive.audio = receiveAudio;
    if (receiveVideo !== undefined) this.#receive.video = receiveVideo;
    const label = name ?? (constraints.screen ? "screen" : "camera");
    const stream = new Stream(this.#session, "publish", display, this);
    queueMicrotask(() => stream._publish(constraints, label, record === true));
    return stream;
  }

  /** participant.play(): picks the published stream and the kinds to receive. */
  _play(participant, display, options) {
    const streams = participant.streams;
    const info = options.stream !== undefined ? streams.find((s) => s.id === options.stream)
      : options.name !== undefined ? streams.find((s) => s.display === options.name)
      : streams[0];
    const kinds = {
      audio: info?.audio !== false && (options.receiveAudio ?? this.#receive.audio),
      video: info?.video !== false && (options.receiveVideo ?? this.#receive.video),
    };
    const stream = new Stream(this.#session, "play", display, this);
    queueMicrotask(() => stream._play(participant, info, kinds, options.muted === true));
    return stream;
  }

  // ---- called by the session ----

  async _join() {
    if (this.#left || this.#joined || this.#joining) return;
    this.#joining = true;
    const fields = {};
    if (this.#name) fields.room = this.#name;
    if (this.#maxParticipants !== undefined) fields.maxParticipants = this.#maxParticipants;
    let room;
    try {
      let iceServers;
      ({ room, iceServers } = await this.#session._request("join", fields));
      this.#session._setIceServers(iceServers);
    } catch (error) {
      this.#joining = false;
      this.#joinRefused(error);
      return;
    }
    this.#joining = false;
    if (this.#left) {
      // leave() was called while the join was in flight: the server has us in the room now, so leave it.
      this.#session._request("leave", { room: room.name }).catch(() => {});
      return;
    }
    this.#name = room.name;
    this.#maxParticipants = room.maxParticipants;
    this.#participants = new Map(room.participants.map((p) => [p.name, new Participant(this, p)]));
    this.#history = room.history.map((m) => this.#toMessage(m));
    this.#joined = this.#wasJoined = true;
    this.#retries = 0;
    this.emit(ROOM_EVENT.STATE, this);
    this.#session._resumeStreams(this);
  }

  #joinRefused(error) {
    if (this.#left) return;
    // The socket dropped before the reply: the session joins again once it is back.
    if (error.code === "connection_lost" || error.code === "not_connected") return;
    // A rejoin right after a reconnect can find our old session still in the room: the server only drops it
    // when its socket times out (≈ 15 s of unanswered pings). That name_taken is our own ghost: retry.
    if (error.code === "name_taken" && this.#wasJoined && this.#session._retryLater(this, this.#retries++)) return;
    this.#session._forget(this);
    // Publishes kept through a reconnect cannot go back into this room.
    this.#session._endStreams(this, { code: error.code ?? "error", message: error.message }, true);
    this.emit(ROOM_EVENT.FAILED, this, { code: error.code ?? "error", message: error.message });
  }

  _socketLost() { this.#joined = false; }

  _event(frame) {
    if (!this.#joined) return;
    switch (frame.event) {
      case "joined": {
        const participant = new Participant(this, frame.participant);
        this.#participants.set(participant.name(), participant);
        this.emit(ROOM_EVENT.JOINED, participant);
        break;
      }
      case "left": {
        const name = frame.participant.name;
        const participant = this.#participants.get(name) ?? new Participant(this, { name });
        this.#participants.delete(name);
        this.emit(ROOM_EVENT.LEFT, participant, frame.reason);
        break;
      }
      case "message": {
        const message = this.#toMessage(frame);
        this.#history.push(message);
        this.emit(ROOM_EVENT.MESSAGE, message);
        break;
      }
      case "published":
      case "updated": {
        if (frame.event === "updated" && frame.participant.name === this.#session.username()) {
          this.#session._ownStreamUpdated(frame.stream);  // the operator muted or unmuted one of ours
          break;
        }
        const participant = this.#participants.get(frame.participant.name);
        if (!participant) break;
        const i = participant.streams.findIndex((s) => s.id === frame.stream.id);
        const info = { ...participant.streams[i], ...frame.stream };
        if (i >= 0) participant.streams[i] = info; else participant.streams.push(info);
        this.emit(frame.event === "published" ? ROOM_EVENT.PUBLISHED : ROOM_EVENT.UPDATED, participant, info);
        break;
      }
      case "unpublished": {
        const participant = this.#participants.get(frame.participant.name);
        if (!participant) break;
        const i = participant.streams.findIndex((s) => s.id === frame.stream.id);
        const info = i >= 0 ? participant.streams.splice(i, 1)[0] : { ...frame.stream };
        this.emit(ROOM_EVENT.UNPUBLISHED, participant, info, frame.reason);
        break;
      }
    }
  }

  #toMessage(data) {
    const from = this.#participants.get(data.from) ?? new Participant(this, { name: data.from });
    const message = { room: data.room, from, text: data.text, time: new Date(data.time) };
    if (data.to !== undefined) message.to = data.to;
    return message;
  }
}

export class Session extends Emitter {
  #options;
  #WebSocket;
  #timers;
  #reconnect;
  #socket = null;
  #status = SESSION_STATUS.PENDING;
  #id = null;
  #username;
  #nextId = 1;
  #pending = new Map();
  #rooms = new Set();
  #streams = new Set();  // live media streams (echo tests, publishes, plays)
  #republishes = new Map();  // pushes to other RTMP servers, by id, until their `ended`
  #recordings = new Map();   // publishes with record: true, by stream id, until their recording ends
  #early = [];           // `stream` events that came before the reply naming their stream
  #closedByUser = false;
  #wasEstablished = false;
  #attempt = 0;
  #retryTimer = null;
  #iceServers = [];  // TURN servers with this session's credentials (connect and join replies)
  #heartbeat;
  #beatTimer = null;
  #onOnline = () => this.#networkBack();

  constructor(options) {
    super();
    if (!options?.urlServer) throw new TypeError("connect() needs urlServer, e.g. ws://host:8080/ws");
    if (!options.username) throw new TypeError("connect() needs a username");
    this.#options = options;
    this.#username = options.username;
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.#reconnect = options.reconnect === false ? null : { ...DEFAULT_RECONNECT, ...(options.reconnect ?? {}) };
    this.#heartbeat = options.heartbeat === false ? null : { ...DEFAULT_HEARTBEAT, ...(options.heartbeat ?? {}) };
    globalThis.addEventListener?.("online", this.#onOnline);
    this.#timers = options.timers ?? {
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (handle) => globalThis.clearTimeout(handle),
    };
    // Open on the next microtask so that `.on(...)` handlers chained on connect() see every status.
    queueMicrotask(() => this.#open());
  }

  status() { return this.#status; }
  /** The server's session id; a new one after each reconnect. */
  id() { return this.#id; }
  /** The username as the server returned it (trimmed), or as given before that. */
  username() { return this.#username; }
  rooms() { return [...this.#rooms]; }

  /** Joins (or creates) a room; may be called before ESTABLISHED. Without a name the server makes one up. */
  join(options = {}) {
    const room = new Room(this, options);
    this.#rooms.add(room);
    if (this.#status === SESSION_STATUS.ESTABLISHED) room._join();
    return room;
  }

  /** Echo test: sends camera/microphone through the server and plays what comes back.
   *  `{display: <video element>, constraints: {audio, video}}` → a Stream with STREAM_STATUS events. */
  echoTest({ display, constraints = { audio: true, video: true } } = {}) {
    const stream = new Stream(this, "echo", display, null);
    queueMicrotask(() => stream._echo(constraints));
    return stream;
  }

  /** Closes the session for good: no reconnection. The server makes us leave every room and ends our streams. */
  disconnect() {
    this.#closedByUser = true;
    this.#timers.clearTimeout(this.#retryTimer);
    this.#timers.clearTimeout(this.#beatTimer);
    globalThis.removeEventListener?.("online", this.#onOnline);
    this._endStreams(undefined, { code: "disconnected", message: "The session was closed" });
    this.#socket?.close(1000);
    this.#setStatus(SESSION_STATUS.DISCONNECTED);
  }

  // ---- used by rooms (and later by media) ----

  /** Sends a request; resolves with the reply's `result` or rejects with a ParleyError. */
  _request(type, fields = {}) {
    return new Promise((resolve, reject) => {
      if (!this.#socket || this.#socket.readyState !== 1) {
        reject(new ParleyError("not_connected", "The session is not connected"));
        return;
      }
      const id = this.#nextId++;
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify({ id, type, ...fields }));
    });
  }

  _forget(room) { this.#rooms.delete(room); }

  /** The latest TURN servers from the server (credentials expire: a join brings fresh ones). */
  _setIceServers(servers) { if (Array.isArray(servers)) this.#iceServers = servers; }
  /** For each new RTCPeerConnection. */
  _iceConfiguration() {
    const configuration = { iceServers: this.#iceServers };
    if (this.#options.iceTransportPolicy) configuration.iceTransportPolicy = this.#options.iceTransportPolicy;
    return configuration;
  }

  _addStream(stream) { this.#streams.add(stream); }
  _addRecording(stream) { this.#recordings.set(stream.id(), stream); }
  _addRepublish(push) { this.#republishes.set(push.id(), push); return push; }
  _dropRepublish(push) { this.#republishes.delete(push.id()); }
  _dropStream(stream) { this.#streams.delete(stream); }
  _ownStreamUpdated(info) {
    for (const stream of this.#streams) if (stream.id() === info.id) stream._mutedByServer(info.mutedByServer ?? null);
  }

  /** The reply named `stream`: hand it the events that overtook the reply. */
  _streamNamed(stream) {
    const early = this.#early.filter((frame) => frame.stream === stream.id());
    this.#early = this.#early.filter((frame) => !early.includes(frame));
    for (const frame of early) stream._status(frame.status, frame.reason, frame.message);
  }

  /** Ends the live streams of `room` (all streams when `room` is undefined) without telling the server. */
  _endStreams(room, info, failed = false) {
    for (const stream of [...this.#streams]) if (room === undefined || stream._room() === room) stream._end(info, failed);
  }

  /** `room` is joined again: publish its streams kept through the reconnect. */
  _resumeStreams(room) {
    for (const stream of [...this.#streams]) if (stream._room() === room) stream._resume();
  }

  /** Schedules a rejoin of `room` with backoff; false when retries are off or used up. */
  _retryLater(room, attempt) {
    if (!this.#reconnect || attempt >= this.#reconnect.maxAttempts) return false;
    this.#timers.setTimeout(() => {
      // If the socket dropped meanwhile, the next ESTABLISHED rejoins instead.
      if (this.#status === SESSION_STATUS.ESTABLISHED) room._join();
    }, backoff(this.#reconnect, attempt));
    return true;
  }

  // ---- socket life ----

  #setStatus(status, info) {
    if (this.#status === status) return;
    this.#status = status;
    this.emit(status, this, info);
  }

  #open() {
    if (this.#closedByUser) return;
    let socket;
    try {
      socket = new this.#WebSocket(this.#options.urlServer);
    } catch (error) {
      // A malformed URL: retrying cannot help.
      this.#closedByUser = true;
      this.#setStatus(SESSION_STATUS.FAILED, { code: "bad_url", message: String(error?.message ?? error) });
      return;
    }
    this.#socket = socket;
    socket.onopen = () => this.#opened(socket);
    socket.onmessage = (event) => this.#frame(event.data);
    socket.onclose = (event) => {
      if (socket !== this.#socket) return;  // an old socket closing late
      this.#socket = null;
      this.#lost(event);
    };
    socket.onerror = () => {}; // onclose follows and decides what to do
  }

  async #opened(socket) {
    this.#setStatus(SESSION_STATUS.CONNECTED);
    this.#scheduleBeat(socket);
    let result;
    try {
      const fields = { username: this.#options.username };
      // A function is asked again on every reconnect: a backend can hand out a fresh, short-lived token.
      let token = this.#options.token;
      if (typeof token === "function") {
        try {
          token = await token();
        } catch (error) {
          throw new ParleyError("token_unavailable", `No access token: ${error?.message ?? error}`);
        }
      }
      if (token !== undefined && token !== null) fields.token = token;
      if (socket !== this.#socket) return;  // dropped while the token was fetched
      result = await this._request("connect", fields);
    } catch (error) {
      if (error.code === "connection_lost" || error.code === "not_connected") return;  // onclose handles it
      // A refused connect (e.g. invalid_username) would be refused again: fail, no retry.
      this.#closedByUser = true;
      socket.close(1000);
      this.#setStatus(SESSION_STATUS.FAILED, { code: error.code, message: error.message });
      return;
    }
    this.#id = result.sessionId;
    this.#username = result.username;
    this._setIceServers(result.iceServers);
    this.#attempt = 0;
    this.#wasEstablished = true;
    this.#setStatus(SESSION_STATUS.ESTABLISHED);
    // Rooms joined before (same names) and joins queued while connecting; each emits STATE when in.
    for (const room of [...this.#rooms]) room._join();
  }

  #frame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame === null || typeof frame !== "object") return;
    if ("ok" in frame) {
      const pending = this.#pending.get(frame.id);
      if (!pending) return;  // e.g. `"id": null` for a request the server could not read
      this.#pending.delete(frame.id);
      if (frame.ok) pending.resolve(frame.result ?? {});
      else pending.reject(new ParleyError(frame.error?.code ?? "error", frame.error?.message));
      return;
    }
    if (frame.event === "republish") {
      this.#republishes.get(frame.republish)?._event(frame);
      return;
    }
    if (frame.event === "recording") {
      const stream = this.#recordings.get(frame.stream);
      // Kept past the stream's end: `finished` comes once the file is complete, after the unpublish.
      if (frame.status !== "started") this.#recordings.delete(frame.stream);
      stream?._recording(frame);
      return;
    }
    if (frame.event === "stream") {
      const streams = [...this.#streams];
      const stream = streams.find((s) => s.id() === frame.stream);
      if (stream) stream._status(frame.status, frame.reason, frame.message);
      // Kept only while a reply is awaited (a stream without id), and only the last few.
      else if (streams.some((s) => s.id() === null)) this.#early = [...this.#early, frame].slice(-16);
      return;
    }
    if (frame.event && frame.room) {
      for (const room of this.#rooms) if (room.name() === frame.room) room._event(frame);
    }
  }

  #scheduleBeat(socket) {
    if (!this.#heartbeat) return;
    this.#timers.clearTimeout(this.#beatTimer);
    this.#beatTimer = this.#timers.setTimeout(() => this.#beat(socket), this.#heartbeat.interval);
  }

  /** Is the socket still alive? A media connection that failed is often the first sign of a network gone away
   *  (the browser drops its ICE candidates at once): then the socket is dead too, and a ping shows it. Resolves
   *  true when the server answered, false when the socket was lost meanwhile (or without a heartbeat, true). */
  _checkSocket() {
    if (!this.#socket) return Promise.resolve(false);
    return this.#heartbeat ? this.#beat(this.#socket) : Promise.resolve(true);
  }

  /** A `ping` the server must answer within the heartbeat's timeout, or the socket is given up as dead. */
  #beat(socket) {
    if (socket !== this.#socket) return Promise.resolve(false);
    const { timeout } = this.#heartbeat;
    this.#timers.clearTimeout(this.#beatTimer);
    this.#beatTimer = this.#timers.setTimeout(() => {
      if (socket !== this.#socket) return;
      // Closing a dead TCP connection can take minutes: drop it now and let its close event come when it does.
      this.#socket = null;
      socket.close(4000);
      this.#lost({ code: 4000, reason: `no answer from the server for ${timeout / 1000} s` });
    }, timeout);
    return this._request("ping").then(() => {
      if (socket !== this.#socket) return false;
      this.#scheduleBeat(socket);
      return true;
    }, () => false);
  }

  /** The browser says the network is back: retry at once instead of waiting out the backoff, and check an open
   *  socket at once (it may have died with the old network). */
  #networkBack() {
    if (this.#closedByUser) return;
    if (this.#status === SESSION_STATUS.RECONNECTING && this.#socket === null) {
      this.#timers.clearTimeout(this.#retryTimer);
      this.#open();
    } else if (this.#socket && this.#heartbeat) {
      this.#beat(this.#socket);
    }
  }

  #lost(event) {
    this.#timers.clearTimeout(this.#beatTimer);
    const message = event?.reason || `socket closed (${event?.code ?? "?"})`;
    for (const { reject } of this.#pending.values()) reject(new ParleyError("connection_lost", message));
    this.#pending.clear();
    for (const room of this.#rooms) room._socketLost();
    // Media transports belong to the server session that made them: they end with the socket, pushes too.
    this.#early = [];
    for (const push of [...this.#republishes.values()]) {
      push._event({ status: "ended", reason: "connection_lost", message: `Connection to the server lost: ${message}` });
    }
    // Retry only a session that was up (a server that cannot be reached at all is reported at once), and not one
    // the server's operator removed (4003).
    const kicked = event?.code === 4003;
    const retry = !this.#closedByUser && !kicked && this.#wasEstablished && this.#reconnect !== null
      && this.#attempt < this.#reconnect.maxAttempts;
    const ended = { code: "connection_lost", message: `Connection to the server lost: ${message}` };
    for (const stream of [...this.#streams]) {
      if (!(retry && this.#reconnect.restore && stream._suspend(ended))) stream._end(ended, true);
    }
    if (this.#closedByUser) return;
    const info = { code: kicked ? "kicked" : "connection_lost", message, closeCode: event?.code };
    if (kicked) this.#closedByUser = true;
    if (!retry) {
      this.#setStatus(SESSION_STATUS.FAILED, info);
      return;
    }
    const delay = backoff(this.#reconnect, this.#attempt);
    this.#attempt += 1;
    this.#setStatus(SESSION_STATUS.RECONNECTING, { ...info, attempt: this.#attempt, delay });
    this.#retryTimer = this.#timers.setTimeout(() => this.#open(), delay);
  }
}

/** A push of a room's stream to another RTMP server (room.republish). Emits "status" with (push, {status,
 *  attempt, message, retryIn, reason}) as the server reports: connecting, publishing, retrying, ended. */
export class Republish extends Emitter {
  #session;
  #id;
  #stream;
  #status = "connecting";

  constructor(session, id, stream) {
    super();
    this.#session = session;
    this.#id = id;
    this.#stream = stream;
  }

  id() { return this.#id; }
  /** The id of the stream being pushed. */
  stream() { return this.#stream; }
  status() { return this.#status; }

  /** Stops the push; the "ended" status (reason "stopped") follows. */
  async stop() {
    if (this.#status === "ended") return {};
    return this.#session._request("stopRepublish", { republish: this.#id });
  }

  _event(frame) {
    this.#status = frame.status;
    if (frame.status === "ended") this.#session._dropRepublish(this);
    const { attempt, message, retryIn, reason } = frame;
    this.emit("status", this, { status: frame.status, attempt, message, retryIn, reason });
  }
}

/** getUserMedia constraints from `{audio, video}`; a plain deviceId means that device, not a preference. */
function userMedia({ audio = false, video = false }) {
  const exact = (c) => (typeof c?.deviceId === "string" ? { ...c, deviceId: { exact: c.deviceId } } : c);
  return { audio: exact(audio), video: exact(video) };
}

/** One media stream over its own RTCPeerConnection: a publish (our camera, microphone or screen into a room),
 *  a play (someone's published stream) or an echo test. Emits its STREAM_STATUS with (stream, info). */
export class Stream extends Emitter {
  #recordName = null;  // the server's file for a publish with record: true
  #recordStatus = null;  // its last `recording` event: started, finished, stopped, failed
  #session;
  #kind;              // "publish", "play" or "echo"
  #room;              // null for an echo test
  #display;           // the app's element: a <video>, or a container for one
  #video = null;      // the <video> showing the media
  #ownVideo = false;  // we created #video, so we remove it at the end
  #id = null;
  #status = STREAM_STATUS.PENDING;
  #ended = false;
  #pc = null;
  #local = null;      // camera, microphone or screen (publish, echo)
  #remote = null;     // what the server sends (play, echo)
  #audioMuted = false;
  #videoMuted = false;
  #serverMute = null;
  #label = null;      // a publish's name, and whether it is recorded: sent again after a reconnect
  #record = false;
  #suspended = false; // a publish waiting for its room to be rejoined

  constructor(session, kind, display, room) {
    super();
    this.#session = session;
    this.#kind = kind;
    this.#display = display ?? null;
    this.#room = room;
    session._addStream(this);
  }

  /** The server's id of the stream, known once it answered; `null` before. */
  id() { return this.#id; }
  status() { return this.#status; }
  /** What the stream shows: the local media for a publish, the received media for a play or an echo test. */
  getMediaStream() { return this.#kind === "publish" ? this.#local : this.#remote; }
  /** The RTCPeerConnection, e.g. for getStats(). */
  getPeerConnection() { return this.#pc; }
  peerConnection() { return this.#pc; }
  /** The local camera, microphone or screen (publish, echo test). */
  localStream() { return this.#local; }
  isAudioMuted() { return this.#audioMuted; }
  isVideoMuted() { return this.#videoMuted; }
  /** A publish the server's operator muted: `{audio, video}` (what the room no longer gets, whatever this
   *  stream's own mute says), or null. Changes come as STREAM_EVENT.MUTED_BY_SERVER. */
  mutedByServer() { return this.#serverMute; }
  _mutedByServer(mute) {
    this.#serverMute = mute;
    this.emit(STREAM_EVENT.MUTED_BY_SERVER, this, mute);
  }

  /** Mute disables tracks: a publish's local ones (and the room's other members see the new state through
   *  ROOM_EVENT.UPDATED), a play's received ones (only here). Resolves when the server has it. */
  muteAudio() { return this.#mute("audio", true); }
  unmuteAudio() { return this.#mute("audio", false); }
  muteVideo() { return this.#mute("video", true); }
  unmuteVideo() { return this.#mute("video", false); }

  /** Releases camera and connection at once (→ UNPUBLISHED or STOPPED), then tells the server. */
  /** A publish with `record: true`: {recordName, status}, the file at /client/records/NAME once its status is
   *  `finished` or `stopped`; null otherwise (WCS's getRecordInfo()). Status: null until the recording starts,
   *  then `started`, `finished`, `stopped` (ended before the stream: max length, disk full or slow) or `failed`. */
  getRecordInfo() { return this.#recordName === null ? null : { recordName: this.#recordName, status: this.#recordStatus }; }

  stop() {
    if (this.#ended) return Promise.resolve({});
    this.#end(this.#stopped(), { code: "stopped", message: "Stopped by the application" });
    return this.#sendStop();
  }

  // ---- called by the session and rooms ----

  _room() { return this.#room; }

  /** A `recording` event: emitted as "recording" with (stream, {status, recordName, reason, message}). */
  _recording(frame) {
    this.#recordStatus = frame.status;
    this.emit("recording", this, { status: frame.status, recordName: frame.recordName, reason: frame.reason, message: frame.message });
  }

  async _echo(constraints) {
    if (this.#ended) return;
    if (!(await this.#capture((devices) => devices.getUserMedia(userMedia(constraints)), "Camera or microphone"))) return;
    const pc = this.#connect();
    for (const track of this.#local.getTracks()) pc.addTrack(track, this.#local);  // sendrecv: it comes back
    this.#showIn(false);
    await this.#negotiate("echo", {});
  }

  async _publish(constraints, label, record = false) {
    if (this.#ended) return;
    if (!this.#room.isJoined()) return this.#fail("not_in_room", "The room is not joined (yet)");
    const screen = constraints.screen === true;
    const captured = screen
      ? await this.#capture((devices) => devices.getDisplayMedia({ video: constraints.video ?? true, audio: constraints.audio ?? false }), "Screen capture")
      : await this.#capture((devices) => devices.getUserMedia(userMedia(constraints)), "Camera or microphone");
    if (!captured) return;
    // The browser's own "Stop sharing" button ends the screen track: unpublish then.
    if (screen) for (const track of this.#local.getVideoTracks()) track.addEventListener("ended", () => this.stop());
    this.#showIn(true);  // the preview is muted: never play our own microphone back
    if (this.#video) this.#video.srcObject = this.#local;
    this.#label = label;
    this.#record = record;
    await this.#sendPublish();
  }

  /** A new connection for the local tracks, and the publish request. */
  async #sendPublish() {
    const pc = this.#connect();
    for (const track of this.#local.getTracks()) pc.addTransceiver(track, { direction: "sendonly", streams: [this.#local] });
    const fields = { room: this.#room.name(), display: this.#label, audioMuted: this.#audioMuted, videoMuted: this.#videoMuted };
    if (this.#record) fields.record = true;
    await this.#negotiate("publish", fields);
  }

  /** The socket dropped and the session reconnects: a publish with its media keeps camera and preview and goes
   *  back to PENDING until its room is rejoined. False: the stream cannot wait (the caller ends it). */
  _suspend(info) {
    if (this.#ended || this.#kind !== "publish" || !this.#local || this.#label === null) return false;
    this.#suspended = true;
    this.#pc?.close();
    this.#pc = null;
    this.#id = null;
    this.#set(STREAM_STATUS.PENDING, info);
    return true;
  }

  /** Its room is joined again: publish the same tracks (a new server stream, so a new id). */
  _resume() {
    if (!this.#suspended || this.#ended) return;
    this.#suspended = false;
    this.#sendPublish();
  }

  async _play(participant, info, kinds, muted) {
    if (this.#ended) return;
    if (!this.#room.isJoined()) return this.#fail("not_in_room", "The room is not joined (yet)");
    if (!info) return this.#fail("unknown_stream", `${participant.name()} publishes no such stream`);
    if (!kinds.audio && !kinds.video) return this.#fail("nothing_to_play", "Neither audio nor video is to be received");
    const pc = this.#connect();
    for (const kind of ["audio", "video"]) if (kinds[kind]) pc.addTransceiver(kind, { direction: "recvonly" });
    // Sound is on unless asked: browsers may then hold autoplay until the user interacts with the page.
    this.#showIn(muted);
    await this.#negotiate("play", { room: this.#room.name(), stream: info.id });
  }

  /** A `stream` event: `reason` is the server's stable code (docs/PROTOCOL.md), `message` its words for people. */
  _status(status, reason, message) {
    if (status === "connected" && !this.#ended) this.#set(this.#kind === "publish" ? STREAM_STATUS.PUBLISHING : STREAM_STATUS.PLAYING);
    else if (status === "failed") this.#end(STREAM_STATUS.FAILED, { code: "failed", reason, message: message ?? reason ?? "The media connection failed" });
    else if (status === "closed") this.#end(this.#stopped(), { code: "closed", reason, message: message ?? reason ?? "Closed by the server" });
  }

  /** Ended on the server's side already (leave, disconnect, lost socket): no request. */
  _end(info, failed) { this.#end(failed ? STREAM_STATUS.FAILED : this.#stopped(), info); }

  // ---- inside ----

  #stopped() { return this.#kind === "publish" ? STREAM_STATUS.UNPUBLISHED : STREAM_STATUS.STOPPED; }

  /** Gets local media into #local; false (and FAILED) when refused, e.g. permission denied or no camera. */
  async #capture(getMedia, what) {
    try {
      const devices = globalThis.navigator?.mediaDevices;
      if (!devices) throw new TypeError("navigator.mediaDevices is missing: the page must be https:// or localhost");
      this.#local = await getMedia(devices);
    } catch (error) {
      this.#fail("media_denied", `${what} unavailable: ${error.name}${error.message ? ` (${error.message})` : ""}`);
      return false;
    }
    if (this.#ended) {  // stopped while the browser was asking the user
      for (const track of this.#local.getTracks()) track.stop();
      return false;
    }
    this.#applyMute();  // muted before the camera was there
    return true;
  }

  /** Parley is ICE-lite with its candidates in the answer, so no STUN server is needed; TURN servers, when the
   *  server hands some out, serve networks that block UDP (or all media, with `iceTransportPolicy: "relay"`). */
  #connect() {
    const pc = new RTCPeerConnection({ ...this.#session._iceConfiguration(), bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    this.#pc = pc;
    if (this.#kind !== "publish") {
      this.#remote = new MediaStream();
      pc.ontrack = (event) => {
        this.#remote.addTrack(event.track);
        this.#applyMute();
        // Set once the first track is there: the <video> starts playing when srcObject is set.
        if (this.#video && this.#video.srcObject !== this.#remote) this.#video.srcObject = this.#remote;
      };
    }
    pc.onconnectionstatechange = () => {
      if (pc.connectionState !== "failed" || pc !== this.#pc) return;
      // If the socket turns out dead too, the session's reconnection handles the stream (a publish waits for
      // the rejoin); if it is alive, the media path alone failed.
      this.#session._checkSocket().then((alive) => {
        if (alive && pc === this.#pc) this.#fail("ice_failed", "The media connection failed");
      });
    };
    return pc;
  }

  /** Offer → request → answer. The offer goes out at once: Parley's answer carries its candidates, and the
   *  browser's own candidates are not needed (no trickle). */
  async #negotiate(type, fields) {
    const pc = this.#pc;
    try {
      await pc.setLocalDescription(await pc.createOffer());
      if (this.#ended) return;
      const result = await this.#session._request(type, { ...fields, sdp: pc.localDescription.sdp });
      this.#id = result.stream;
      this.#recordName = result.recordName ?? null;
      if (this.#recordName !== null) this.#session._addRecording(this);
      // Stopped while the request was in flight: the server has the stream now, so end it there.
      if (this.#ended) return this.#sendStop();
      if (type === "publish" && (this.#audioMuted !== fields.audioMuted || this.#videoMuted !== fields.videoMuted)) {
        this.#session._request("mute", { stream: this.#id, audioMuted: this.#audioMuted, videoMuted: this.#videoMuted }).catch(() => {});
      }
      this.#session._streamNamed(this);
      if (this.#ended) return;  // an early `failed` or `closed`
      await pc.setRemoteDescription({ type: "answer", sdp: result.sdp });
    } catch (error) {
      if (pc !== this.#pc) return;  // suspended by a dropped socket: published again after the rejoin
      // Server refusals carry their code (no_common_codec…); browser errors (bad answer…) do not.
      this.#fail(error instanceof ParleyError ? error.code : "negotiation_failed", error.message);
    }
  }

  #mute(kind, muted) {
    if (kind === "audio") this.#audioMuted = muted; else this.#videoMuted = muted;
    this.#applyMute();
    // Without an id yet, #negotiate sends the state with (or right after) the publish request.
    if (this.#kind !== "publish" || !this.#id || this.#ended) return Promise.resolve({});
    return this.#session._request("mute", { stream: this.#id, [`${kind}Muted`]: muted });
  }

  #applyMute() {
    const media = this.#kind === "play" ? this.#remote : this.#local;
    for (const track of media?.getTracks() ?? []) track.enabled = !(track.kind === "audio" ? this.#audioMuted : this.#videoMuted);
  }

  /** The display itself if it is a <video>, else a new <video> inside it (as a container). */
  #showIn(muted) {
    const display = this.#display;
    if (!display) return;
    this.#video = display;
    if (display.tagName !== "VIDEO") {
      this.#video = (display.ownerDocument ?? document).createElement("video");
      this.#ownVideo = true;
      display.appendChild(this.#video);
    }
    this.#video.autoplay = true;
    this.#video.playsInline = true;  // iOS Safari would go full screen otherwise
    if (muted) this.#video.muted = true;
  }

  /** The SDK gave up on a stream: end it, and tell the server if it has it. */
  #fail(code, message) {
    if (this.#ended) return;
    this.#end(STREAM_STATUS.FAILED, { code, message });
    this.#sendStop();
  }

  #sendStop() {
    if (!this.#id) return Promise.resolve({});  // no reply yet: #negotiate sends it when the reply comes
    // Echo tests keep `stopStream`, which every Parley version understands.
    return this.#session._request(this.#kind === "echo" ? "stopStream" : "stop", { stream: this.#id }).catch(() => ({}));
  }

  /** Ends the stream once: releases camera and connection, takes the media off the page, reports `status`. */
  #end(status, info) {
    if (this.#ended) return;
    this.#ended = true;
    this.#session._dropStream(this);
    this.#pc?.close();
    for (const track of this.#local?.getTracks() ?? []) track.stop();
    if (this.#video) {
      this.#video.srcObject = null;
      if (this.#ownVideo) this.#video.remove();
    }
    this.#set(status, info);
  }

  #set(status, info) {
    if (this.#status === status) return;
    this.#status = status;
    this.emit(status, this, info);
  }
}

export const Parley = Object.freeze({
  roomApi: Object.freeze({
    /** Opens a session: `{urlServer, username, token?, reconnect?, heartbeat?}` (parley.d.ts, ConnectOptions). */
    connect: (options) => new Session(options),
  }),
});

export default Parley;
