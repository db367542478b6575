// Types of the Parley JavaScript SDK (Web/sdk/parley.js). Wire protocol: docs/PROTOCOL.md.

export declare const SESSION_STATUS: {
  /** Created; the socket is not open yet. */
  readonly PENDING: "PENDING";
  /** The socket is open; `connect` is not answered yet. */
  readonly CONNECTED: "CONNECTED";
  /** The server accepted the session (again, after a reconnect). */
  readonly ESTABLISHED: "ESTABLISHED";
  /** The socket dropped; retrying with backoff. */
  readonly RECONNECTING: "RECONNECTING";
  /** Closed by `disconnect()`. */
  readonly DISCONNECTED: "DISCONNECTED";
  /** Refused by the server (e.g. `invalid_username`), unreachable, or reconnection gave up. Final. */
  readonly FAILED: "FAILED";
};
export type SessionStatus = (typeof SESSION_STATUS)[keyof typeof SESSION_STATUS];

export declare const ROOM_EVENT: {
  /** Joined, or rejoined after a reconnect: participants and history are (re)loaded. */
  readonly STATE: "STATE";
  /** Another participant joined. */
  readonly JOINED: "JOINED";
  /** Another participant left (`reason`: `left` or `disconnected`). */
  readonly LEFT: "LEFT";
  /** A chat message from another participant, to the room or privately to us. */
  readonly MESSAGE: "MESSAGE";
  /** The join was refused (`room_full`, `name_taken`, `invalid_room`, …). The room object is then dropped. */
  readonly FAILED: "FAILED";
};
export type RoomEvent = (typeof ROOM_EVENT)[keyof typeof ROOM_EVENT];

/**
 * A refused or failed request. `code` is a server code from docs/PROTOCOL.md (`room_full`, `invalid_text`, …)
 * or one of the SDK's own: `not_connected` (no open socket), `connection_lost` (the socket closed before the
 * reply), `not_in_room` (also when the room is not joined yet).
 */
export declare class ParleyError extends Error {
  readonly name: "ParleyError";
  readonly code: string;
}

/** Passed with FAILED and RECONNECTING statuses and with ROOM_EVENT.FAILED. */
export interface ErrorInfo {
  /** A server error code, or `connection_lost` / `bad_url`. */
  code: string;
  message: string;
  /** The WebSocket close code, when the socket closed. */
  closeCode?: number;
  /** With RECONNECTING: which retry this is (1-based) and its delay in ms. */
  attempt?: number;
  delay?: number;
}

/** A participant's published stream; its fields arrive with media publishing (a later issue). */
export type StreamDescription = Record<string, unknown>;

/** Someone else in a room. */
export declare class Participant {
  name(): string;
  readonly streams: StreamDescription[];
  getStreams(): StreamDescription[];
  /** A private chat message to this participant only. */
  sendMessage(text: string): Promise<ChatMessage>;
}

export interface ChatMessage {
  /** The room's name. */
  room: string;
  /** The sender (for our own messages, a Participant with our name). */
  from: Participant;
  text: string;
  /** Server time of the message. */
  time: Date;
  /** The recipient's name, only for a private message. */
  to?: string;
}

export interface JoinOptions {
  /** The room's name (1–64 of `A–Z a–z 0–9 - _ .`); omitted, the server creates a room with an unguessable name. */
  name?: string;
  /** A cap for a room this join creates (never above the server's). */
  maxParticipants?: number;
}

export declare class Room {
  /** The room's name; `null` for a server-named room until STATE. */
  name(): string | null;
  /** The room's cap, known from STATE on. */
  maxParticipants(): number | undefined;
  /** The other participants, in order of joining. */
  getParticipants(): Participant[];
  /** The chat from the join reply (oldest first) plus every message sent or received since. */
  history(): ChatMessage[];
  /** True between STATE and a leave or a dropped socket. */
  isJoined(): boolean;
  /** To the whole room, or privately to the participant named `to`. Rejects with a ParleyError. */
  sendMessage(text: string, to?: string): Promise<ChatMessage>;
  /** Leaves (a join still in flight is undone); resolves with the reply's result (`{}`). */
  leave(): Promise<Record<string, never>>;
  on(event: "STATE", handler: (room: Room) => void): this;
  on(event: "JOINED", handler: (participant: Participant) => void): this;
  on(event: "LEFT", handler: (participant: Participant, reason: "left" | "disconnected") => void): this;
  on(event: "MESSAGE", handler: (message: ChatMessage) => void): this;
  on(event: "FAILED", handler: (room: Room, info: ErrorInfo) => void): this;
  /** Removes one handler, or every handler of `event` when `handler` is omitted. */
  off(event: RoomEvent, handler?: (...args: any[]) => void): this;
}

export interface ReconnectOptions {
  /** Retries after a drop before FAILED; default 10. Also bounds rejoins refused with `name_taken`. */
  maxAttempts?: number;
  /** ms before the first retry, default 500; doubles each time, with jitter (a delay is ½–1× the nominal one). */
  initialDelay?: number;
  /** Cap of the nominal delay in ms; default 10000. */
  maxDelay?: number;
}

/** Timer functions; tests pass fakes to drive reconnection without waiting. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ConnectOptions {
  /** e.g. `ws://host:8080/ws` (`wss://` with TLS). */
  urlServer: string;
  /** 1–64 printable characters; the server trims it. Also the name in every room. */
  username: string;
  /**
   * Reconnect after an unexpected drop of an established session (default on): then every joined room is
   * rejoined under the same name and emits STATE again. `false` disables it (a drop is then FAILED).
   */
  reconnect?: ReconnectOptions | false;
  /** A WebSocket constructor; default `globalThis.WebSocket` (tests inject a fake). */
  WebSocket?: new (url: string) => WebSocket;
  /** Default: the global setTimeout/clearTimeout. */
  timers?: Timers;
}

export declare class Session {
  status(): SessionStatus;
  /** The server's session id once ESTABLISHED (a new one after each reconnect); otherwise `null`. */
  id(): string | null;
  /** The username as the server returned it (trimmed), or as given until then. */
  username(): string;
  /** Rooms joined or being joined. */
  rooms(): Room[];
  /** Joins or creates a room; may be called before ESTABLISHED (the join is queued). */
  join(options?: JoinOptions): Room;
  /** Closes the session for good; no reconnection. The server removes it from every room. */
  disconnect(): void;
  on(event: SessionStatus, handler: (session: Session, info?: ErrorInfo) => void): this;
  /** Removes one handler, or every handler of `event` when `handler` is omitted. */
  off(event: SessionStatus, handler?: (...args: any[]) => void): this;
}

export declare const Parley: {
  readonly roomApi: {
    /** Opens a session; the socket opens on the next microtask, so chain `.on(...)` right away. */
    connect(options: ConnectOptions): Session;
  };
};
export default Parley;
