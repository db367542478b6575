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
  /** Another participant published a stream (handler: participant, stream description). */
  readonly PUBLISHED: "PUBLISHED";
  /** Another participant's stream ended (handler: participant, stream description, reason). */
  readonly UNPUBLISHED: "UNPUBLISHED";
  /** Another participant's stream changed, e.g. its mute state (handler: participant, stream description). */
  readonly UPDATED: "UPDATED";
  /** The join was refused (`room_full`, `name_taken`, `invalid_room`, …). The room object is then dropped. */
  readonly FAILED: "FAILED";
};
export type RoomEvent = (typeof ROOM_EVENT)[keyof typeof ROOM_EVENT];

export declare const STREAM_STATUS: {
  /** Getting the camera or screen, negotiating; or a publish waiting out a reconnect (info `{code: "connection_lost"}`):
   *  it keeps its camera and preview and is published again, with a new id, once its room is rejoined. */
  readonly PENDING: "PENDING";
  /** A publish: the server receives our media (its transport connected). */
  readonly PUBLISHING: "PUBLISHING";
  /** A play or an echo test: media flows to us. */
  readonly PLAYING: "PLAYING";
  /** A publish ended: `stop()`, the browser's "Stop sharing", `room.leave()`, `session.disconnect()`, or the server. Final. */
  readonly UNPUBLISHED: "UNPUBLISHED";
  /** A play or echo test ended the same ways, or its publisher stopped (info `{code: "closed", reason: "unpublished"}`). Final. */
  readonly STOPPED: "STOPPED";
  /** Camera denied, refused by the server, transport failure, or the socket dropped (`connection_lost`: plays and echo
   *  tests; publishes only when the session gives up or their room cannot be rejoined). Final. */
  readonly FAILED: "FAILED";
};
export type StreamStatus = (typeof STREAM_STATUS)[keyof typeof STREAM_STATUS];

export declare const STREAM_EVENT: {
  /** A publish the server's operator muted or unmuted: `stream.mutedByServer()` says what. */
  readonly MUTED_BY_SERVER: "MUTED_BY_SERVER";
};

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

/** A stream a participant publishes, as the server describes it (`join` reply, PUBLISHED, UPDATED). */
export interface StreamDescription {
  /** The published stream's id; pass it as `participant.play(display, {stream: id})`. */
  id: string;
  /** Its label, e.g. `camera` or `screen`. */
  display?: string;
  /** Which kinds it carries. */
  audio: boolean;
  video: boolean;
  /** The publisher's mute state; UPDATED tells of changes. */
  audioMuted: boolean;
  videoMuted: boolean;
  /** What the server's operator muted (included in audioMuted/videoMuted); absent when nothing. */
  mutedByServer?: { audio: boolean; video: boolean };
}

/** Someone else in a room. */
export declare class Participant {
  name(): string;
  /** Kept up to date by PUBLISHED, UPDATED and UNPUBLISHED. */
  readonly streams: StreamDescription[];
  /** What the participant publishes now (a copy of `streams`): a camera and a screen may be both there. */
  getStreams(): StreamDescription[];
  /** A private chat message to this participant only. */
  sendMessage(text: string): Promise<ChatMessage>;
  /**
   * Plays one of this participant's streams: the first, or the one `options.stream` (id) or `options.name`
   * (label) names. The media shows in `display`: a <video> is created in a container (autoplay, playsinline, not
   * muted unless `options.muted`; browsers may hold autoplay with sound until the user interacts), or `display`
   * is used if it is a <video>; `null` for no element (use `getMediaStream()`). Statuses: PLAYING, STOPPED, FAILED
   * (`unknown_stream` when there is no such stream, `no_common_codec` when the browser cannot decode it, …).
   */
  play(display: HTMLElement | null, options?: PlayOptions): Stream;
}

