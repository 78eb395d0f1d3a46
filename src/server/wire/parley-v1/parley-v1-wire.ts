import type { GatewayConnection, WireEndpoint } from '../../transport/ws/ws-gateway.js';
import type { WsSocket } from '../../transport/ws/ws-socket.js';
import { type ParleyV1Deps, ParleyV1Session } from './parley-v1-session.js';

/** Parley v1 as the gateway serves it: a ParleyV1Session per socket. */
export class ParleyV1Wire implements WireEndpoint {
  readonly #deps: ParleyV1Deps;

  constructor(deps: ParleyV1Deps) {
    this.#deps = deps;
  }

  open(socket: WsSocket, _req: unknown, closed: (conn: GatewayConnection) => void): GatewayConnection {
    return new ParleyV1Session(socket, this.#deps, closed);
  }
}
