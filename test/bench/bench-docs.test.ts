import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FULL_SCENARIOS, QUICK_SCENARIOS } from '../../bench/scenarios.js';

// docs/performance.md's commands name scenarios: each must be one `npm run bench` knows, and
// each scenario of the variants table must be one too (a renamed scenario breaks the command).
test('every scenario docs/performance.md names in a command or its variants table exists', () => {
  const doc = readFileSync(new URL('../../docs/performance.md', import.meta.url), 'utf8');
  const known = new Set([...FULL_SCENARIOS, ...QUICK_SCENARIOS].map((s) => s.name));
  const named = new Set<string>();
  for (const m of doc.matchAll(/--only ([\w,-]+)/g)) for (const n of m[1]!.split(',')) named.add(n);
  for (const m of doc.matchAll(/^\| `([\w-]+)`(?:, `([\w-]+)`)?(?:, `([\w-]+)`)? +\|/gm)) {
    for (const n of m.slice(1)) if (n !== undefined) named.add(n);
  }
  assert.ok(named.size >= 10, `found ${[...named].join(', ')}`);
  for (const n of named)
    assert.ok(known.has(n), `docs/performance.md names "${n}", which npm run bench does not know`);
});
