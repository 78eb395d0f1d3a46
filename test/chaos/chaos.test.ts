// Chaos suite (#14): two `parley serve` nodes on a Redis bus and one database (MariaDB, then
// PostgreSQL), clients publishing and subscribing on both, webhooks to a receiver that fails
// about a fifth of the attempts, and in turn: a node SIGKILLed and restarted, Redis killed and
// restarted (one node's clients cut meanwhile), the database cut off for a few seconds and
// restored (the other node's clients cut meanwhile), then its link dead for as long. Afterwards it checks what a
// user would: every acked message stored once with gap-free seq, every subscriber with every
// stored message once and in order, every message.created accepted under one delivery id, and
// online/offline webhooks that alternate per user.
import { createHash, randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message, ParleyClient } from '../../src/client/index.js';
import { liveSockets } from '../support/droppable-web-socket.js';
import {
  type FreshDatabase,
  freshDatabase,
  missingServerReason,
  testServerUrl,
} from '../support/fresh-database.js';
import { redisServerMissing, startTestRedis, type TestRedis } from '../support/redis-server.js';
import { connectResilientClient } from '../support/resilient-client.js';
import { type ServeProcess, startServeProcess } from '../support/serve-process.js';
import { signTestToken } from '../support/sign-test-token.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { until } from '../support/until.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import {
  type AckedPublish,
  checkAcksStored,
  checkChannelHistory,
  checkMessageWebhooks,
  checkPresence,
  checkReceived,
  listed,
  presenceTransitions,
} from './chaos-checks.js';
import { ProcessLog } from './process-log.js';

/** The channels every publisher writes to in turn and every subscriber follows. */
const CHANNELS = ['general', 'chaos-b', 'chaos-c'] as const;
/** Publishers, alternating between the two nodes. */
const PUBLISHERS = 6;
/** The pause between one publisher's ack and its next publish (the stream's pace). */
const PACE_MS = 25;
/** Bounds each publisher's loop whatever happens to the phases. */
const MAX_PER_PUBLISHER = 1500;
/** Acks every publisher must get after a fault before the next one: the cluster recovered. */
const PROGRESS_ACKS = 8;
/** How long the cluster may take to recover from one fault. */
const RECOVERY_TIMEOUT_MS = 45_000;
/** How long the database stays cut off, and then how long its link stays dead. */
const DB_CUT_MS = 4_000;
/** The nodes' statement and connection deadlines: shorter than the dead link lasts. */
const DB_DEADLINE_MS = 1_500;
/** How long subscribers and webhooks may take to catch up once the faults are over. */
const CONVERGE_TIMEOUT_MS = 60_000;
const OFFLINE_GRACE_MS = 1_000;
/** A node silent this long is dead and its users go offline: longer than the database outage. */
const NODE_TTL_MS = 10_000;
const HOOK_SECRET = 'chaos-webhook-secret-0123456789abcdef0123';
/** Webhook log lines the failing receiver provokes by design; counted, not shown. */
const EXPECTED_NOISE = /webhook attempt failed; will retry/;

const redisMissing = await redisServerMissing();

/** Why a case cannot run here (a reason line), or false. */
function skipReason(kind: 'mysql' | 'postgres'): string | false {
  if (testServerUrl(kind) === undefined) return missingServerReason(kind);
  const redis = process.env.PARLEY_TEST_REDIS_URL;
  if (redis === undefined || redis === '')
    return 'set PARLEY_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run the chaos suite (it runs a private redis-server it can kill)';
  return false;
}

/** About a fifth of the attempts fail, decided by the delivery and attempt, so a rerun fails the same ones. */
function receiverFails(deliveryId: string, attempt: number): boolean {
  return createHash('sha256').update(`${deliveryId}#${attempt}`).digest()[0]! < 52;
}

/** One node of the cluster, across its restarts. */
interface ChaosNode {
  readonly name: string;
  proc: ServeProcess;
  /** Set while the test itself stops the process (an exit then is no crash). */
  stopping: boolean;
}

