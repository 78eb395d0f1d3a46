import { randomBytes } from 'node:crypto';
import PusherServerSdk from 'pusher';
import PusherModule from 'pusher-js';
import { TEST_API_KEY } from './server-api.js';
import { startTestServer, type TestServer, type TestServerOptions } from './start-server.js';

// pusher-js's Node build is CommonJS whose module.exports is the class; its types describe an
// ES module with a default export. Take whichever the loader gave.
/** The pusher-js client class. */
export const Pusher = ((PusherModule as unknown as { default?: unknown }).default ??
  PusherModule) as unknown as typeof PusherModule.default;
type ChannelAuth = { auth: string; channel_data?: string; shared_secret?: string };
type UserAuth = { auth: string; user_data: string };
/** A pusher-js client. */
export type Pusher = InstanceType<typeof PusherModule.default>;

/** The Pusher app every Pusher test server has. */
export const APP = { id: 'app-1', key: 'app-key-1', secret: 'app-secret-0123456789abcdef' } as const;

/** A Parley node with the Pusher endpoint on, and the real Pusher clients pointed at it. */
export interface PusherTestServer {
  readonly parley: TestServer;
  /** The `pusher` server SDK (what a Laravel or Node backend uses), pointed at the node. */
  readonly sdk: PusherServerSdk;
  /** A pusher-js client; `presence` is the channel_data the app's auth endpoint would sign. */
  client(options?: ClientOptions): Pusher;
  close(): Promise<void>;
}

/** What a test's pusher-js client is, in the app's eyes. */
export interface ClientOptions {
  /** The presence member the app's auth endpoint signs for presence channels. */
  readonly member?: { readonly user_id: string; readonly user_info?: Record<string, unknown> };
  /** The user `signin()` authenticates as. */
  readonly user?: { readonly id: string; readonly name?: string };
  /** Signs channel auth with this secret instead (a forged signature). */
  readonly forgeWith?: string;
}

/** The base64 master key of end-to-end encrypted channels in these tests. */
export const ENCRYPTION_KEY = randomBytes(32).toString('base64');

/** Starts a node with the Pusher app; `env` adds to it (PARLEY_PUSHER_* settings, say). */
export async function startPusherServer(
  options: TestServerOptions & { readonly env?: Record<string, string> } = {},
): Promise<PusherTestServer> {
  const useFile = options.env?.PARLEY_PUSHER_APPS_FILE !== undefined;
  const parley = await startTestServer({
    ...options,
    env: {
      PARLEY_API_KEY: TEST_API_KEY,
      ...(useFile
        ? {}
        : {
            PARLEY_PUSHER_APP_ID: APP.id,
            PARLEY_PUSHER_APP_KEY: APP.key,
            PARLEY_PUSHER_APP_SECRET: APP.secret,
            PARLEY_PUSHER_CLIENT_EVENTS: 'on',
          }),
      ...options.env,
    },
  });
  const sdk = pusherSdk(parley.port);
  const clients: Pusher[] = [];
  return {
    parley,
    sdk,
    client(opts: ClientOptions = {}) {
      const client = pusherClient(parley.port, opts);
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients) c.disconnect();
      await parley.close();
    },
  };
}

/** Resolves once the pusher-js client is connected, with its socket id. */
export function connected(client: Pusher, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    if (client.connection.state === 'connected') {
      resolve(client.connection.socket_id);
      return;
    }
    const timer = setTimeout(() => reject(new Error(`not connected: ${client.connection.state}`)), timeoutMs);
    client.connection.bind('connected', () => {
      clearTimeout(timer);
      resolve(client.connection.socket_id);
    });
  });
}

/** Resolves with the first `event` on `channel` (bound before it is awaited). */
export function nextEvent<T = unknown>(
  channel: {
    bind(event: string, cb: (data: T, meta?: unknown) => void): unknown;
    unbind(event: string, cb: (data: T) => void): unknown;
  },
  event: string,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${timeoutMs} ms`)), timeoutMs);
    const handler = (data: T) => {
      clearTimeout(timer);
      channel.unbind(event, handler);
      resolve(data);
    };
    channel.bind(event, handler);
  });
}

/** The `pusher` server SDK for the test app, pointed at a node's port. */
export function pusherSdk(port: number, secret: string = APP.secret): PusherServerSdk {
  return new PusherServerSdk({
    appId: APP.id,
    key: APP.key,
    secret,
    host: '127.0.0.1',
    port: String(port),
    useTLS: false,
    encryptionMasterKeyBase64: ENCRYPTION_KEY,
  });
}

/**
 * A pusher-js client of the test app on a node's port, whose channel and user authorization is
 * what the app's backend would answer (signed by the SDK).
 */
export function pusherClient(port: number, opts: ClientOptions = {}): Pusher {
  const sdk = pusherSdk(port);
  const signer = opts.forgeWith === undefined ? sdk : pusherSdk(port, opts.forgeWith);
  return new Pusher(APP.key, {
    cluster: 'local',
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: {
      endpoint: '/unused',
      transport: 'ajax',
      customHandler: (
        { socketId, channelName }: { socketId: string; channelName: string },
        callback: (e: Error | null, a: ChannelAuth | null) => void,
      ) => {
        try {
          const auth = channelName.startsWith('presence-')
            ? signer.authorizeChannel(socketId, channelName, opts.member ?? { user_id: 'anonymous' })
            : signer.authorizeChannel(socketId, channelName);
          callback(null, auth as ChannelAuth);
        } catch (err) {
          callback(err as Error, null);
        }
      },
    },
    userAuthentication: {
      endpoint: '/unused',
      transport: 'ajax',
      customHandler: (
        { socketId }: { socketId: string },
        callback: (e: Error | null, a: UserAuth | null) => void,
      ) => {
        callback(null, sdk.authenticateUser(socketId, opts.user ?? { id: 'nobody' }));
      },
    },
  });
}
