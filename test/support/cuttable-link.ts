import { once } from 'node:events';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';

/**
 * A TCP relay on a loopback port in front of one node's Redis, so a test can cut that node off
 * (`cut`: every open connection is reset and new ones are reset at once, as by a broken
 * network) while the other nodes keep their own links, then mend it (`restore`). The port
 * stays the same throughout.
 */
export class CuttableLink {
  readonly port: number;
  readonly #server: Server;
  readonly #target: number;
  readonly #sockets = new Set<Socket>();
  #cut = false;

  private constructor(server: Server, port: number, target: number) {
    this.#server = server;
    this.port = port;
    this.#target = target;
  }

  /** Relays 127.0.0.1:<a free port> to 127.0.0.1:`targetPort`. */
  static async start(targetPort: number): Promise<CuttableLink> {
    let accept: (client: Socket) => void = (client) => client.destroy();
    const server = createServer((client) => accept(client));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the link has no TCP address');
    const link = new CuttableLink(server, address.port, targetPort);
    accept = (client) => link.#accept(client);
    return link;
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Resets every connection through the link, and each new one until `restore`. */
  cut(): void {
    this.#cut = true;
    for (const socket of [...this.#sockets]) reset(socket);
    this.#sockets.clear();
  }

  /** Relays new connections again. */
  restore(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #accept(client: Socket): void {
    if (this.#cut) {
      reset(client);
      return;
    }
    const upstream = netConnect(this.#target, '127.0.0.1');
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.#sockets.add(socket);
      socket.on('error', () => reset(other));
      socket.on('close', () => {
        this.#sockets.delete(socket);
        reset(other);
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

function reset(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.readyState === 'open') socket.resetAndDestroy();
  else socket.destroy();
}
