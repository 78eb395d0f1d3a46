/**
 * Memory under hostile clients (issue #14): how much a Parley server's memory grows while N
 * clients misbehave, against what the limits allow (docs/operations.md, "Memory under hostile
 * clients").
 *
 *   node --import tsx bench/hostile-memory.ts [--n 50] [--max-minutes 10] [--out bench/results]
 *
 * One server (bench/servers/parley-server.ts: SQLite, memory bus, every limit at its default
 * except the rate limits, which are lifted so that the flood is not refused), loopback only.
 * The phases, each from a fresh baseline taken after a full GC:
 *
 * - flood: N WebSocket clients subscribe to one channel and stop reading (the socket is
 *   paused, so TCP backpressure builds) while a publisher floods the channel and one more
 *   subscriber reads everything; until the server has cut all N (close 4001). Once with
 *   3,500-character messages, once with 100-character ones (more frames per byte). Each is
 *   followed by a control: the same number of messages with all N subscribers reading, which
 *   is the flood's own cost (commit batches, encoding, socket buffers in flight).
 * - idle: N TCP connections that send nothing, until the server closes them.
 * - half-open: N WebSocket handshakes cut off just below the header limit, and left there.
 * - slow bodies: N `POST /api/auth/login` announcing a 64-KiB body, sending all of it but
 *   the last bytes, then one byte a second.
 *
 * Memory is the server's own, from its process: `heap` is V8's used heap plus memory outside
 * it (`external`: Buffers), retained (sampled every 100 ms after a full GC); RSS is the
 * kernel's peak (VmHWM, reset at each phase's start), garbage and allocator slack included. Writes `hostile-memory.json` and `hostile-memory.md` to the output
 * directory. Every loop is bounded in count and time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { DEFAULT_LIMITS } from '../src/server/config.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const KIB = 1024;
const MIB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '50' },
    'max-minutes': { type: 'string', default: '10' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const N = Number(values.n);
if (!Number.isSafeInteger(N) || N < 1 || N > 1000) throw new Error('--n must be 1 to 1000');
const deadline = Date.now() + Number(values['max-minutes']) * 60_000;
const limits = DEFAULT_LIMITS;

function remainingMs(capMs: number): number {
  const left = deadline - Date.now();
  if (left <= 0) throw new Error('the run passed --max-minutes');
  return Math.min(capMs, left);
}

async function waitFor(pred: () => boolean | Promise<boolean>, what: string, capMs: number): Promise<void> {
  const until = Date.now() + remainingMs(capMs);
  while (!(await pred())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------------
// The server under test, in its own process.

interface Stats {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
}

class ServerUnderTest {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (s: Stats) => void>();
  #nextId = 1;
  readonly port: number;

  private constructor(child: ChildProcess, port: number) {
    this.#child = child;
    this.port = port;
    child.on('message', (m: { id?: number } & Stats) => {
      if (m.id === undefined) return;
      this.#pending.get(m.id)?.(m);
      this.#pending.delete(m.id);
    });
  }

  static async start(env: NodeJS.ProcessEnv): Promise<ServerUnderTest> {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench', 'servers', 'parley-server.ts')],
      { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    const [m] = (await once(child, 'message', { signal: AbortSignal.timeout(60_000) })) as [
      { listening?: number },
    ];
    if (m.listening === undefined) throw new Error('the server did not announce its port');
    return new ServerUnderTest(child, m.listening);
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  /** The server's memory, after a full GC when `gc`. */
  stats(gc: boolean): Promise<Stats> {
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      const timer = setTimeout(() => reject(new Error('the server did not answer stats')), 30_000);
      this.#pending.set(id, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.#child.send({ cmd: 'stats', id, gc });
    });
  }

  /** Resets the kernel's peak-RSS mark (Linux); false where that is not possible. */
  async resetPeakRss(): Promise<boolean> {
    try {
      await writeFile(`/proc/${this.pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  }

  /** The kernel's peak RSS since the last reset (VmHWM), or undefined. */
  peakRss(): Promise<number | undefined> {
    return this.#status('VmHWM');
  }

  /** The RSS now (VmRSS), or undefined. */
  rss(): Promise<number | undefined> {
    return this.#status('VmRSS');
  }

  async #status(field: string): Promise<number | undefined> {
    try {
      const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
      const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
      return kb === undefined ? undefined : Number(kb) * KIB;
    } catch {
      return undefined;
    }
  }

  /** A counter or gauge from /metrics (0 when absent). */
  async metric(name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? 0 : Number(line.slice(name.length + 1));
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = once(this.#child, 'exit');
    this.#child.send({ cmd: 'stop' });
    const kill = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(kill);
  }
}

/**
 * The server's peak of retained heap+external over a phase: sampled every 100 ms, each
 * sample after a full GC, so that garbage the flood leaves behind does not count as held.
 */
class HeapSampler {
  #peak = 0;
  #running = true;
  readonly #done: Promise<void>;

  constructor(server: ServerUnderTest) {
    this.#done = (async () => {
      // Bounded by the run's deadline; stopped by `stop`.
      while (this.#running && Date.now() < deadline) {
        const s = await server.stats(true);
        this.#peak = Math.max(this.#peak, s.heapUsed + s.external);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }

  async stop(): Promise<number> {
    this.#running = false;
    await this.#done;
    return this.#peak;
  }
}

// ---------------------------------------------------------------------------------------------
// Clients.

interface Frame {
  readonly type: string;
  readonly ref?: string;
  readonly [key: string]: unknown;
}

/** A Parley v1 client on `ws`: authenticates, subscribes, counts messages, can stop reading. */
class Client {
  readonly ws: WebSocket;
  messages = 0;
  acks = 0;
  #waiters: { ref: string; resolve: (f: Frame) => void }[] = [];
  #ref = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type === 'message') this.messages++;
      else if (frame.type === 'ack') this.acks++;
      if (frame.ref === undefined) return;
      const i = this.#waiters.findIndex((w) => w.ref === frame.ref);
      if (i >= 0) this.#waiters.splice(i, 1)[0]?.resolve(frame);
    });
    ws.on('error', () => {});
  }

  static async connect(port: number, token: string): Promise<Client> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const client = new Client(ws);
    await once(ws, 'open', { signal: AbortSignal.timeout(10_000) });
    const welcome = await client.request({ type: 'auth', token });
    if (welcome.type !== 'welcome') throw new Error(`auth failed: ${JSON.stringify(welcome)}`);
    return client;
  }

  request(frame: Record<string, unknown>): Promise<Frame> {
    const ref = `r${++this.#ref}`;
    const reply = new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${String(frame.type)}`)), 30_000);
      this.#waiters.push({
        ref,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
    // `auth` carries no ref in its reply: the first welcome answers it.
    if (frame.type === 'auth') {
      this.ws.once('message', (data) => {
        const f = JSON.parse(data.toString()) as Frame;
        this.#waiters.find((w) => w.ref === ref)?.resolve(f);
      });
    }
    this.ws.send(JSON.stringify({ ...frame, ref }));
    return reply;
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }
}

function token(secret: string, userId: string): Promise<string> {
  return new SignJWT({ user_id: userId, username: userId })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}

/** A raw TCP connection from a loopback address, recording the first bytes it receives. */
class RawConnection {
  readonly socket: Socket;
  firstLine = '';
  closedAt: number | undefined;
  readonly closed: Promise<void>;

  constructor(port: number, localAddress: string) {
    this.socket = connect({ host: '127.0.0.1', port, localAddress });
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      if (this.firstLine === '') this.firstLine = d.split('\r\n')[0] ?? '';
    });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.closedAt = Date.now();
        resolve();
      }),
    );
  }
}

// Up to 100 connections per loopback address, below the per-IP cap (128 by default).
function localAddress(i: number): string {
  return `127.0.0.${2 + Math.floor(i / 100)}`;
}

// ---------------------------------------------------------------------------------------------
// Phases.

interface PhaseResult {
  readonly phase: string;
  readonly connections: number;
  /** What the limits allow the connections to hold, in bytes. */
  readonly allowedBytes: number;
  readonly baseHeap: number;
  readonly peakHeap: number;
  readonly baseRss: number;
  readonly peakRss: number | undefined;
  /** Heap+external after the connections are gone, after a GC. */
  readonly afterHeap: number;
  readonly notes: string;
}

/** The server's memory after a GC, once two readings 100 ms apart agree within 64 KiB (≤ 20). */
async function settledStats(server: ServerUnderTest): Promise<Stats> {
  let stats = await server.stats(true);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const next = await server.stats(true);
    const settled = Math.abs(next.heapUsed + next.external - (stats.heapUsed + stats.external)) < 64 * KIB;
    stats = next;
    if (settled) break;
  }
  return stats;
}

async function measure(
  server: ServerUnderTest,
  phase: string,
  allowedBytes: number,
  run: () => Promise<{ notes: string; connections: number }>,
): Promise<PhaseResult> {
  const base = await settledStats(server);
  await server.resetPeakRss();
  const baseRss = (await server.rss()) ?? base.rss;
  const sampler = new HeapSampler(server);
  let outcome: { notes: string; connections: number };
  let peakHeap: number;
  try {
    outcome = await run();
  } finally {
    peakHeap = await sampler.stop();
  }
  const peakRss = await server.peakRss();
  await waitFor(
    async () => (await server.metric('parley_connections')) === 0,
    'connections to close',
    30_000,
  );
  // The server frees a closed connection's state a moment after the client sees the close.
  const afterStats = await settledStats(server);
  const result: PhaseResult = {
    phase,
    connections: outcome.connections,
    allowedBytes,
    baseHeap: base.heapUsed + base.external,
    peakHeap,
    baseRss,
    peakRss,
    afterHeap: afterStats.heapUsed + afterStats.external,
    notes: outcome.notes,
  };
  process.stdout.write(
    `${phase}: heap +${mib(peakHeap - result.baseHeap)}, RSS +${peakRss === undefined ? '?' : mib(peakRss - baseRss)}, ` +
      `allowed ${mib(allowedBytes)}; ${outcome.notes}\n`,
  );
  return result;
}

/**
 * Floods `general` from a publisher. With `stopReading`, N subscribers pause their sockets
 * and the flood runs until the server has cut all N (or `maxMessages`); else it publishes
 * exactly `maxMessages` to N reading subscribers.
 */
async function flood(
  server: ServerUnderTest,
  secret: string,
  o: { readonly chars: number; readonly stopReading: boolean; readonly maxMessages: number },
): Promise<{ notes: string; connections: number; published: number }> {
  const label = o.stopReading ? 'slow' : 'reader';
  // Ids unique to this flood: a retried id would be acked as a duplicate and not delivered.
  const run = `${label}-${o.chars}-${randomBytes(4).toString('hex')}`;
  const subscribers = await Promise.all(
    Array.from({ length: N }, async (_, i) =>
      Client.connect(server.port, await token(secret, `${label}${i}`)),
    ),
  );
  const watcher = await Client.connect(server.port, await token(secret, 'watcher'));
  const publisher = await Client.connect(server.port, await token(secret, 'publisher'));
  for (const c of [...subscribers, watcher]) {
    const reply = await c.request({ type: 'subscribe', channel: 'general', history: 0 });
    if (reply.type !== 'subscribed') throw new Error(`subscribe failed: ${JSON.stringify(reply)}`);
  }
  if (o.stopReading) for (const c of subscribers) c.ws.pause();
  const dropsBefore = await server.metric('parley_send_queue_drops_total');
  const text = 'x'.repeat(o.chars);
  const window = 200;
  let sent = 0;
  let drops = 0;
  const started = Date.now();
  const stopAt = Date.now() + remainingMs(120_000);
  // Bounded by maxMessages and by time; checks the drop count every 1,000 messages.
  while (sent < o.maxMessages && Date.now() < stopAt) {
    if (sent - publisher.acks < window) {
      publisher.send({
        type: 'publish',
        channel: 'general',
        text,
        client_msg_id: `${run}-${sent}`,
      });
      sent++;
      if (o.stopReading && sent % 1000 === 0) {
        drops = (await server.metric('parley_send_queue_drops_total')) - dropsBefore;
        if (drops >= N) break;
      }
    } else {
      await new Promise((r) => setImmediate(r));
    }
  }
  await waitFor(() => publisher.acks >= sent, 'the last acks', 60_000);
  await waitFor(() => watcher.messages >= sent, 'the reading subscriber to get every message', 60_000);
  if (o.stopReading) {
    drops = (await server.metric('parley_send_queue_drops_total')) - dropsBefore;
  } else {
    await waitFor(
      () => subscribers.every((c) => c.messages >= sent),
      'every reading subscriber to get every message',
      120_000,
    );
  }
  const seconds = (Date.now() - started) / 1000;
  for (const c of [...subscribers, watcher, publisher]) c.ws.terminate();
  const notes = o.stopReading
    ? `${sent.toLocaleString('en-US')} messages in ${seconds.toFixed(1)} s; ${drops}/${N} cut with 4001; the reading subscriber got all ${watcher.messages.toLocaleString('en-US')}`
    : `${sent.toLocaleString('en-US')} messages in ${seconds.toFixed(1)} s, all delivered to all ${N + 1} subscribers`;
  return { notes, connections: N, published: sent };
}

/**
 * N clients that each send `requests` history requests for pages of 50 3,500-character
 * messages (~180 KB a reply, nothing shared between clients) and never read: the server must
 * cut each once its own replies pass the budget.
 */
async function pipelineHistory(
  server: ServerUnderTest,
  secret: string,
  requests = 100,
): Promise<{ notes: string; connections: number }> {
  const clients = await Promise.all(
    Array.from({ length: N }, async (_, i) => Client.connect(server.port, await token(secret, `pager${i}`))),
  );
  const dropsBefore = await server.metric('parley_send_queue_drops_total');
  for (const c of clients) {
    c.ws.pause();
    for (let i = 0; i < requests; i++)
      c.send({ type: 'history', channel: 'general', limit: 50, ref: `h${i}` });
  }
  let drops = 0;
  await waitFor(
    async () => {
      drops = (await server.metric('parley_send_queue_drops_total')) - dropsBefore;
      return drops >= N;
    },
    'the server to cut every pipelining client',
    60_000,
  );
  for (const c of clients) c.ws.terminate();
  const asked = (requests * 50 * 3600) / MIB;
  return {
    notes: `${requests} requests each (${asked.toFixed(0)} MiB of replies asked per client); ${drops}/${N} cut with 4001`,
    connections: N,
  };
}

/** N raw connections that each send `head` (maybe nothing) and then sit or dribble. */
async function holdOpen(
  server: ServerUnderTest,
  o: { readonly head: string; readonly dribble: boolean; readonly expectMs: number },
): Promise<{ notes: string; connections: number }> {
  const conns = Array.from({ length: N }, (_, i) => new RawConnection(server.port, localAddress(i)));
  await Promise.all(conns.map((c) => once(c.socket, 'connect', { signal: AbortSignal.timeout(10_000) })));
  const sentAt = Date.now();
  if (o.head !== '') for (const c of conns) c.socket.write(o.head);
  // One byte a second, while open; bounded by the connections closing and the wait below.
  const drip = o.dribble
    ? setInterval(() => {
        for (const c of conns) if (c.closedAt === undefined && c.socket.writable) c.socket.write('a');
      }, 1000)
    : undefined;
  try {
    await Promise.race([
      Promise.all(conns.map((c) => c.closed)),
      new Promise((_, reject) =>
        setTimeout(
          () => reject(new Error('the server did not close them')),
          remainingMs(o.expectMs + 15_000),
        ),
      ),
    ]);
  } finally {
    if (drip !== undefined) clearInterval(drip);
    for (const c of conns) c.socket.destroy();
  }
  const after = conns.map((c) => ((c.closedAt ?? Date.now()) - sentAt) / 1000);
  const answers = new Map<string, number>();
  for (const c of conns)
    answers.set(c.firstLine || '(nothing)', (answers.get(c.firstLine || '(nothing)') ?? 0) + 1);
  const answered = [...answers].map(([line, count]) => `${count} × ${line}`).join(', ');
  return {
    notes: `closed ${Math.min(...after).toFixed(1)}–${Math.max(...after).toFixed(1)} s after sending; answers: ${answered}`,
    connections: N,
  };
}

// ---------------------------------------------------------------------------------------------
// The run.

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

function kib(bytes: number): string {
  return `${(bytes / KIB).toFixed(1)} KiB`;
}

function renderMarkdown(results: readonly PhaseResult[], header: string): string {
  const rows = results.map((r) => {
    const heap = r.peakHeap - r.baseHeap;
    const rss = r.peakRss === undefined ? undefined : r.peakRss - r.baseRss;
    return `| ${r.phase} | ${r.connections} | ${mib(heap)} (${kib(heap / r.connections)} each) | ${rss === undefined ? '—' : `${mib(rss)} (${kib(rss / r.connections)} each)`} | ${r.allowedBytes === 0 ? '—' : mib(r.allowedBytes)} | ${mib(r.afterHeap - r.baseHeap)} | ${r.notes} |`;
  });
  return [
    header,
    '',
    '| Phase | N | Retained heap+external growth at peak | Peak RSS growth | N × budget | Heap+external after, vs before | What happened |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
  ].join('\n');
}

const secret = randomBytes(32).toString('hex');
const big = String(1_000_000_000);

/** Runs `fn` against a fresh server (its own process and SQLite file), then stops it. */
async function withServer<T>(fn: (server: ServerUnderTest) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-hostile-'));
  const server = await ServerUnderTest.start({
    ...process.env,
    PARLEY_JWT_SECRET: secret,
    PARLEY_DATABASE_URL: `sqlite:${join(dir, 'parley.db')}`,
    PARLEY_LOG_LEVEL: 'warn',
    PARLEY_DEFAULT_CHANNELS: 'general',
    // The rate limits would refuse the flood itself; every other limit stays at its default.
    PARLEY_PUBLISH_PER_SECOND: big,
    PARLEY_PUBLISH_BURST: big,
    PARLEY_FRAMES_PER_SECOND: big,
    PARLEY_FRAMES_BURST: big,
    PARLEY_CONNECT_PER_SECOND_PER_IP: big,
    PARLEY_CONNECT_BURST_PER_IP: big,
    PARLEY_HTTP_PER_SECOND: big,
    PARLEY_HTTP_BURST: big,
    PARLEY_LOGIN_PER_MINUTE_PER_IP: big,
    PARLEY_LOGIN_PER_MINUTE_PER_USERNAME: big,
  });
  try {
    return await fn(server);
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

// Before a WebSocket phase's baseline (not reported): JIT, SQLite's cache, the allocator's
// first arenas, the history cache filled.
async function warmUp(server: ServerUnderTest): Promise<void> {
  await flood(server, secret, { chars: 3500, stopReading: false, maxMessages: 2000 });
}

const B = limits.sendQueueMaxBytes;
const results: PhaseResult[] = [];
for (const chars of [3500, 100]) {
  let published = 0;
  results.push(
    await withServer(async (server) => {
      await warmUp(server);
      return measure(server, `flood, ${chars}-char messages, N not reading`, N * B, async () => {
        const r = await flood(server, secret, { chars, stopReading: true, maxMessages: 400_000 });
        published = r.published;
        return r;
      });
    }),
  );
  results.push(
    await withServer(async (server) => {
      await warmUp(server);
      return measure(
        server,
        `control: the same ${published.toLocaleString('en-US')} messages, all N reading`,
        0,
        () => flood(server, secret, { chars, stopReading: false, maxMessages: published }),
      );
    }),
  );
}
results.push(
  await withServer(async (server) => {
    await warmUp(server);
    return measure(server, 'history requests pipelined, N not reading', N * B, () =>
      pipelineHistory(server, secret),
    );
  }),
);
results.push(
  await withServer((server) =>
    measure(server, 'idle TCP connections (nothing sent)', 0, () =>
      holdOpen(server, { head: '', dribble: false, expectMs: limits.httpHeadersTimeoutMs }),
    ),
  ),
);
// Just below the header cap: the most a handshake can make the server keep.
const headLine =
  'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Pad: ';
const pad = 'p'.repeat(limits.httpMaxHeaderBytes - headLine.length - 512);
results.push(
  await withServer((server) =>
    measure(
      server,
      `half-open WebSocket handshakes (${kib(headLine.length + pad.length)} of headers, then nothing)`,
      N * limits.httpMaxHeaderBytes,
      () => holdOpen(server, { head: headLine + pad, dribble: false, expectMs: limits.httpHeadersTimeoutMs }),
    ),
  ),
);
const bodyMax = limits.httpBodyMaxBytes;
const postHead =
  'POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
  `Content-Length: ${bodyMax}\r\n\r\n`;
const body = `{"username":"${'u'.repeat(bodyMax - 1024)}`;
results.push(
  await withServer((server) =>
    measure(
      server,
      `slow bodies (${kib(body.length)} of a ${kib(bodyMax)} body, then a byte a second)`,
      N * (limits.httpMaxHeaderBytes + bodyMax),
      () => holdOpen(server, { head: postHead + body, dribble: true, expectMs: limits.httpRequestTimeoutMs }),
    ),
  ),
);

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const header =
  `Run ${new Date().toISOString()} on ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ` +
  `N = ${N}; sendQueueMaxBytes ${limits.sendQueueMaxBytes}, httpHeadersTimeoutMs ${limits.httpHeadersTimeoutMs}, ` +
  `httpRequestTimeoutMs ${limits.httpRequestTimeoutMs}, httpMaxHeaderBytes ${limits.httpMaxHeaderBytes}, ` +
  `httpBodyMaxBytes ${limits.httpBodyMaxBytes}.`;
const markdown = renderMarkdown(results, header);
process.stdout.write(`\n${markdown}`);
const out = resolve(values.out);
await mkdir(out, { recursive: true });
await writeFile(
  join(out, 'hostile-memory.json'),
  `${JSON.stringify({ header, n: N, limits, results }, null, 2)}\n`,
);
await writeFile(join(out, 'hostile-memory.md'), markdown);
process.stdout.write(`results: ${join(out, 'hostile-memory.{json,md}')}\n`);
