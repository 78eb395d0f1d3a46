import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// The layout rule of README's "Layout and rules", checked on every import in src/ and web/src/.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Import {
  readonly file: string;
  /** The imported module: a path relative to the repository root, or a package name. */
  readonly target: string;
  /** The names imported (`import { a, type B }`), when listed. */
  readonly names: readonly string[];
}

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

const IMPORT =
  /(?:import|export)\s+(?:type\s+)?(?:([\w*\s{},]+?)\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(join(root, file), 'utf8');
  const found: Import[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[2] ?? m[3];
    if (spec === undefined) continue;
    const target = spec.startsWith('.')
      ? relative(root, resolve(root, dirname(file), spec)).replace(/\.js$/, '.ts')
      : spec;
    const names = (m[1] ?? '')
      .replace(/[{}]/g, ' ')
      .split(/[\s,]+/)
      .filter((n) => n !== '' && n !== 'type' && n !== 'as');
    found.push({ file, target, names });
  }
  return found;
}

const all = [...sources('src'), ...sources('web/src')].flatMap(importsOf);
const within = (prefix: string) => all.filter((i) => i.file.startsWith(prefix));
const show = (bad: readonly Import[]) => bad.map((i) => `${i.file} → ${i.target}`).join('\n');

describe('layout rule', () => {
  it('finds the imports it checks (the scanner works)', () => {
    assert.ok(all.length > 200, `only ${all.length} imports found`);
    assert.ok(all.some((i) => i.file === 'src/server/core/hub.ts' && i.target === 'src/server/bus/bus.ts'));
  });

  it('the core imports no wire, transport, HTTP, socket library, frame type or close code', () => {
    const bad = within('src/server/core/').filter(
      (i) =>
        /^src\/server\/(wire|transport|http)\//.test(i.target) ||
        i.target === 'src/protocol/close-codes.ts' ||
        i.target === 'src/protocol/parse-client-frame.ts' ||
        ['ws', 'node:http', 'node:net', 'node:https'].includes(i.target) ||
        i.names.some((n) => /Frame$/.test(n) || n === 'Ref'),
    );
    assert.equal(show(bad), '');
  });

  it('ports (store, bus, presence, cache) import from the core only its event types', () => {
    const bad = ['store', 'bus', 'presence', 'cache']
      .flatMap((p) => within(`src/server/${p}/`))
      .filter(
        (i) =>
          (i.target.startsWith('src/server/core/') && i.target !== 'src/server/core/events.ts') ||
          /^src\/server\/(wire|transport|http)\//.test(i.target),
      );
    assert.equal(show(bad), '');
  });

  it('the transport knows no wire, core or HTTP (the gateway is handed its wires)', () => {
    const bad = within('src/server/transport/').filter((i) =>
      /^src\/server\/(wire|core|http)\//.test(i.target),
    );
    assert.equal(show(bad), '');
  });

  it('wires and HTTP do not import each other, and one wire never imports another', () => {
    const bad = [
      ...within('src/server/http/').filter((i) => /^src\/server\/(wire|transport)\//.test(i.target)),
      ...within('src/server/wire/').filter((i) => {
        if (i.target.startsWith('src/server/http/')) return true;
        const own = i.file.split('/')[3];
        const wire = /^src\/server\/wire\/([^/]+)\//.exec(i.target)?.[1];
        return wire !== undefined && wire !== own;
      }),
    ];
    assert.equal(show(bad), '');
  });

  it('protocol depends on nothing; the SDK on protocol only; the page and CLI not on the server', () => {
    const bad = [
      ...within('src/protocol/').filter((i) => !i.target.startsWith('src/protocol/')),
      ...within('src/client/').filter(
        (i) => !i.target.startsWith('src/client/') && !i.target.startsWith('src/protocol/'),
      ),
      ...within('web/src/').filter((i) => i.target.startsWith('src/server/')),
      // `parley serve` and `parley prune` load the server on demand; nothing else in the CLI does.
      ...within('src/cli/').filter(
        (i) =>
          i.target.startsWith('src/server/') &&
          i.file !== 'src/cli/commands/serve.ts' &&
          i.file !== 'src/cli/commands/prune.ts',
      ),
    ];
    assert.equal(show(bad), '');
  });

  it("nothing in src/ reaches into ws's private fields", () => {
    const bad = sources('src').filter((f) =>
      /\._(socket|sender|extensions|receiver)\b/.test(readFileSync(join(root, f), 'utf8')),
    );
    assert.deepEqual(bad, []);
  });
});
