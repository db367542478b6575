// Parley JavaScript SDK: a plain ES module (no build step, no dependency). Types: parley.d.ts.
// Wire protocol: docs/PROTOCOL.md. Room API shaped like the video-chat room APIs web developers know:
//   Parley.roomApi.connect({urlServer, username}) → session; session.join({name}) → room; room.sendMessage(text)

export const SESSION_STATUS = Object.freeze({
  PENDING: "PENDING",           // created, socket not open yet
  CONNECTED: "CONNECTED",       // socket open, `connect` not answered yet
  ESTABLISHED: "ESTABLISHED",   // the server accepted the session
  RECONNECTING: "RECONNECTING", // the socket dropped; retrying with backoff
  DISCONNECTED: "DISCONNECTED", // closed by the application
  FAILED: "FAILED",             // refused by the server, unreachable, or gave up reconnecting
});

export const ROOM_EVENT = Object.freeze({
  STATE: "STATE",     // joined (again): the room's participants and chat history are known
  JOINED: "JOINED",   // another participant joined
  LEFT: "LEFT",       // another participant left
  MESSAGE: "MESSAGE", // a chat message from another participant
  FAILED: "FAILED",   // the join was refused (room_full, name_taken, …)
});

export const STREAM_STATUS = Object.freeze({
  PENDING: "PENDING",     // media requested, negotiating
  PLAYING: "PLAYING",     // media flows (for an echo test: your own media is coming back)
  STOPPED: "STOPPED",     // stopped by the application or the server
  FAILED: "FAILED",       // refused (camera denied, bad SDP, DTLS failure, …); info says why
});

