import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// docs/security.md names, for each line it draws, the tests that check it: a test file as a code
// span (`test/…`) followed by the names of its tests in curly quotes (“…”). A renamed or removed
// test must not leave the page pointing at nothing.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const doc = readFileSync(join(root, 'docs/security.md'), 'utf8');

/** A test name quoted in the page, with the file named before it. */
interface Quoted {
  readonly file: string | undefined;
  readonly name: string;
}

// Repository paths in code spans, and quoted names; in the order they appear.
const TOKEN = /`((?:test|src|web|docs)\/[^`\s]+)`|“([^”]+)”/g;

function references(): { readonly paths: readonly string[]; readonly quoted: readonly Quoted[] } {
  const paths: string[] = [];
  const quoted: Quoted[] = [];
  let file: string | undefined;
  for (const m of doc.matchAll(TOKEN)) {
    if (m[1] !== undefined) {
      paths.push(m[1]);
      if (m[1].startsWith('test/')) file = m[1];
    } else {
      // A name the formatter wrapped over two lines is still one name.
      quoted.push({ file, name: (m[2] as string).replace(/\s+/g, ' ') });
    }
  }
  return { paths, quoted };
}

// The names given to it(), test() and describe() in a test file: plain string literals, and
// template literals without substitutions (names made per case cannot be quoted).
const TEST_CALL =
  /\b(?:it|test|describe)(?:\.(?:skip|only|todo))?\(\s*(?:'((?:\\.|[^'\\])*)'|"((?:\\.|[^"\\])*)"|`((?:\\.|[^`\\$])*)`)/g;

function testNames(file: string): Set<string> {
  const source = readFileSync(join(root, file), 'utf8');
  const names = new Set<string>();
  for (const m of source.matchAll(TEST_CALL)) {
    const raw = m[1] ?? m[2] ?? m[3] ?? '';
    names.add(raw.replace(/\\(.)/g, '$1'));
  }
  return names;
}

describe('docs/security.md', () => {
  const { paths, quoted } = references();

  it('finds the references it checks (the scanner works)', () => {
    assert.ok(paths.filter((p) => p.startsWith('test/')).length >= 20, 'test files named');
    assert.ok(quoted.length >= 50, 'test names quoted');
    assert.ok(
      testNames('test/unit/security-doc.test.ts').has('finds the references it checks (the scanner works)'),
    );
  });

  it('names only paths that exist', () => {
    const missing = paths.filter((p) => !existsSync(join(root, p)));
    assert.deepEqual(missing, [], `no such file: ${missing.join(', ')}`);
  });

  it('quotes each test name after the test file that holds it, exactly as that file names it', () => {
    const bad: string[] = [];
    const cache = new Map<string, Set<string>>();
    for (const { file, name } of quoted) {
      if (file === undefined) {
        bad.push(`“${name}” comes before any test file`);
        continue;
      }
      if (!existsSync(join(root, file))) continue; // reported by the test above
      let names = cache.get(file);
      if (names === undefined) {
        names = testNames(file);
        cache.set(file, names);
      }
      if (!names.has(name)) bad.push(`${file}: no test named “${name}”`);
    }
    assert.deepEqual(bad, []);
  });

  it('is linked from README’s documentation list', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const list = readme.slice(readme.indexOf('## Documentation'));
    assert.match(list, /\[docs\/security\.md\]\(docs\/security\.md\)/);
  });
});