export interface PlayOptions {
  /** The published stream's id (from getStreams() or PUBLISHED). */
  stream?: string;
  /** Or its label, e.g. `screen`. */
  name?: string;
  /** Mute the <video> (lets autoplay start without a user gesture). Default false. */
  muted?: boolean;
  /** `false`: do not receive this kind. Default: the room's (see PublishOptions), else true. */
  receiveAudio?: boolean;
  receiveVideo?: boolean;
}

/** getUserMedia constraints; a `deviceId` string means exactly that device (see `navigator.mediaDevices.enumerateDevices()`). */
export interface CameraConstraints {
  /** Default false when `constraints` is given, true when it is omitted. */
  audio?: boolean | MediaTrackConstraints;
  /** e.g. `{width: 1280, height: 720, frameRate: 30, deviceId}`. */
  video?: boolean | MediaTrackConstraints;
}

/** The screen (getDisplayMedia): the browser asks the user what to share. */
export interface ScreenConstraints {
  screen: true;
  /** Also the system or tab audio, where the browser offers it (the user may still decline). Default false. */
  audio?: boolean;
  /** e.g. `{frameRate: 5}`. Default true. */
  video?: boolean | MediaTrackConstraints;
}

export interface PublishOptions {
  /** Where the muted local preview goes: a container (a <video> is created in it) or a <video>. Optional. */
  display?: HTMLElement | null;
  /** The label others see (`display` on the wire): default `camera`, or `screen` for `{screen: true}`. */
  name?: string;
  /** Default `{audio: true, video: true}`. */
  constraints?: CameraConstraints | ScreenConstraints;
  /** Records the stream on the server; `getRecordInfo()` names the file (at /client/records/NAME once it ends). */
  record?: boolean;
  /** `false`: this room's later `participant.play()` calls skip that kind (unless their options say otherwise). */
  receiveAudio?: boolean;
  receiveVideo?: boolean;
}

/** Passed with a stream's statuses (not with PUBLISHING/PLAYING). */
export interface StreamStatusInfo {
  /**
   * `stopped` (stop(), or the browser's "Stop sharing"), `left` (room.leave()), `disconnected`
   * (session.disconnect()), `closed` (ended by the server; see `reason`), `failed` (the server's transport
   * failed, e.g. DTLS), `connection_lost` (the socket dropped), `media_denied` (camera, microphone or screen
   * refused or missing), `not_in_room`, `unknown_stream`, `nothing_to_play`, `ice_failed`, `negotiation_failed`,
   * or a server error code (`no_common_codec`, `bad_sdp`, `too_many_streams`, `media_unavailable`, …).
   */
  code: string;
  message: string;
  /**
   * With `closed` and `failed` from the server: its stable reason code (docs/PROTOCOL.md), e.g. `unpublished`
   * when a played stream's publisher stopped, `consent_expired`, `peer_closed`, `stopped`, `dtls_failed`,
   * `fingerprint_mismatch`, `srtp_failed`; `message` then holds the server's words for people.
   */
  reason?: string;
}

export interface RepublishStatus {
  status: "connecting" | "publishing" | "retrying" | "ended";
  /** connecting: the attempt, from 1. */
  attempt?: number;
  /** retrying: why (the far server's words when it refused); ended: for people. */
  message?: string;
  /** retrying: seconds until the next attempt. */
  retryIn?: number;
  /** ended: "unpublished" (its source ended), "stopped", or "connection_lost" (the socket dropped: the server stops it). */
  reason?: string;
}

/** A push to another RTMP server; the server reconnects by itself when the far end drops. */
export declare class Republish {
  id(): string;
  stream(): string;
  status(): RepublishStatus["status"];
  stop(): Promise<{}>;
  on(event: "status", handler: (push: Republish, info: RepublishStatus) => void): this;
  off(event: "status", handler: (push: Republish, info: RepublishStatus) => void): this;
}