/** An SDK client and what it went through. */
interface Tracked {
  readonly label: string;
  readonly user: string;
  readonly client: ParleyClient;
  readonly errors: string[];
  disconnects: number;
  /** How it stopped for good, unless the test closed it. */
  closed: string | undefined;
  closing: boolean;
}

/** A client following every channel, and what it received of each. */
interface Subscriber {
  readonly c: Tracked;
  readonly received: Map<string, Message[]>;
  readonly resets: string[];
}

/** A client publishing a steady stream, and how each publish ended. */
interface Publisher {
  readonly c: Tracked;
  readonly acked: AckedPublish[];
  readonly failed: string[];
}

async function readyz(port: number): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return ((await res.json()) as { status: string }).status;
  } catch (err) {
    return `no answer (${err instanceof Error ? err.message : String(err)})`;
  }
}

/** Waits like `until`, but a timeout is returned (false) for the checks to explain, not thrown. */
async function settles(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  try {
    await until(pred, 'a condition', timeoutMs);
    return true;
  } catch {
    return false;
  }
}

async function runChaos(t: TestContext, kind: 'mysql' | 'postgres'): Promise<void> {
  if (redisMissing !== undefined)
    throw new Error(
      `PARLEY_TEST_REDIS_URL is set but ${redisMissing}: the chaos suite needs it to kill Redis`,
    );
  const cleanups: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  const t0 = Date.now();
  const when = (at: number) => `at +${((at - t0) / 1000).toFixed(1)}s`;
  const timeline: string[] = [];
  const mark = (what: string) => timeline.push(`${when(Date.now())}: ${what}`);
  const logs: ProcessLog[] = [];
  const crashes: string[] = [];
  const context = () =>
    `\n\ntimeline:\n${timeline.map((l) => `  ${l}`).join('\n')}\n\nnode logs (last lines of each process):\n${logs.map((l) => l.tail(25)).join('\n')}`;

  const database: FreshDatabase = await freshDatabase(kind);
  cleanups.push(() => database.drop());
  const proxy = await TcpProxy.for(database.url);
  cleanups.push(() => proxy.close());
  const redis: TestRedis = await startTestRedis();
  cleanups.push(() => redis.stop());
  const receiver = await WebhookReceiver.start();
  cleanups.push(() => receiver.close());
  receiver.answer = (a) => (receiverFails(a.deliveryId, a.attempt) ? 503 : 204);

  const secret = randomBytes(32).toString('hex');
  const env = {
    PARLEY_JWT_SECRET: secret,
    PARLEY_REDIS_URL: redis.url,
    PARLEY_DEFAULT_CHANNELS: 'general',
    PARLEY_WEBHOOK_URLS: receiver.url,
    PARLEY_WEBHOOK_SECRET: HOOK_SECRET,
    PARLEY_WEBHOOK_RETRY_BASE_MS: '50',
    PARLEY_WEBHOOK_RETRY_MAX_MS: '400',
    PARLEY_WEBHOOK_POLL_MS: '100',
    PARLEY_WEBHOOK_TIMEOUT_MS: '1000',
    PARLEY_OFFLINE_GRACE_MS: String(OFFLINE_GRACE_MS),
    PARLEY_NODE_TTL_MS: String(NODE_TTL_MS),
    PARLEY_DB_QUERY_TIMEOUT_MS: String(DB_DEADLINE_MS),
    PARLEY_DB_CONNECT_TIMEOUT_MS: String(DB_DEADLINE_MS),
    PARLEY_PUBLISH_PER_SECOND: '100000',
    PARLEY_PUBLISH_BURST: '100000',
    PARLEY_FRAMES_PER_SECOND: '100000',
    PARLEY_FRAMES_BURST: '100000',
    PARLEY_CONNECT_PER_SECOND_PER_IP: '10000',
    PARLEY_CONNECT_BURST_PER_IP: '10000',
  };
  const dbUrl = proxy.url(database.url);

  const nodes: ChaosNode[] = [];
  let incarnations = 0;
  const launch = async (name: string, port?: number): Promise<ServeProcess> => {
    const args = ['--db', dbUrl, ...(port === undefined ? [] : ['--port', String(port)])];
    const proc = await startServeProcess(args, env);
    logs.push(new ProcessLog(`${name}${++incarnations}`, proc.child, EXPECTED_NOISE));
    return proc;
  };
  const watch = (node: ChaosNode) => {
    const proc = node.proc;
    void proc.exited.then((code) => {
      if (!node.stopping)
        crashes.push(
          `node ${node.name} exited by itself (${code}) ${when(Date.now())}:\n${proc.stderr().slice(-3000)}`,
        );
    });
  };
  const [a, b] = await Promise.all([launch('A'), launch('B')]);
  for (const [name, proc] of [
    ['A', a],
    ['B', b],
  ] as const) {
    const node: ChaosNode = { name, proc, stopping: false };
    nodes.push(node);
    watch(node);
  }
  cleanups.push(async () => {
    for (const n of nodes) n.stopping = true;
    for (const n of nodes) n.proc.child.kill('SIGTERM');
    const drained = await Promise.race([
      Promise.all(nodes.map((n) => n.proc.exited)).then(() => true),
      sleep(10_000, false, { ref: false }),
    ]);
    if (!drained) for (const n of nodes) n.proc.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.proc.exited));
  });
  const nodeA = nodes[0]!;
  const nodeB = nodes[1]!;
  mark('nodes A and B up');

  // Clients. Every user here is one whose connections the test controls.
  const clients: ParleyClient[] = [];
  cleanups.push(() => Promise.allSettled(clients.map((c) => c.close())));
  const users = new Set<string>();
  const everyClient: Tracked[] = [];
  /** Closes clients on purpose (their `closed` event is no failure then). */
  const closeClients = (list: readonly Tracked[]) =>
    Promise.allSettled(
      list.map((c) => {
        c.closing = true;
        return c.client.close();
      }),
    );
  const track = async (label: string, user: string, node: ChaosNode): Promise<Tracked> => {
    users.add(user);
    const client = await connectResilientClient(node.proc.url, () => signTestToken(secret, user), clients);
    const tracked: Tracked = {
      label,
      user,
      client,
      errors: [],
      disconnects: 0,
      closed: undefined,
      closing: false,
    };
    everyClient.push(tracked);
    client.on('disconnected', () => tracked.disconnects++);
    client.on('error', (e) => {
      if (tracked.errors.length < 20) tracked.errors.push(`${when(Date.now())} ${e.code}: ${e.message}`);
    });
    client.on('closed', (e) => {
      if (tracked.closing) return;
      tracked.closed = `${when(Date.now())} closed for good with ${e.code} (${e.error.code}: ${e.error.message})`;
    });
    return tracked;
  };

  const owner = await track('owner', 'owner', nodeA);
  for (const ch of CHANNELS.slice(1)) await owner.client.createChannel(ch);
  await closeClients([owner]);

  const subscribers: Subscriber[] = [];
  for (const [label, user, node] of [
    ['sub-0@A', 'sub-0', nodeA],
    ['sub-1@B', 'sub-1', nodeB],
    // One user with a tab on each node: one user online, however many connections.
    ['tabs@A', 'tabs', nodeA],
    ['tabs@B', 'tabs', nodeB],
  ] as const) {
    const tracked = await track(label, user, node);
    const sub: Subscriber = { c: tracked, received: new Map(CHANNELS.map((ch) => [ch, []])), resets: [] };
    tracked.client.on('message', (m) => sub.received.get(m.channel)?.push(m));
    tracked.client.on('reset', (r) =>
      sub.resets.push(`${when(Date.now())} ${r.channel}: reset to last_seq ${r.last_seq} (epoch ${r.epoch})`),
    );
    // The channels are empty: from seq 1 on, and every gap filled from history, never reset.
    for (const ch of CHANNELS) await tracked.client.subscribe(ch, { history: 0, recover: 'history' });
    subscribers.push(sub);
  }

  const publishers: Publisher[] = [];
  for (let i = 0; i < PUBLISHERS; i++) {
    const node = i % 2 === 0 ? nodeA : nodeB;
    const tracked = await track(`pub-${i}@${node.name}`, `pub-${i}`, node);
    publishers.push({ c: tracked, acked: [], failed: [] });
  }
  let stop = false;
  const streams = publishers.map(async (p, i) => {
    for (let n = 0; n < MAX_PER_PUBLISHER && !stop; n++) {
      const channel = CHANNELS[(n + i) % CHANNELS.length]!;
      const clientMsgId = `${p.c.user}-${n}`;
      try {
        const ack = await p.c.client.publish(channel, `${p.c.user} #${n}`, { clientMsgId });
        p.acked.push({ publisher: p.c.label, ack });
      } catch (err) {
        p.failed.push(`${when(Date.now())} ${clientMsgId} on ${channel}: ${String(err)}`);
      }
      await sleep(PACE_MS);
    }
  });
  mark(`${PUBLISHERS} publishers and ${subscribers.length} subscribers on ${CHANNELS.length} channels`);

  const noCrash = () => {
    if (crashes.length > 0) throw new Error(`${crashes.join('\n')}${context()}`);
  };
  /** Every publisher gets PROGRESS_ACKS more acks: the stream flows on both nodes. */
  const flowing = async (label: string) => {
    const marks = publishers.map((p) => p.acked.length);
    const ok = await settles(() => {
      noCrash();
      return publishers.every((p, i) => p.acked.length >= marks[i]! + PROGRESS_ACKS);
    }, RECOVERY_TIMEOUT_MS);
    noCrash();
    if (!ok) {
      const stuck = publishers.flatMap((p, i) =>
        p.acked.length >= marks[i]! + PROGRESS_ACKS
          ? []
          : [
              `  ${p.c.label}: ${p.acked.length - marks[i]!} acks in ${RECOVERY_TIMEOUT_MS} ms; last failures: ${p.failed.slice(-3).join(' | ') || 'none'}; errors: ${p.c.errors.slice(-3).join(' | ') || 'none'}`,
            ],
      );
      throw new Error(`the publishes stopped being acked ${label}:\n${stuck.join('\n')}${context()}`);
    }
    mark(`publishes acked on both nodes ${label}`);
  };
  /** Both nodes' /readyz say `status` (or, with `soft`, only a diagnostic if they do not). */
  const bothReady = async (status: string, label: string, soft = false) => {
    const last = new Map<string, string>();
    const ok = await (async () => {
      const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
      for (let polls = 0; polls < 2_000 && Date.now() < deadline; polls++) {
        noCrash();
        const states = await Promise.all(nodes.map((n) => readyz(n.proc.port)));
        for (const [i, n] of nodes.entries()) last.set(n.name, states[i]!);
        if (states.every((s) => s === status)) return true;
        await sleep(50);
      }
      return false;
    })();
    const said = [...last].map(([n, s]) => `${n}: ${s}`).join(', ');
    if (ok) mark(`both nodes' /readyz say ${status} ${label}`);
    else if (soft) t.diagnostic(`/readyz never said ${status} on both nodes ${label} (${said})`);
    else throw new Error(`/readyz did not say ${status} on both nodes ${label}: ${said}${context()}`);
  };

  /** Cuts every client connection to `node` at once (the SDK reconnects and resumes). */
  const dropClientsOf = (node: ChaosNode) => {
    const cut = [...liveSockets].filter((ws) => new URL(ws.url).port === String(node.proc.port));
    for (const ws of cut) ws.terminate();
    mark(`${cut.length} client connections to node ${node.name} cut`);
  };

  await flowing('before any fault');

  // 1. A node dies without a goodbye and comes back on its port (its clients reconnect there).
  const port = nodeB.proc.port;
  nodeB.stopping = true;
  nodeB.proc.child.kill('SIGKILL');
  await nodeB.proc.exited;
  mark('node B SIGKILLed');
  nodeB.proc = await launch('B', port);
  nodeB.stopping = false;
  watch(nodeB);
  mark('node B restarted on its port');
  await flowing('after node B was SIGKILLed and restarted');

  // 2. Redis dies (bus, presence, cache): the nodes serve on, degraded; then it comes back empty.
  await redis.stop();
  mark('Redis killed');
  await bothReady('degraded', 'with Redis down');
  // Resumes while the bus and the history cache are away.
  dropClientsOf(nodeA);
  await flowing('while Redis is down');
  await redis.start();
  mark('Redis restarted (empty)');
  await bothReady('ready', 'after Redis came back');
  await flowing('after Redis came back');

  // 3. The database goes away for a few seconds (connections reset, connects refused).
  await proxy.pause('refuse');
  mark('database cut off');
  await bothReady('unavailable', 'with the database cut off', true);
  // Reconnects and resumes (and users going offline and online) while the database is away.
  dropClientsOf(nodeB);
  // The outage's length is the fault itself, not a wait for a result.
  await sleep(DB_CUT_MS);
  await proxy.resume();
  mark('database restored');
  await bothReady('ready', 'after the database came back');
  await flowing('after the database came back');

  // 4. The link to the database goes dead without closing (a partition): statements in flight,
  // commits included, outlive their deadline and fail; whether they committed is unknown to
  // the node, so the clients' retries must find what did.
  await proxy.pause('blackhole');
  mark('database link dead (blackhole)');
  await sleep(DB_CUT_MS);
  await proxy.resume();
  mark('database link alive again');
  await bothReady('ready', 'after the database link came back');
  await flowing('after the database link came back');

  stop = true;
  await Promise.all(streams);
  noCrash();
  mark('publishers stopped');

  // What is stored, read back through a node.
  const reader = await track('reader@A', 'reader', nodeA);
  const stored = new Map<string, Message[]>();
  for (const ch of CHANNELS) {
    const messages: Message[] = [];
    let complete = false;
    for (let after = 0, pages = 0; pages < 1_000 && !complete; pages++) {
      const page = await reader.client.history(ch, { after, limit: 100 });
      messages.push(...page.messages);
      complete = !page.has_more || page.messages.length === 0;
      after = page.messages.at(-1)?.seq ?? after;
    }
    if (!complete) throw new Error(`the history of ${ch} did not end within 1000 pages`);
    stored.set(ch, messages);
  }
  await closeClients([reader]);
  const allStored = [...stored.values()].flat();
  const acked = publishers.flatMap((p) => p.acked);
  mark(`${acked.length} publishes acked, ${allStored.length} messages stored`);

  const caughtUp = await settles(
    () =>
      subscribers.every((s) =>
        CHANNELS.every((ch) => (s.received.get(ch)?.at(-1)?.seq ?? 0) >= (stored.get(ch)?.at(-1)?.seq ?? 0)),
      ),
    CONVERGE_TIMEOUT_MS,
  );
  mark(caughtUp ? 'every subscriber caught up' : `subscribers still behind after ${CONVERGE_TIMEOUT_MS} ms`);
  const storedIds = allStored.map((m) => m.id);
  const hooked = await settles(() => {
    const accepted = receiver.acceptedMessageIds();
    return storedIds.every((id) => accepted.has(id));
  }, CONVERGE_TIMEOUT_MS);
  mark(
    hooked
      ? 'every message.created accepted'
      : `message.created still missing after ${CONVERGE_TIMEOUT_MS} ms`,
  );

  // Every connection closes; each user is due one user.offline after the grace period.
  await closeClients(everyClient);
  mark('every client closed');
  const controlled = [...users].sort();
  const offline = await settles(() => {
    const byUser = presenceTransitions(receiver.attempts);
    return controlled.every((u) => byUser.get(u)?.at(-1)?.type === 'user.offline');
  }, OFFLINE_GRACE_MS + 30_000);
  mark(offline ? 'every user offline' : 'some users never went offline');

  const attempts = receiver.attempts.length;
  const failedAttempts = receiver.attempts.filter((x) => x.status >= 300).length;
  t.diagnostic(
    `${kind}: ${acked.length} acked, ${publishers.reduce((n, p) => n + p.failed.length, 0)} publishes given up, ` +
      `${CHANNELS.map((ch) => `${ch} ${stored.get(ch)?.length}`).join(', ')} stored; ${attempts} webhook attempts ` +
      `(${failedAttempts} refused); reconnects ${[...publishers, ...subscribers].map(({ c }) => `${c.label} ${c.disconnects}`).join(', ')}`,
  );
  t.diagnostic(`timeline: ${timeline.join('; ')}`);
  t.diagnostic(
    `presence: ${[...presenceTransitions(receiver.attempts)]
      .map(
        ([u, ev]) =>
          `${u} ${ev.map((e) => `${e.type === 'user.online' ? 'on' : 'off'} ${when(e.at)}`).join(', ')}`,
      )
      .join('; ')}`,
  );
  for (const p of publishers)
    if (p.failed.length > 0) t.diagnostic(`${p.c.label} gave up on: ${listed(p.failed).join(' | ')}`);

  const report = (problems: readonly string[]) => `${listed(problems).join('\n')}${context()}`;
  const check = (problems: readonly string[]) => {
    if (problems.length > 0) throw new Error(report(problems));
  };

  await t.test('every acked message is stored once, with gap-free seq per channel', () => {
    check([
      ...CHANNELS.flatMap((ch) => checkChannelHistory(ch, stored.get(ch) ?? [])),
      ...checkAcksStored(acked, stored),
    ]);
  });

  await t.test('every subscriber got every stored message of its channels once, in seq order', () => {
    check(
      subscribers.flatMap(({ c, received, resets }) => {
        const problems = [
          ...CHANNELS.flatMap((ch) =>
            checkReceived(c.label, ch, stored.get(ch) ?? [], received.get(ch) ?? []),
          ),
          ...resets.map((r) => `${c.label}: ${r} (a resume that gave up its position)`),
          ...(c.closed === undefined ? [] : [`${c.label}: ${c.closed}`]),
          ...(c.disconnects > 0
            ? []
            : [`${c.label} never lost its connection: the scenario did not make it resume`]),
        ];
        // What the SDK reported on the way (a skipped gap says so), for the subscribers at fault.
        if (problems.length > 0 && c.errors.length > 0)
          problems.push(`${c.label}: its SDK errors: ${c.errors.join(' | ')}`);
        return problems;
      }),
    );
  });

  await t.test('every message.created was accepted at least once, under one delivery id', () => {
    const refused = receiver.attempts.filter((x) => x.type === 'message.created' && x.status >= 300);
    check([
      ...checkMessageWebhooks(allStored, receiver.attempts),
      ...(refused.length > 0
        ? []
        : ['no message.created attempt was refused: the retries were not exercised']),
    ]);
  });

  await t.test('user.online and user.offline alternate for every user, starting online', () => {
    check(checkPresence(controlled, presenceTransitions(receiver.attempts), when));
  });
}

describe('chaos: two nodes on Redis and a database, through a node kill, a Redis restart and a database outage', () => {
  for (const kind of ['mysql', 'postgres'] as const) {
    it(
      `keeps every message, delivery and webhook (${kind === 'mysql' ? 'MariaDB' : 'PostgreSQL'})`,
      { skip: skipReason(kind), timeout: 150_000 },
      (t) => runChaos(t, kind),
    );
  }
});
