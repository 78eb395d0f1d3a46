import type { IncomingMessage, ServerResponse } from 'node:http';
import { ParleyError } from '../../../protocol/error-catalogue.js';
import type { PusherApp } from '../../config-pusher.js';
import { SYSTEM_USER } from '../../core/actor.js';
import type { ChatService } from '../../core/chat-service.js';
import { channelKind, invalidChannelName, type PusherChannelNames } from './pusher-channel-names.js';
import { bodyMd5, requestSignature, sameSecret } from './pusher-signatures.js';

/** How far `auth_timestamp` may be from the server's clock (Pusher: 600 s). */
const TIMESTAMP_WINDOW_S = 600;
const SOCKET_ID = /^\d+\.\d+$/;
const SYSTEM = { user: SYSTEM_USER, system: true } as const;

/** An HTTP error of the Pusher API: its status and message (sent as `{ "error": message }`). */
class PusherHttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 413 | 500 | 503,
    message: string,
  ) {
    super(message);
  }
}

/** What the Pusher HTTP API needs from the node. */
export interface PusherHttpApiDeps {
  readonly chat: ChatService;
  readonly apps: readonly PusherApp[];
  readonly names: PusherChannelNames;
  /** Largest request body accepted. */
  readonly bodyMaxBytes: number;
  readonly onError: (err: unknown) => void;
}

interface TriggerEvent {
  readonly name: string;
  readonly data: string;
  readonly channels: readonly string[];
  readonly socketId: string | undefined;
  readonly info: readonly string[];
}

/**
 * The Pusher Channels HTTP API at `/apps/{app_id}/…`, signed the Pusher way (`auth_key`,
 * `auth_timestamp` within 600 s, `auth_version`, `body_md5`, `auth_signature` over method,
 * path and sorted query; compared in constant time). A triggered event is a stored Parley
 * message with a seq. Answers are JSON, `{}` at least (pusher-php-server wants a body); errors
 * are 400/401/403/404/413 with `{ "error": message }`. Parley's extension: a signed history
 * read, `GET /apps/{id}/channels/{name}/messages`.
 */
export class PusherHttpApi {
  readonly #d: PusherHttpApiDeps;
  readonly #byId: ReadonlyMap<string, PusherApp>;

  constructor(deps: PusherHttpApiDeps) {
    this.#d = deps;
    this.#byId = new Map(deps.apps.map((a) => [a.id, a]));
  }

  /** Whether a request is for this API (its path starts with `/apps/`). */
  static claims(url: string | undefined): boolean {
    return url?.startsWith('/apps/') === true;
  }