/**
 * A publish, a play or an echo test, each over its own RTCPeerConnection. Emits its status with
 * `(stream, info)`. The server ends a session's streams with its socket. After a drop, publishes go back to
 * PENDING (`connection_lost`) and are published again by themselves once their room is rejoined
 * (`reconnect.restore`, on by default); plays and echo tests are FAILED (`connection_lost`), and the app plays
 * the others' streams again from ROOM_EVENT.STATE if it wants to.
 */
export declare class Stream {
  /** The server's id (a publish's id is what others play); `null` until the server answered. */
  id(): string | null;
  status(): StreamStatus;
  /** A publish's local media; a play's or echo test's received media (tracks arrive after PENDING). */
  getMediaStream(): MediaStream | null;
  /** A publish with `record: true`: the server's file, at /client/records/NAME once `status` is `finished` or
   *  `stopped` (the "recording" event says when); `status` is null until the recording starts. */
  getRecordInfo(): { recordName: string; status: RecordingStatus | null } | null;
  /** The peer connection, e.g. for `getStats()`; `null` before negotiation starts. */
  getPeerConnection(): RTCPeerConnection | null;
  /** Same as getPeerConnection(). */
  peerConnection(): RTCPeerConnection | null;
  /** The local camera, microphone or screen of a publish or an echo test. */
  localStream(): MediaStream | null;
  isAudioMuted(): boolean;
  isVideoMuted(): boolean;
  /** A publish the operator muted: what the room no longer gets, whatever this stream's own mute says; null when nothing. */
  mutedByServer(): { audio: boolean; video: boolean } | null;
  /**
   * Disable (mute) or enable the tracks of this kind: a publish's local tracks, whose new state the room's other
   * members get as UPDATED (may be called before PUBLISHING: the state goes with the publish); a play's received
   * tracks, only here. Resolves when the server has it; rejects with a ParleyError (e.g. `not_connected`).
   */
  muteAudio(): Promise<Record<string, never>>;
  unmuteAudio(): Promise<Record<string, never>>;
  muteVideo(): Promise<Record<string, never>>;
  unmuteVideo(): Promise<Record<string, never>>;
  /** Releases the camera, the connection and a created <video> at once (→ UNPUBLISHED or STOPPED), then tells the server; resolves when it replied. */
  stop(): Promise<Record<string, never>>;
  on(event: StreamStatus, handler: (stream: Stream, info?: StreamStatusInfo) => void): this;
  /** A publish with `record: true`: its recording's progress (it may end after the stream has). */
  on(event: "recording", handler: (stream: Stream, info: RecordingInfo) => void): this;
  on(event: "MUTED_BY_SERVER", handler: (stream: Stream, mute: { audio: boolean; video: boolean } | null) => void): this;
  /** Removes one handler, or every handler of `event` when `handler` is omitted. */
  off(event: StreamStatus | "recording", handler?: (...args: any[]) => void): this;
}

/** `started`; `finished` (the file is complete); `stopped` (ended before the stream, see `reason`; the file holds
 *  what came before); `failed` (never started: `reason` is the server's error code, e.g. `record_unavailable`). */
export type RecordingStatus = "started" | "finished" | "stopped" | "failed";

