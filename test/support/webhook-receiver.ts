import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST a webhook receiver got, and what it answered. */
export interface WebhookAttempt {
  /** `X-Parley-Delivery`: the event's id, the same on every attempt. */
  readonly deliveryId: string;
  readonly type: string;
  readonly attempt: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly status: number;
}

/**
 * A webhook receiver on 127.0.0.1 that records every attempt. `answer` decides each status
 * (default 204); change it at any time (a receiver that is down, then back).
 */
export class WebhookReceiver {
  readonly attempts: WebhookAttempt[] = [];
  answer: (attempt: Omit<WebhookAttempt, 'status'>) => number = () => 204;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const seen = {
          deliveryId: String(req.headers['x-parley-delivery'] ?? ''),
          type: String(req.headers['x-parley-event'] ?? ''),
          attempt: Number(req.headers['x-parley-attempt'] ?? 0),
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        };
        const status = receiver.answer(seen);
        receiver.attempts.push({ ...seen, status });
        res.writeHead(status).end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  /** The attempts that were answered 2xx. */
  accepted(type?: string): WebhookAttempt[] {
    return this.attempts.filter(
      (a) => a.status >= 200 && a.status < 300 && (type === undefined || a.type === type),
    );
  }

  /** The message ids of the accepted `message.created` events. */
  acceptedMessageIds(): Set<string> {
    return new Set(
      this.accepted('message.created').map(
        (a) => (JSON.parse(a.body) as { data: { message: { id: string } } }).data.message.id,
      ),
    );
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
