import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  type DatabaseKind,
  freshDatabase,
  missingServerReason,
  testServerUrl,
} from '../support/fresh-database.js';
import { startServeProcess } from '../support/serve-process.js';
import { serverPost, TEST_API_KEY } from '../support/server-api.js';
import { signTestToken } from '../support/sign-test-token.js';
import { startTestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const HOOK_SECRET = 'h'.repeat(40);

describe('webhook outbox', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('delivers every acked message after a SIGKILL, with the delivery id its failed attempts had', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-outbox-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const receiver = await WebhookReceiver.start();
    cleanups.push(() => receiver.close());
    receiver.answer = () => 503; // down while the first node runs
    const secret = randomBytes(32).toString('hex');
    const env = {
      PARLEY_JWT_SECRET: secret,
      PARLEY_WEBHOOK_URLS: receiver.url,
      PARLEY_WEBHOOK_SECRET: HOOK_SECRET,
      PARLEY_WEBHOOK_RETRY_BASE_MS: '50',
      PARLEY_WEBHOOK_RETRY_MAX_MS: '200',
      PARLEY_WEBHOOK_POLL_MS: '100',
      PARLEY_WEBHOOK_TIMEOUT_MS: '1000',
      PARLEY_PUBLISH_PER_SECOND: '100000',
      PARLEY_PUBLISH_BURST: '100000',
    };
    const db = `sqlite:${join(dir, 'parley.db')}`;
    const token = await signTestToken(secret, 'writer');
    const first = await startServeProcess(['--db', db], env);
    cleanups.push(async () => void first.child.kill('SIGKILL'));
    const c = await TestClient.authed(first.url, token);
    const acked = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const ack = await c.request({
        type: 'publish',
        channel: 'general',
        text: `hook ${i}`,
        client_msg_id: `w${i}`,
      });
      acked.add(ack.id as string);
    }
    await until(() => receiver.attempts.some((a) => a.type === 'message.created'), 'a first failed attempt');
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');
    const failedIds = new Set(
      receiver.attempts.filter((a) => a.type === 'message.created').map((a) => a.deliveryId),
    );

    receiver.answer = () => 204;
    const second = await startServeProcess(['--db', db], env);
    cleanups.push(async () => {
      second.child.kill('SIGTERM');
      await second.exited;
    });
    await until(
      () => [...acked].every((id) => receiver.acceptedMessageIds().has(id)),
      'every acked message delivered',
      20_000,
    );
    const accepted = receiver.accepted('message.created');
    const acceptedIds = new Set(accepted.map((a) => a.deliveryId));
    for (const id of failedIds)
      assert.ok(acceptedIds.has(id), `delivery ${id} kept its id across the restart`);
    // One event per message: a delivery id names one message.
    const messageOf = new Map<string, string>();
    for (const a of accepted) {
      const m = (JSON.parse(a.body) as { data: { message: { id: string } } }).data.message.id;
      assert.equal(messageOf.get(a.deliveryId) ?? m, m);
      messageOf.set(a.deliveryId, m);
    }
    // …and a message has one event: as many delivery ids as messages, all of them acked ones.
    assert.equal(messageOf.size, acked.size);
    assert.deepEqual(new Set(messageOf.values()), acked);
  });

  it('lists deliveries whose retry window ran out as dead, and replays them with their ids', async () => {
    const receiver = await WebhookReceiver.start();
    cleanups.push(() => receiver.close());
    receiver.answer = () => 500;
    const srv = await startTestServer({
      env: {
        PARLEY_WEBHOOK_URLS: receiver.url,
        PARLEY_WEBHOOK_SECRET: HOOK_SECRET,
        PARLEY_API_KEY: TEST_API_KEY,
      },
      limits: { webhookRetryWindowMs: 300, webhookRetryBaseMs: 20, webhookRetryMaxMs: 50, webhookPollMs: 50 },
    });
    cleanups.push(() => srv.close());
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${srv.httpUrl}/api/server/${path}`, {
        method,
        headers: { 'X-Api-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    await serverPost(srv, 'dana', 'general', 'will die');
    type Listed = {
      id: string;
      event_id: string;
      type: string;
      state: string;
      attempts: number;
      last_error: string;
    };
    let dead: Listed[] = [];
    await until(async () => {
      const res = await api('GET', 'webhooks?state=dead');
      dead = ((await res.json()) as { deliveries: Listed[] }).deliveries.filter(
        (d) => d.type === 'message.created',
      );
      return dead.length === 1;
    }, 'the delivery dead');
    const [d] = dead;
    assert.ok(d);
    assert.equal(d.state, 'dead');
    assert.ok(d.attempts >= 2, 'retried before it died');
    assert.equal(d.last_error, 'HTTP 500');
    const metrics = await (await fetch(`${srv.httpUrl}/metrics`)).text();
    assert.match(metrics, /parley_webhook_deliveries_total\{outcome="dead"\} [1-9]/);

    assert.equal((await api('GET', 'webhooks?state=gone')).status, 400);
    assert.equal((await api('POST', 'webhooks/replay', { ids: 'all' })).status, 400);

    receiver.answer = () => 204;
    const replayed = (await (await api('POST', 'webhooks/replay', {})).json()) as { replayed: number };
    assert.ok(replayed.replayed >= 1);
    await until(() => receiver.accepted().some((a) => a.deliveryId === d.event_id), 'the replayed delivery');
    await until(async () => {
      const res = await api('GET', 'webhooks?state=dead');
      return ((await res.json()) as { deliveries: Listed[] }).deliveries.length === 0;
    }, 'the dead list empty');
  });

  for (const kind of ['sqlite', 'mysql', 'postgres'] as const satisfies readonly DatabaseKind[]) {
    const server = kind === 'sqlite' ? undefined : testServerUrl(kind);
    const skip = kind !== 'sqlite' && server === undefined ? missingServerReason(kind) : false;
    it(`sends each delivery from one node of two sharing a database (${kind})`, { skip }, async () => {
      const database = await freshDatabase(kind, server);
      cleanups.push(() => database.drop());
      const receiver = await WebhookReceiver.start();
      cleanups.push(() => receiver.close());
      const options = {
        databaseUrl: database.url,
        env: {
          PARLEY_WEBHOOK_URLS: receiver.url,
          PARLEY_WEBHOOK_SECRET: HOOK_SECRET,
          PARLEY_API_KEY: TEST_API_KEY,
        },
        limits: { webhookPollMs: 50, webhookRetryBaseMs: 20 },
      };
      const a = await startTestServer(options);
      cleanups.push(() => a.close());
      const b = await startTestServer({ ...options, secret: a.secret });
      cleanups.push(() => b.close());
      // Some attempts fail, so retries are claimed again too.
      receiver.answer = (seen) => (seen.attempt === 1 && seen.deliveryId.charCodeAt(0) % 3 === 0 ? 503 : 204);
      const posts: Promise<void>[] = [];
      for (let i = 0; i < 60; i++)
        posts.push(serverPost(i % 2 === 0 ? a : b, `u${i % 5}`, 'general', `m${i}`));
      await Promise.all(posts);
      await until(() => receiver.acceptedMessageIds().size === 60, 'sixty messages delivered', 20_000);
      // Let both nodes poll a few more times: nothing is sent again.
      await new Promise((r) => setTimeout(r, 300));
      const accepted = receiver.accepted('message.created');
      assert.equal(accepted.length, 60, 'each delivery accepted once');
      const perAttempt = new Map<string, number>();
      for (const at of receiver.attempts) {
        const key = `${at.deliveryId}#${at.attempt}`;
        perAttempt.set(key, (perAttempt.get(key) ?? 0) + 1);
      }
      assert.ok(
        [...perAttempt.values()].every((n) => n === 1),
        'no attempt sent by two nodes',
      );
    });
  }

  it('says user.online and user.offline once for a user whose tabs are on two nodes, and when a node dies', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-online-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const receiver = await WebhookReceiver.start();
    cleanups.push(() => receiver.close());
    const env = {
      PARLEY_WEBHOOK_URLS: receiver.url,
      PARLEY_WEBHOOK_SECRET: HOOK_SECRET,
      PARLEY_OFFLINE_GRACE_MS: '100',
      PARLEY_NODE_TTL_MS: '900',
      PARLEY_WEBHOOK_POLL_MS: '50',
    };
    const databaseUrl = `sqlite:${join(dir, 'parley.db')}`;
    const a = await startTestServer({ databaseUrl, env });
    cleanups.push(() => a.close());
    const b = await startTestServer({ databaseUrl, env, secret: a.secret });
    cleanups.push(() => b.close());
    const transitions = (user: string) =>
      receiver
        .accepted()
        .filter((x) => x.type === 'user.online' || x.type === 'user.offline')
        .filter((x) => (JSON.parse(x.body) as { data: { user: { id: string } } }).data.user.id === user)
        .map((x) => x.type);

    const token = await a.token('tabs', 'Tabs');
    const onA = await TestClient.authed(a.url, token);
    await until(() => transitions('tabs').length === 1, 'user.online');
    const onB = await TestClient.authed(b.url, token);
    onA.close();
    // Past node A's grace period: node B still holds the user, so nothing is said.
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(transitions('tabs'), ['user.online']);
    onB.close();
    await until(() => transitions('tabs').length === 2, 'user.offline');
    assert.deepEqual(transitions('tabs'), ['user.online', 'user.offline']);

    // A node that dies with the user's only connection: another node lets them go after the TTL.
    const secret = a.secret;
    const dying = await startServeProcess(['--db', databaseUrl], { ...env, PARLEY_JWT_SECRET: secret });
    cleanups.push(async () => void dying.child.kill('SIGKILL'));
    const lone = await TestClient.authed(dying.url, await signTestToken(secret, 'lone', 'Lone'));
    await until(() => transitions('lone').length === 1, 'user.online of the lone user');
    dying.child.kill('SIGKILL');
    await dying.exited;
    lone.close();
    await until(() => transitions('lone').length === 2, 'user.offline after the node died', 15_000);
    assert.deepEqual(transitions('lone'), ['user.online', 'user.offline']);
  });
});
