import { once } from 'node:events';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

const require = createRequire(import.meta.url);

/** A browser subscription the mock push service issued. */
export interface MockSubscription {
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
  readonly clientHash: string;
}

interface Model {
  notifyUrl: string;
  subscribe(options: { applicationServerKey: string }): Promise<MockSubscription>;
  getNotifications(body: { clientHash: string }): { messages: string[] };
  expireSubscription(clientHash: string): void;
}

interface TestingServer {
  readonly _app: { listen(port: number, host: string): Server };
  setRequestHandlers(): void;
}

/**
 * A local push service for tests: the `web-push-testing` package's, in this process on
 * 127.0.0.1 and a free port. It checks each push's VAPID signature against the key the
 * subscription was made with, decrypts it (RFC 8291) with the subscription's private key and
 * keeps the plaintext; an expired subscription answers 410. (Its package starts it on every
 * interface from its CLI; here its request handlers are mounted on a loopback listener.)
 */
export class MockPushService {
  readonly #model: Model;
  readonly #server: Server;

  private constructor(model: Model, server: Server) {
    this.#model = model;
    this.#server = server;
  }

  static async start(): Promise<MockPushService> {
    const { PushApiModel } = require('web-push-testing/src/PushApiModel.js') as {
      PushApiModel: new () => Model;
    };
    const Server = require('web-push-testing/src/server.js') as new (
      model: Model,
      port: number,
    ) => TestingServer;
    const model = new PushApiModel();
    const testing = new Server(model, 0);
    const server = testing._app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    testing.setRequestHandlers();
    model.notifyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify/`;
    return new MockPushService(model, server);
  }

  /** A browser's subscription for the server key `applicationServerKey` (base64url). */
  subscribe(applicationServerKey: string): Promise<MockSubscription> {
    return this.#model.subscribe({ applicationServerKey });
  }

  /** The decrypted payloads pushed to the subscription, oldest first. */
  received(sub: MockSubscription): string[] {
    return [...this.#model.getNotifications({ clientHash: sub.clientHash }).messages];
  }

  /** Makes the push service answer 410 Gone for the subscription from now on. */
  expire(sub: MockSubscription): void {
    this.#model.expireSubscription(sub.clientHash);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