const DEFAULT_RECONNECT = { maxAttempts: 10, initialDelay: 500, maxDelay: 10000 };

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
    this.streams = data.streams ?? [];
  }
  name() { return this.#name; }
  getStreams() { return this.streams; }
  /** A private chat message to this participant. */
  sendMessage(text) { return this.#room.sendMessage(text, this.#name); }
  // Media (later issue): play(...) subscribes to this participant's streams.
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

  /** Leaves the room; resolves with the reply's result ({}). A join still in flight is undone. */
  async leave() {
    if (this.#left) return {};
    this.#left = true;
    this.#session._forget(this);
    if (!this.#joined) return {};
    this.#joined = false;
    return this.#session._request("leave", { room: this.#name });
  }

  // Media (later issue): publish(...) sends local camera/microphone/screen to the room.

  // ---- called by the session ----

  async _join() {
    if (this.#left || this.#joined || this.#joining) return;
    this.#joining = true;
    const fields = {};
    if (this.#name) fields.room = this.#name;
    if (this.#maxParticipants !== undefined) fields.maxParticipants = this.#maxParticipants;
    let room;
    try {
      ({ room } = await this.#session._request("join", fields));
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
  }

  #joinRefused(error) {
    if (this.#left) return;
    // The socket dropped before the reply: the session joins again once it is back.
    if (error.code === "connection_lost" || error.code === "not_connected") return;
    // A rejoin right after a reconnect can find our old session still in the room: the server only drops it
    // when its socket times out (≈ 15 s of unanswered pings). That name_taken is our own ghost: retry.
    if (error.code === "name_taken" && this.#wasJoined && this.#session._retryLater(this, this.#retries++)) return;
    this.#session._forget(this);
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
  #streams = new Map();
  #closedByUser = false;
  #wasEstablished = false;
  #attempt = 0;
  #retryTimer = null;

  constructor(options) {
    super();
    if (!options?.urlServer) throw new TypeError("connect() needs urlServer, e.g. ws://host:8080/ws");
    if (!options.username) throw new TypeError("connect() needs a username");
    this.#options = options;
    this.#username = options.username;
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.#reconnect = options.reconnect === false ? null : { ...DEFAULT_RECONNECT, ...(options.reconnect ?? {}) };
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
    const stream = new Stream(this, display);
    queueMicrotask(() => stream._startEcho(constraints));
    return stream;
  }

  /** Closes the session for good: no reconnection. The server makes us leave every room. */
  disconnect() {
    this.#closedByUser = true;
    this.#timers.clearTimeout(this.#retryTimer);
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

  _trackStream(id, stream) {
    if (stream) this.#streams.set(id, stream); else this.#streams.delete(id);
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
    let result;
    try {
      result = await this._request("connect", { username: this.#options.username });
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
    if (frame.event === "stream") {
      this.#streams.get(frame.stream)?._status(frame.status, frame.reason);
      return;
    }
    if (frame.event && frame.room) {
      for (const room of this.#rooms) if (room.name() === frame.room) room._event(frame);
    }
  }

  #lost(event) {
    const message = event?.reason || `socket closed (${event?.code ?? "?"})`;
    for (const { reject } of this.#pending.values()) reject(new ParleyError("connection_lost", message));
    this.#pending.clear();
    for (const room of this.#rooms) room._socketLost();
    // Media transports belong to the server session that made them: they end with the socket.
    for (const stream of [...this.#streams.values()]) stream._status("failed", "connection to the server lost");
    if (this.#closedByUser) return;
    const info = { code: "connection_lost", message, closeCode: event?.code };
    // Retry only a session that was up: a server that cannot be reached at all is reported at once.
    if (!this.#wasEstablished || !this.#reconnect || this.#attempt >= this.#reconnect.maxAttempts) {
      this.#setStatus(SESSION_STATUS.FAILED, info);
      return;
    }
    const delay = backoff(this.#reconnect, this.#attempt);
    this.#attempt += 1;
    this.#setStatus(SESSION_STATUS.RECONNECTING, { ...info, attempt: this.#attempt, delay });
    this.#retryTimer = this.#timers.setTimeout(() => this.#open(), delay);
  }
}

/** A media stream: for now the echo test's round trip (publish and play come with the SFU). */
export class Stream extends Emitter {
  #session;
  #display;
  #id = null;
  #status = STREAM_STATUS.PENDING;
  #pc = null;
  #local = null;

  constructor(session, display) {
    super();
    this.#session = session;
    this.#display = display;
  }

  id() { return this.#id; }
  status() { return this.#status; }
  /** The RTCPeerConnection, e.g. for getStats(). */
  peerConnection() { return this.#pc; }
  localStream() { return this.#local; }

  async _startEcho(constraints) {
    try {
      this.#local = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (error) {
      this.#set(STREAM_STATUS.FAILED, { code: "media_denied", message: `Camera or microphone unavailable: ${error.name}` });
      return;
    }
    // Parley is ICE-lite with its candidates in the answer, so no STUN or TURN server is needed.
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    this.#pc = pc;
    for (const track of this.#local.getTracks()) pc.addTrack(track, this.#local);
    pc.ontrack = (event) => {
      if (!this.#display) return;
      if (!(this.#display.srcObject instanceof MediaStream)) this.#display.srcObject = new MediaStream();
      this.#display.srcObject.addTrack(event.track);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") this.#set(STREAM_STATUS.FAILED, { code: "ice_failed", message: "The media connection failed" });
    };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      const { stream, sdp } = await this.#session._request("echo", { sdp: pc.localDescription.sdp });
      this.#id = stream;
      this.#session._trackStream(stream, this);
      await pc.setRemoteDescription({ type: "answer", sdp });
    } catch (error) {
      this.#set(STREAM_STATUS.FAILED, { code: error.code ?? "negotiation_failed", message: error.message });
      this.#teardown();
    }
  }

  /** Stops the stream and releases the camera. */
  async stop() {
    if (this.#id && this.#status !== STREAM_STATUS.FAILED) {
      await this.#session._request("stopStream", { stream: this.#id }).catch(() => {});
    }
    this.#teardown();
    this.#set(STREAM_STATUS.STOPPED, { code: "stopped", message: "Stopped" });
  }

  _status(status, reason) {
    if (status === "connected") this.#set(STREAM_STATUS.PLAYING);
    else if (status === "failed") { this.#set(STREAM_STATUS.FAILED, { code: "failed", message: reason }); this.#teardown(); }
    else if (status === "closed") { this.#set(STREAM_STATUS.STOPPED, { code: "closed", message: reason }); this.#teardown(); }
  }

  #set(status, info) {
    if (this.#status === status) return;
    this.#status = status;
    this.emit(status, this, info);
  }

  #teardown() {
    if (this.#id) this.#session._trackStream(this.#id, null);
    this.#pc?.close();
    for (const track of this.#local?.getTracks() ?? []) track.stop();
  }
}

export const Parley = Object.freeze({
  roomApi: Object.freeze({
    /** Opens a session: `{urlServer, username, reconnect?: {maxAttempts, initialDelay, maxDelay} | false}`. */
    connect: (options) => new Session(options),
  }),
});

export default Parley;
