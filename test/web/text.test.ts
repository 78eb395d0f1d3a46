import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { highlight, mentions, segments } from '../../web/src/text.js';

describe('message text segments', () => {
  it('keeps markup as plain text', () => {
    assert.deepEqual(segments('<b>hi</b> <script>x()</script>'), [
      { kind: 'text', text: '<b>hi</b> <script>x()</script>' },
    ]);
  });

  it('links http(s) URLs only, without the sentence punctuation after them', () => {
    assert.deepEqual(segments('see https://example.com/a?b=1, or (http://x.org/y).'), [
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { kind: 'text', text: ', or (' },
      { kind: 'link', text: 'http://x.org/y', href: 'http://x.org/y' },
      { kind: 'text', text: ').' },
    ]);
    for (const text of [
      'javascript:alert(1)',
      'data:text/html,<script>',
      'ftp://example.com',
      'www.example.com',
    ]) {
      assert.deepEqual(segments(text), [{ kind: 'text', text }], text);
    }
  });

  it('keeps a closing parenthesis that belongs to the URL', () => {
    const url = 'https://en.wikipedia.org/wiki/Parley_(film)';
    assert.deepEqual(segments(`${url}.`)[0], { kind: 'link', text: url, href: url });
  });

  it('stops a URL at quotes and angle brackets', () => {
    assert.deepEqual(segments('"https://example.com/x"<y>')[1], {
      kind: 'link',
      text: 'https://example.com/x',
      href: 'https://example.com/x',
    });
  });

  it('marks mentions, and those of the reader, case-insensitively, but not e-mail addresses', () => {
    assert.deepEqual(segments('hey @Alice and @bob. mail bob@example.com', 'alice'), [
      { kind: 'text', text: 'hey ' },
      { kind: 'mention', text: '@Alice', me: true },
      { kind: 'text', text: ' and ' },
      { kind: 'mention', text: '@bob', me: false },
      { kind: 'text', text: '. mail bob@example.com' },
    ]);
    assert.equal(mentions('ping @ALICE!', 'alice'), true);
    assert.equal(mentions('ping @alicex', 'alice'), false);
    assert.equal(mentions('alice@example.com', 'alice'), false);
  });

  it('splits search highlights into marked parts, clamped to the text', () => {
    assert.deepEqual(
      highlight('banana bread', [
        [7, 12],
        [0, 3],
      ]),
      [
        { text: 'ban', marked: true },
        { text: 'ana ', marked: false },
        { text: 'bread', marked: true },
      ],
    );
    assert.deepEqual(highlight('abc', [[2, 99]]), [
      { text: 'ab', marked: false },
      { text: 'c', marked: true },
    ]);
  });
});
