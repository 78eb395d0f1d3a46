/** The part of a WebSocket `message` event the client reads. */
export interface WebSocketMessageEventLike {
  readonly data: unknown;
}

/** The part of a WebSocket `close` event the client reads. */
export interface WebSocketCloseEventLike {
  readonly code: number;
  readonly reason: string;
}

/** The part of a WebSocket `error` event the client reads (the `ws` package sets `message`). */
export interface WebSocketErrorEventLike {
  readonly message?: string;
}

/**
 * The subset of the WHATWG WebSocket API the client uses. The browser's `WebSocket` and the
 * `WebSocket` class of the `ws` package (which delivers text frames as strings through
 * `addEventListener`) both fit it.
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** Drops the connection without a closing handshake; `ws` has it, browsers do not. */
  terminate?(): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: WebSocketMessageEventLike) => void): void;
  addEventListener(type: 'close', listener: (event: WebSocketCloseEventLike) => void): void;
  addEventListener(type: 'error', listener: (event: WebSocketErrorEventLike) => void): void;
}

/** A WebSocket constructor: `globalThis.WebSocket` in a browser, `WebSocket` from `ws` on Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** `WebSocket.OPEN`. */
export const WS_OPEN = 1;