export interface RecordingInfo {
  status: RecordingStatus;
  recordName: string;
  /** For `stopped`: `max_length`, `disk_full`, `write_failed` or `too_slow`; for `failed`, the error code. */
  reason?: string;
  message?: string;
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
  /**
   * Pushes a stream of this room (our published Stream, or a stream id) to another RTMP server, e.g.
   * `rtmp://a.rtmp.youtube.com/live2/KEY`. Rejects with a ParleyError: bad_url, unknown_stream, unsupported_codec,
   * too_many_streams, not_in_room.
   */
  republish(stream: Stream | string, url: string): Promise<Republish>;
  /**
   * Leaves (a join still in flight is undone); resolves with the reply's result (`{}`). Our publishes and plays
   * in this room end at once (UNPUBLISHED / STOPPED, code `left`); the server stops them on its side.
   */
  leave(): Promise<Record<string, never>>;
  /**
   * Publishes the camera and microphone, or the screen (`constraints: {screen: true}`), into the room once it is
   * joined (else FAILED `not_in_room`): PENDING → PUBLISHING → UNPUBLISHED, or FAILED. Call it more than once to
   * publish a camera and a screen at the same time. Mute calls made right away go with the publish request.
   */
  publish(options?: PublishOptions): Stream;
  on(event: "STATE", handler: (room: Room) => void): this;
  on(event: "JOINED", handler: (participant: Participant) => void): this;
  on(event: "LEFT", handler: (participant: Participant, reason: "left" | "disconnected") => void): this;
  on(event: "MESSAGE", handler: (message: ChatMessage) => void): this;
  on(event: "PUBLISHED" | "UPDATED", handler: (participant: Participant, stream: StreamDescription) => void): this;
  on(event: "UNPUBLISHED", handler: (participant: Participant, stream: StreamDescription,
    reason: "unpublished" | "left" | "disconnected" | "failed") => void): this;
  on(event: "FAILED", handler: (room: Room, info: ErrorInfo) => void): this;
  /** Removes one handler, or every handler of `event` when `handler` is omitted. */
  off(event: RoomEvent, handler?: (...args: any[]) => void): this;
}

export interface ReconnectOptions {
  /** Retries after a drop before FAILED; default 30 (1–2 minutes). Also bounds rejoins refused with `name_taken`. */
  maxAttempts?: number;
  /** ms before the first retry, default 500; doubles each time, with jitter (a delay is ½–1× the nominal one). */
  initialDelay?: number;
  /** Cap of the nominal delay in ms; default 5000. */
  maxDelay?: number;
  /** Publish our streams again after the rejoin, with the same tracks (default true); false ends them FAILED. */
  restore?: boolean;
}

/**
 * A `ping` request every `interval` ms: one not answered within `timeout` ms drops the socket and reconnects
 * (a half-open connection after a laptop's sleep or a network change gives no other sign). Defaults 10000/10000.
 */
export interface HeartbeatOptions {
  interval?: number;
  timeout?: number;
}

/** Timer functions; tests pass fakes to drive reconnection without waiting. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ConnectOptions {
  /** e.g. `ws://host:8080/ws` (`wss://` with TLS). */
  urlServer: string;
  /** 1–64 printable characters; the server trims it. Also the name in every room. With access tokens the
   *  token's subject is the name instead (`session.username()` says which). */
  username: string;
  /**
   * An access token (JWT) for a server started with `--auth jwt` (docs/PROTOCOL.md, "Access tokens"), or a function
   * that returns one (or a promise of one): it is called for every connect, so reconnects get a fresh token.
   * A refused token makes the session FAILED with code `unauthorized`.
   */
  token?: string | (() => string | Promise<string>);
  /**
   * `"relay"` sends all media through the TURN servers the server hands out (`--turn-url`), e.g. to test them or to
   * hide the client's addresses; default `"all"`: TURN is used only where a direct path fails.
   */
  iceTransportPolicy?: "all" | "relay";
  /**
   * Reconnect after an unexpected drop of an established session (default on): then every joined room is
   * rejoined under the same name and emits STATE again. `false` disables it (a drop is then FAILED).
   */
  reconnect?: ReconnectOptions | false;
  /** `false` turns the heartbeat off. The browser's `online` event also retries at once or checks the socket. */
  heartbeat?: HeartbeatOptions | false;
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
  /**
   * Echo test: the camera and microphone go through the server and come back into `display` (a <video>, or a
   * container for one): PENDING → PLAYING → STOPPED, or FAILED. `localStream()` is the camera.
   */
  echoTest(options?: { display?: HTMLElement | null; constraints?: CameraConstraints }): Stream;
  /** Closes the session for good; no reconnection. The server removes it from every room. Our streams end (code `disconnected`). */
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