  /** Answers one request; errors become bodies here, and only here. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let status = 200;
    let body: unknown;
    try {
      body = await this.#route(req);
    } catch (err) {
      if (err instanceof PusherHttpError) {
        status = err.status;
        body = { error: err.message };
      } else if (err instanceof ParleyError) {
        status =
          err.code === 'unavailable'
            ? 503
            : err.code === 'not_found'
              ? 404
              : err.code === 'forbidden'
                ? 403
                : 400;
        body = { error: err.message };
      } else {
        this.#d.onError(err);
        status = 500;
        body = { error: 'internal error' };
      }
    }
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-store',
    });
    res.end(text);
  }

  async #route(req: IncomingMessage): Promise<unknown> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').map((p) => decodeURIComponent(p));
    // ['', 'apps', id, resource, …]
    const app = this.#byId.get(parts[2] ?? '');
    if (app === undefined) throw new PusherHttpError(404, 'unknown app id');
    const method = req.method ?? 'GET';
    const raw = method === 'POST' ? await this.#body(req) : Buffer.alloc(0);
    this.#authenticate(app, method, url, raw);
    const [resource, name, sub, extra] = parts.slice(3);
    if (method === 'POST' && resource === 'events' && name === undefined) return this.#events(app, json(raw));
    if (method === 'POST' && resource === 'batch_events' && name === undefined)
      return this.#batch(app, json(raw));
    if (method === 'GET' && resource === 'channels' && name === undefined) return this.#channels(app, url);
    if (method === 'GET' && resource === 'channels' && name !== undefined && sub === undefined) {
      return this.#channel(app, name, url);
    }
    if (
      method === 'GET' &&
      resource === 'channels' &&
      name !== undefined &&
      sub === 'users' &&
      extra === undefined
    ) {
      return this.#users(app, name);
    }
    if (
      method === 'GET' &&
      resource === 'channels' &&
      name !== undefined &&
      sub === 'messages' &&
      extra === undefined
    ) {
      return this.#history(app, name, url);
    }
    if (method === 'POST' && resource === 'users' && name !== undefined && sub === 'terminate_connections') {
      await this.#d.chat.disconnectUser(name, 'terminated by the app');
      return {};
    }
    throw new PusherHttpError(404, `no such resource: ${method} ${url.pathname}`);
  }

  #authenticate(app: PusherApp, method: string, url: URL, body: Buffer): void {
    const params = new Map<string, string>();
    for (const [k, v] of url.searchParams) {
      if (params.has(k)) throw new PusherHttpError(400, `query parameter "${k}" given twice`);
      params.set(k, v);
    }
    if (params.get('auth_key') !== app.key) throw new PusherHttpError(401, 'unknown auth_key');
    if (params.get('auth_version') !== '1.0') throw new PusherHttpError(401, 'auth_version must be 1.0');
    const timestamp = Number(params.get('auth_timestamp'));
    if (!Number.isFinite(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > TIMESTAMP_WINDOW_S) {
      throw new PusherHttpError(
        401,
        `auth_timestamp must be within ${TIMESTAMP_WINDOW_S} s of the server's clock`,
      );
    }
    if (body.length > 0 || params.has('body_md5')) {
      if (!sameSecret(params.get('body_md5') ?? '', bodyMd5(body)))
        throw new PusherHttpError(401, 'body_md5 does not match the body');
    }
    const given = params.get('auth_signature') ?? '';
    if (!sameSecret(given, requestSignature(app, method, url.pathname, params))) {
      throw new PusherHttpError(401, 'invalid auth_signature');
    }
  }

  async #events(app: PusherApp, body: Record<string, unknown>): Promise<unknown> {
    const event = this.#triggerEvent(app, body);
    const info = await this.#trigger(app, event);
    return event.info.length === 0 ? {} : { channels: info };
  }

  async #batch(app: PusherApp, body: Record<string, unknown>): Promise<unknown> {
    const batch = body.batch;
    if (!Array.isArray(batch)) throw new PusherHttpError(400, '"batch" must be an array of events');
    if (batch.length > app.maxBatchEvents)
      throw new PusherHttpError(400, `at most ${app.maxBatchEvents} events in a batch`);
    // All checked before any is stored: a bad event refuses the batch whole.
    const events = batch.map((e) => {
      if (typeof e !== 'object' || e === null)
        throw new PusherHttpError(400, 'each batch event must be an object');
      return this.#triggerEvent(app, e as Record<string, unknown>);
    });
    const answers: unknown[] = [];
    for (const event of events) {
      const info = await this.#trigger(app, event);
      const first = event.channels[0] as string;
      answers.push(event.info.length === 0 ? {} : (info[first] ?? {}));
    }
    return events.some((e) => e.info.length > 0) ? { batch: answers } : {};
  }

  #triggerEvent(app: PusherApp, body: Record<string, unknown>): TriggerEvent {
    const { name, data, socket_id: socketId, info } = body;
    if (typeof name !== 'string' || name === '')
      throw new PusherHttpError(400, '"name" must be a non-empty string');
    if (name.length > app.maxEventNameChars)
      throw new PusherHttpError(400, `event names are at most ${app.maxEventNameChars} characters`);
    const text = typeof data === 'string' ? data : JSON.stringify(data ?? null);
    if (Buffer.byteLength(text) > app.maxEventBytes)
      throw new PusherHttpError(413, `event data is larger than ${app.maxEventBytes} bytes`);
    const channels = Array.isArray(body.channels)
      ? body.channels
      : typeof body.channel === 'string'
        ? [body.channel]
        : undefined;
    if (channels === undefined || channels.length === 0)
      throw new PusherHttpError(400, '"channels" (or "channel") names no channel');
    if (channels.length > app.maxChannelsPerTrigger) {
      throw new PusherHttpError(400, `at most ${app.maxChannelsPerTrigger} channels per event`);
    }
    for (const c of channels) {
      const invalid = invalidChannelName(app, c);
      if (invalid !== undefined) throw new PusherHttpError(400, invalid);
    }
    if (channels.length > 1 && channels.some((c) => channelKind(c as string) === 'encrypted')) {
      throw new PusherHttpError(400, 'an event for an encrypted channel goes to that channel alone');
    }
    if (socketId !== undefined && (typeof socketId !== 'string' || !SOCKET_ID.test(socketId))) {
      throw new PusherHttpError(400, '"socket_id" must look like 123.456');
    }
    const infoList =
      typeof info === 'string'
        ? info
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
        : [];
    return { name, data: text, channels: channels as string[], socketId, info: infoList };
  }

  // Stores the event in each channel (one message with a seq each) and returns the asked info.
  async #trigger(app: PusherApp, event: TriggerEvent): Promise<Record<string, Record<string, number>>> {
    const { chat, names } = this.#d;
    const info: Record<string, Record<string, number>> = {};
    for (const name of event.channels) {
      const id = names.idOf(app, name);
      const kind = channelKind(name);
      await chat.channels.ensureOne(id, kind === 'public' || kind === 'cache' ? 'public' : 'private', name);
      await chat.messages.post(SYSTEM, {
        channel: id,
        text: event.data,
        clientMsgId: null,
        event: event.name,
        except: event.socketId,
      });
      if (event.info.length > 0) info[name] = await this.#info(id, name, event.info);
    }
    return info;
  }

  async #info(id: string, name: string, wanted: readonly string[]): Promise<Record<string, number>> {
    const occupancy = await this.#d.chat.subscriptions.occupancy(id);
    const out: Record<string, number> = {};
    if (wanted.includes('subscription_count')) out.subscription_count = occupancy.subscriptions;
    if (wanted.includes('user_count') && channelKind(name) === 'presence') out.user_count = occupancy.users;
    return out;
  }

  async #channels(app: PusherApp, url: URL): Promise<unknown> {
    const prefix = url.searchParams.get('filter_by_prefix') ?? '';
    const wanted = (url.searchParams.get('info') ?? '').split(',').filter((s) => s !== '');
    if (wanted.includes('user_count') && !prefix.startsWith('presence-')) {
      throw new PusherHttpError(400, 'info=user_count needs filter_by_prefix=presence-');
    }
    const channels: Record<string, Record<string, number>> = {};
    for (const { id, name } of this.#d.names.namesOf(app)) {
      if (!name.startsWith(prefix)) continue;
      const occupancy = await this.#d.chat.subscriptions.occupancy(id);
      if (occupancy.subscriptions === 0) continue;
      channels[name] = await this.#info(id, name, wanted);
    }
    return { channels };
  }

  async #channel(app: PusherApp, name: string, url: URL): Promise<unknown> {
    const invalid = invalidChannelName(app, name);
    if (invalid !== undefined) throw new PusherHttpError(400, invalid);
    const wanted = (url.searchParams.get('info') ?? '').split(',').filter((s) => s !== '');
    if (wanted.includes('user_count') && channelKind(name) !== 'presence') {
      throw new PusherHttpError(400, 'user_count is for presence channels only');
    }
    const id = this.#d.names.idOf(app, name);
    const occupancy = await this.#d.chat.subscriptions.occupancy(id);
    return { occupied: occupancy.subscriptions > 0, ...(await this.#info(id, name, wanted)) };
  }

  async #users(app: PusherApp, name: string): Promise<unknown> {
    if (channelKind(name) !== 'presence')
      throw new PusherHttpError(400, 'users are listed for presence channels only');
    const users = await this.#d.chat.subscriptions.online(this.#d.names.idOf(app, name));
    return { users: users.map((u) => ({ id: u.id })) };
  }

  // Parley's extension: a page of a channel's stored events, oldest first.
  async #history(app: PusherApp, name: string, url: URL): Promise<unknown> {
    const invalid = invalidChannelName(app, name);
    if (invalid !== undefined) throw new PusherHttpError(400, invalid);
    const seq = (key: string) => {
      const v = url.searchParams.get(key);
      if (v === null) return undefined;
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 0)
        throw new PusherHttpError(400, `"${key}" must be a non-negative integer`);
      return n;
    };
    const id = this.#d.names.idOf(app, name);
    const { chat } = this.#d;
    if ((await chat.access.channel(id)) === undefined) return { messages: [], has_more: false };
    const page = await chat.messages.history(SYSTEM, {
      channel: id,
      after: seq('after'),
      before: seq('before'),
      limit: seq('limit'),
    });
    return {
      messages: page.messages.map((m) => ({
        seq: m.seq,
        id: m.id,
        event: m.event ?? 'parley:message',
        data:
          m.event === undefined
            ? JSON.stringify({ user_id: m.user_id, username: m.username, text: m.text })
            : m.text,
        time_ms: m.ts,
      })),
      has_more: page.has_more,
    };
  }

  async #body(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > this.#d.bodyMaxBytes)
        throw new PusherHttpError(413, `the body is larger than ${this.#d.bodyMaxBytes} bytes`);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }
}

function json(raw: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PusherHttpError(400, 'the body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new PusherHttpError(400, 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}
