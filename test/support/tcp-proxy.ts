import { once } from 'node:events';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';

/**
 * How `TcpProxy.pause` cuts the link:
 * - `refuse`: the database went away. The port stops listening (a new connect is refused) and
 *   every open connection is reset, both towards the client and towards the database.
 * - `blackhole`: a half-dead link (a partition, a dead host, a stuck NAT entry). The port
 *   still accepts connections but forwards nothing, and open connections stay open but carry
 *   no byte either way: nothing fails, everything waits.
 */
export type ProxyCut = 'refuse' | 'blackhole';

/** One client connection and its link to the database. */
interface Link {
  readonly client: Socket;
  upstream: Socket | undefined;
  forwarding: boolean;
}

/** How many times `resume` tries to listen again on its port while something else holds it. */
const RELISTEN_ATTEMPTS = 50;

/**
 * A TCP proxy on an ephemeral loopback port in front of a database server, so a test can cut
 * the database off a running node (`pause`) and bring it back (`resume`) without touching the
 * server others use. Start with `TcpProxy.start`, point the node at `url(databaseUrl)`, and
 * `close()` it after the test.
 */
export class TcpProxy {
  /** The proxy's own port on 127.0.0.1 (the same across `pause('refuse')` and `resume`). */
  readonly port: number;
  readonly #target: { readonly host: string; readonly port: number };
  readonly #links = new Set<Link>();
  #server: Server | undefined;
  #cut: ProxyCut | undefined;
  #closed = false;
  #accepted = 0;

  private constructor(target: { host: string; port: number }, server: Server, port: number) {
    this.#target = target;
    this.#server = server;
    this.port = port;
  }

  /** Starts a proxy to `target` (host and port of the real server) on 127.0.0.1:0. */
  static async start(target: { readonly host: string; readonly port: number }): Promise<TcpProxy> {
    // Nothing connects before `listening`, by when the proxy exists.
    let accept: (socket: Socket) => void = (socket) => socket.destroy();
    const server = createServer({ pauseOnConnect: true }, (socket) => accept(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
    const proxy = new TcpProxy(target, server, address.port);
    accept = (socket) => proxy.#accept(socket);
    return proxy;
  }

  /** Starts a proxy to the server a database URL names (`mysql://…`, `postgres://…`). */
  static async for(databaseUrl: string): Promise<TcpProxy> {
    const url = new URL(databaseUrl);
    const defaultPort = url.protocol.startsWith('postgres') ? 5432 : 3306;
    const host = url.hostname === '' || url.hostname === 'localhost' ? '127.0.0.1' : url.hostname;
    return TcpProxy.start({ host, port: url.port === '' ? defaultPort : Number(url.port) });
  }

  /** `databaseUrl` with its host and port replaced by the proxy's. */
  url(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  /** Connections accepted so far (forwarded or held). */
  get accepted(): number {
    return this.#accepted;
  }

  /** Open client connections, forwarded or not. */
  get open(): number {
    return this.#links.size;
  }

  /** Cuts the link (see `ProxyCut`); resolves once the cut is in place. */
  async pause(cut: ProxyCut = 'refuse'): Promise<void> {
    if (this.#closed) throw new Error('the proxy is closed');
    if (this.#cut !== undefined) throw new Error(`the proxy is already cut (${this.#cut})`);
    this.#cut = cut;
    if (cut === 'blackhole') {
      for (const link of this.#links) this.#hold(link);
      return;
    }
    const server = this.#server;
    this.#server = undefined;
    const closed = server === undefined ? undefined : new Promise((resolve) => server.close(resolve));
    for (const link of [...this.#links]) this.#drop(link);
    await closed;
  }

  /**
   * Restores the link: listens again on the same port after `refuse`; after `blackhole`, the
   * held connections carry bytes again, as a link does when a partition heals (those whose
   * client gave up meanwhile are closed then).
   */
  async resume(): Promise<void> {
    if (this.#closed) throw new Error('the proxy is closed');
    const cut = this.#cut;
    if (cut === undefined) return;
    this.#cut = undefined;
    if (cut === 'refuse') {
      this.#server = await this.#listenAgain();
      return;
    }
    for (const link of this.#links) this.#forward(link);
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const server = this.#server;
    this.#server = undefined;
    for (const link of [...this.#links]) this.#drop(link);
    if (server !== undefined) await new Promise((resolve) => server.close(resolve));
  }

  #accept(client: Socket): void {
    this.#accepted++;
    const link: Link = { client, upstream: undefined, forwarding: false };
    this.#links.add(link);
    client.on('error', () => this.#drop(link));
    client.on('close', () => this.#drop(link));
    if (this.#cut === undefined) this.#forward(link);
  }

  /** Pipes the link both ways, connecting it to the database first if it is new. */
  #forward(link: Link): void {
    if (link.forwarding || link.client.destroyed) return;
    link.forwarding = true;
    if (link.upstream === undefined) {
      const upstream = netConnect(this.#target.port, this.#target.host);
      link.upstream = upstream;
      upstream.on('error', () => this.#drop(link));
      upstream.on('close', () => this.#drop(link));
    }
    link.client.pipe(link.upstream);
    link.upstream.pipe(link.client);
  }

  /** Stops the link in both directions without closing it: no byte passes, nothing fails. */
  #hold(link: Link): void {
    if (!link.forwarding) return;
    link.forwarding = false;
    link.client.unpipe();
    link.upstream?.unpipe();
    link.client.pause();
    link.upstream?.pause();
  }

  /** Resets both sides of a link and forgets it. */
  #drop(link: Link): void {
    if (!this.#links.delete(link)) return;
    for (const socket of [link.client, link.upstream]) {
      if (socket === undefined || socket.destroyed) continue;
      // An RST, as from a server that died: the peer's next read or write fails at once.
      if (socket.readyState === 'open') socket.resetAndDestroy();
      else socket.destroy();
    }
  }

  /** Listens on this proxy's port again, retrying (bounded) while the port is briefly taken. */
  async #listenAgain(): Promise<Server> {
    for (let attempt = 1; ; attempt++) {
      const server = createServer({ pauseOnConnect: true }, (socket) => this.#accept(socket));
      try {
        server.listen(this.port, '127.0.0.1');
        // once() rejects when 'error' comes first.
        await once(server, 'listening');
        return server;
      } catch (error) {
        server.close();
        const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (!inUse || attempt >= RELISTEN_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }
}
