// Types of the Parley JavaScript SDK (Web/sdk/parley.js). Protocol: docs/PROTOCOL.md.

export declare const SESSION_STATUS: {
  readonly PENDING: "PENDING";
  readonly CONNECTED: "CONNECTED";
  readonly ESTABLISHED: "ESTABLISHED";
  readonly RECONNECTING: "RECONNECTING";
  readonly DISCONNECTED: "DISCONNECTED";
  readonly FAILED: "FAILED";
};
export type SessionStatus = (typeof SESSION_STATUS)[keyof typeof SESSION_STATUS];

export declare const ROOM_EVENT: {
  readonly STATE: "STATE";
  readonly JOINED: "JOINED";
  readonly LEFT: "LEFT";
  readonly MESSAGE: "MESSAGE";
  readonly FAILED: "FAILED";
};

/** A refusal from the server; `code` is one of the stable codes in docs/PROTOCOL.md. */
export declare class ParleyError extends Error {
  readonly code: string;
}

export interface ErrorInfo {
  code: string;
  message: string;
  /** With RECONNECTING: which retry this is and its delay in ms. */
  attempt?: number;
  delay?: number;
}

export interface StreamDescription {
  id: string;
  display?: string;
  audio: boolean;
  video: boolean;
  audioMuted: boolean;
  videoMuted: boolean;
}

export declare class Participant {
  name(): string;
  readonly streams: StreamDescription[];
  getStreams(): StreamDescription[];
  /** A private chat message to this participant. */
  sendMessage(text: string): Promise<ChatMessage>;
}

export interface ChatMessage {
  room: string;
  from: Participant;
  text: string;
  /** Server time. */
  time: Date;
  /** Set for a private message. */
  to?: string;
}

export interface JoinOptions {
  /** The room's name; omitted, the server creates a room with an unguessable name. */
  name?: string;
  /** A cap for a room this join creates (never above the server's). */
  maxParticipants?: number;
}

export declare class Room {
  name(): string | null;
  getParticipants(): Participant[];
  history(): ChatMessage[];
  isJoined(): boolean;
  sendMessage(text: string, to?: string): Promise<ChatMessage>;
  leave(): Promise<object>;
  on(event: "STATE", handler: (room: Room) => void): this;
  on(event: "JOINED" | "LEFT", handler: (participant: Participant, reason?: string) => void): this;
  on(event: "MESSAGE", handler: (message: ChatMessage) => void): this;
  on(event: "FAILED", handler: (room: Room, info: ErrorInfo) => void): this;
  off(event: string, handler: (...args: any[]) => void): this;
}

export interface ReconnectOptions {
  maxAttempts?: number;
  /** ms before the first retry; doubles each time. */
  initialDelay?: number;
  maxDelay?: number;
}

export interface ConnectOptions {
  /** e.g. `ws://host:8080/ws` */
  urlServer: string;
  username: string;
  /** Reconnect after an unexpected drop (default on); `false` disables it. */
  reconnect?: ReconnectOptions | false;
  /** For tests: a WebSocket constructor. */
  WebSocket?: typeof WebSocket;
}

export declare class Session {
  status(): SessionStatus;
  id(): string | null;
  username(): string;
  rooms(): Room[];
  join(options?: JoinOptions): Room;
  disconnect(): void;
  on(event: SessionStatus, handler: (session: Session, info?: ErrorInfo) => void): this;
  off(event: string, handler: (...args: any[]) => void): this;
}

export declare const Parley: {
  readonly roomApi: { connect(options: ConnectOptions): Session };
};
export default Parley;
