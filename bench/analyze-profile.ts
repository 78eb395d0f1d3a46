/**
 * Where the time goes in a `--cpu-prof` profile of a server under load: the top functions by
 * self time, and the shares of a few categories (socket writes, ws framing, JSON, SQLite,
 * Parley's own code, GC, idle).
 *
 *   node --import tsx bench/analyze-profile.ts bench/results/profiles/CPU.….cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' } },
});
const file = positionals[0];
if (file === undefined) {
  process.stderr.write('usage: bench/analyze-profile.ts FILE.cpuprofile [--top N]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const self = new Map<number, number>();
profile.samples.forEach((id, i) => {
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);

const short = (url: string) =>
  url
    .replace(/^file:\/\/.*?\/node_modules\//, 'node_modules/')
    .replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')
    .replace(/^node:/, 'node:');

/** The category of a sample: by its own frame, or by the nearest JS caller for natives. */
function category(id: number): string {
  const n = byId.get(id)!;
  const { functionName: fn, url } = n.callFrame;
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/program';
  if (url === '' && /^(writev|writeBuffer|writeUtf8String|writeLatin1String|writeAsciiString)$/.test(fn))
    return 'socket write (syscall)';
  if (url === '' && /stringify|JSON/.test(fn)) return 'JSON';
  if (url === '' && /^(parse)$/.test(fn)) return 'JSON';
  if (url.includes('better-sqlite3') || url.includes('kysely')) return 'SQLite + Kysely';
  if (url.includes('/node_modules/ws/')) return 'ws (framing, send queue)';
  if (url.includes('/node_modules/pino') || url.includes('/node_modules/jose')) return 'pino/jose';
  if (url.includes('/src/server/store/')) return 'Parley store';
  if (url.includes('/src/server/')) return 'Parley (other server code)';
  if (url.includes('/src/protocol/')) return 'Parley protocol (parse)';
  if (url.startsWith('node:') || url.startsWith('internal')) return 'Node core (net, streams, timers)';
  if (url === '') {
    // A native: attribute it to its nearest caller with a URL.
    let p = parent.get(id);
    while (p !== undefined) {
      const pn = byId.get(p)!;
      if (pn.callFrame.url !== '') {
        const c = category(p);
        return c.startsWith('SQLite') ? c : `${c} (native)`;
      }
      p = parent.get(p);
    }
    return 'native (other)';
  }
  return 'other JS';
}

const byFunction = new Map<string, number>();
const byCategory = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  const { functionName, url, lineNumber } = n.callFrame;
  const key = `${functionName || '(anonymous)'} ${url === '' ? '[native]' : `${short(url)}:${lineNumber + 1}`}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + t);
  const c = category(id);
  byCategory.set(c, (byCategory.get(c) ?? 0) + t);
}

const pct = (t: number) => `${((t / total) * 100).toFixed(1).padStart(5)} %`;
const busy = total - (byCategory.get('idle') ?? 0);
process.stdout.write(`${file}\nsampled ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s\n\n`);
process.stdout.write('Categories (share of all samples; of busy time in brackets):\n');
for (const [c, t] of [...byCategory].sort((a, b) => b[1] - a[1])) {
  process.stdout.write(`  ${pct(t)}  (${((t / busy) * 100).toFixed(1).padStart(5)} %)  ${c}\n`);
}
process.stdout.write(`\nTop ${values.top} functions by self time:\n`);
for (const [k, t] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  process.stdout.write(`  ${pct(t)}  ${k}\n`);
}
