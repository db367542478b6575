// Parley JavaScript SDK: a plain ES module (no build step, no dependency).
// Wire protocol: docs/PROTOCOL.md. Room API shaped like the video-chat room APIs web developers know:
//   Parley.roomApi.connect({urlServer, username}) → session; session.join({name}) → room; room.sendMessage(text)

export const SESSION_STATUS = Object.freeze({
  PENDING: "PENDING",           // created, socket not open yet
  CONNECTED: "CONNECTED",       // socket open, `connect` not answered yet
  ESTABLISHED: "ESTABLISHED",   // the server accepted the session
  RECONNECTING: "RECONNECTING", // the socket dropped; retrying with backoff
  DISCONNECTED: "DISCONNECTED", // closed by the application
  FAILED: "FAILED",             // refused by the server, or gave up reconnecting
});

export const ROOM_EVENT = Object.freeze({
  STATE: "STATE",     // joined: the room's participants and chat history are known
  JOINED: "JOINED",   // another participant joined
  LEFT: "LEFT",       // another participant left
  MESSAGE: "MESSAGE", // a chat message from another participant
  FAILED: "FAILED",   // the join was refused (room_full, name_taken, …)
});

/** A tiny event emitter: `.on()` returns `this` so calls chain. */
class Emitter {
  #handlers = new Map();
  on(event, handler) {
    if (!this.#handlers.has(event)) this.#handlers.set(event, new Set());
    this.#handlers.get(event).add(handler);
    return this;
  }
  off(event, handler) {
    this.#handlers.get(event)?.delete(handler);
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

/** An error the server refused a request with; `code` is stable (see docs/PROTOCOL.md). */
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
}

export class Room extends Emitter {
  #session;
  #name;
  #maxParticipants;
  #participants = new Map();
  #history = [];
  #joined = false;
  #left = false;

  constructor(session, options) {
    super();
    this.#session = session;
    this.#name = options.name ?? null;
    this.#maxParticipants = options.maxParticipants;
  }

  /** The room's name; for a room the server named, known from STATE on. */
  name() { return this.#name; }
  getParticipants() { return [...this.#participants.values()]; }
  history() { return [...this.#history]; }
  isJoined() { return this.#joined; }

  /** Chat text to everyone in the room, or to one participant by name. Resolves with the stored message. */
  async sendMessage(text, to) {
    const fields = { room: this.#name, text };
    if (to !== undefined) fields.to = to;
    const result = await this.#session._request("message", fields);
    const message = this.#toMessage(result.message, this.#session.username());
    this.#history.push(message);
    return message;
  }

  async leave() {
    this.#left = true;
    this.#session._forget(this);
    if (!this.#joined) return {};
    this.#joined = false;
    return this.#session._request("leave", { room: this.#name });
  }

  // ---- called by the session ----

  async _join() {
    if (this.#left) return;
    const fields = {};
    if (this.#name) fields.room = this.#name;
    if (this.#maxParticipants !== undefined) fields.maxParticipants = this.#maxParticipants;
    try {
      const { room } = await this.#session._request("join", fields);
      if (this.#left) return;
      this.#name = room.name;
      this.#maxParticipants = room.maxParticipants;
      this.#participants = new Map(room.participants.map((p) => [p.name, new Participant(this, p)]));
      this.#history = room.history.map((m) => this.#toMessage(m));
      this.#joined = true;
      this.emit(ROOM_EVENT.STATE, this);
    } catch (error) {
      this.#session._forget(this);
      this.emit(ROOM_EVENT.FAILED, this, { code: error.code ?? "error", message: error.message });
    }
  }

  _socketLost() { this.#joined = false; }

  _event(frame) {
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

  #toMessage(data, fromName = data.from) {
    const from = this.#participants.get(fromName) ?? new Participant(this, { name: fromName });
    return { room: data.room, from, text: data.text, time: new Date(data.time), to: data.to };
  }
}

const DEFAULT_RECONNECT = { maxAttempts: 10, initialDelay: 500, maxDelay: 10000 };

export class Session extends Emitter {
  #options;
  #WebSocket;
  #socket = null;
  #status = SESSION_STATUS.PENDING;
  #id = null;
  #username;
  #nextId = 1;
  #pending = new Map();
  #rooms = new Set();
  #closedByUser = false;
  #attempt = 0;
  #retryTimer = null;

  constructor(options) {
    super();
    if (!options?.urlServer) throw new TypeError("connect() needs urlServer, e.g. ws://host:8080/ws");
    if (!options.username) throw new TypeError("connect() needs a username");
    this.#options = options;
    this.#username = options.username;
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.reconnect = options.reconnect === false ? null : { ...DEFAULT_RECONNECT, ...(options.reconnect ?? {}) };
    this.timers = options.timers ?? { setTimeout: globalThis.setTimeout.bind(globalThis), clearTimeout: globalThis.clearTimeout.bind(globalThis) };
    // Connect on the next tick so that `.on(...)` handlers chained on connect() see every status.
    queueMicrotask(() => this.#open());
  }

  status() { return this.#status; }
  id() { return this.#id; }
  username() { return this.#username; }
  rooms() { return [...this.#rooms]; }

  /** Joins (or creates) a room. Without a name the server makes an unguessable one. */
  join(options = {}) {
    const room = new Room(this, options);
    this.#rooms.add(room);
    if (this.#status === SESSION_STATUS.ESTABLISHED) room._join();
    return room;
  }

  disconnect() {
    this.#closedByUser = true;
    this.timers.clearTimeout(this.#retryTimer);
    this.#socket?.close(1000);
    this.#setStatus(SESSION_STATUS.DISCONNECTED);
  }

  // ---- used by rooms ----

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
      this.#lost({ code: "socket_error", message: String(error) });
      return;
    }
    this.#socket = socket;
    socket.onopen = async () => {
      this.#setStatus(SESSION_STATUS.CONNECTED);
      try {
        const result = await this._request("connect", { username: this.#options.username });
        this.#id = result.sessionId;
        this.#username = result.username;
        this.#attempt = 0;
        this.#setStatus(SESSION_STATUS.ESTABLISHED);
        for (const room of [...this.#rooms]) room._join();
      } catch (error) {
        // A refused connect (e.g. invalid_username) will be refused again: no retry.
        if (error.code && error.code !== "not_connected") {
          this.#closedByUser = true;
          socket.close(1000);
          this.#setStatus(SESSION_STATUS.FAILED, { code: error.code, message: error.message });
        }
      }
    };
    socket.onmessage = (event) => this.#frame(event.data);
    socket.onclose = (event) => {
      if (socket !== this.#socket) return;
      this.#socket = null;
      this.#lost({ code: "closed", message: event.reason || `socket closed (${event.code})` });
    };
    socket.onerror = () => {}; // onclose follows and decides what to do
  }

  #frame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if ("id" in frame && "ok" in frame) {
      const pending = this.#pending.get(frame.id);
      if (!pending) return;
      this.#pending.delete(frame.id);
      if (frame.ok) pending.resolve(frame.result ?? {});
      else pending.reject(new ParleyError(frame.error?.code ?? "error", frame.error?.message));
      return;
    }
    if (frame.event && frame.room) {
      for (const room of this.#rooms) if (room.name() === frame.room) room._event(frame);
    }
  }

  #lost(info) {
    for (const { reject } of this.#pending.values()) reject(new ParleyError("not_connected", info.message));
    this.#pending.clear();
    for (const room of this.#rooms) room._socketLost();
    if (this.#closedByUser) return;
    if (!this.reconnect || this.#attempt >= this.reconnect.maxAttempts) {
      this.#setStatus(SESSION_STATUS.FAILED, info);
      return;
    }
    // Exponential backoff with jitter, so a restarted server is not hit by every client at once.
    const base = Math.min(this.reconnect.maxDelay, this.reconnect.initialDelay * 2 ** this.#attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.#attempt += 1;
    this.#setStatus(SESSION_STATUS.RECONNECTING, { ...info, attempt: this.#attempt, delay });
    this.#retryTimer = this.timers.setTimeout(() => this.#open(), delay);
  }
}

export const Parley = Object.freeze({
  roomApi: Object.freeze({
    /** Opens a session: `{urlServer, username, reconnect?: {maxAttempts, initialDelay, maxDelay} | false}`. */
    connect: (options) => new Session(options),
  }),
});

export default Parley;
