import WebSocket from 'ws';

/** The live sockets of every DroppableWebSocket, for a test to cut. */
export const liveSockets = new Set<WebSocket>();

/** A `ws` WebSocket a test can cut (terminate) from outside the SDK, to simulate dropped clients. */
export class DroppableWebSocket extends WebSocket {
  constructor(url: string) {
    super(url);
    liveSockets.add(this);
    this.once('close', () => liveSockets.delete(this));
  }
}
