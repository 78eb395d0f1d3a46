import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { filterWordProblem, WordFilter } from '../../src/server/core/word-filter.js';

// The word filter's promises (issue 17): whole words, any case, any script, and work linear in
// the text on any input. Work is counted in the filter's own steps, never timed.

describe('WordFilter', () => {
  it('rejects a text with a rejected word, in any case, as a whole word only', () => {
    const filter = new WordFilter([{ words: ['darn'], action: 'reject' }]);
    assert.equal(filter.apply('oh DARN it').action, 'reject');
    assert.equal(filter.apply('Darn!').action, 'reject');
    assert.equal(filter.apply('darned socks').action, 'accept');
    assert.equal(filter.apply('undarn').action, 'accept');
    assert.equal(filter.apply('darn_it').action, 'accept', '_ joins words');
  });

  it('masks words of any script, keeping everything else as it was', () => {
    const filter = new WordFilter([{ words: ['Ärger', 'straße', 'дурак', '馬鹿'], action: 'mask' }]);
    const out = filter.apply('So ein ÄRGER, du ДУРАК! STRASSE 馬鹿 ok');
    assert.equal(out.action, 'mask');
    assert.equal(out.text, 'So ein *****, du *****! ******* ** ok');
    assert.equal(out.matches, 4);
    assert.equal(filter.apply('Ärgernis').action, 'accept');
  });

  it('matches full-width and other compatibility forms as their plain words', () => {
    const filter = new WordFilter([{ words: ['spam'], action: 'mask' }]);
    assert.equal(filter.apply('ｓｐａｍ here').text, '**** here');
  });

  it('rejects when a word is rejected by one list and masked by another', () => {
    const filter = new WordFilter([
      { words: ['heck'], action: 'mask' },
      { words: ['HECK'], action: 'reject' },
    ]);
    assert.equal(filter.apply('heck').action, 'reject');
  });

  it('masks a word made of astral characters with one * per character', () => {
    const filter = new WordFilter([{ words: ['𝐛𝐚𝐝'], action: 'mask' }]);
    assert.equal(filter.apply('so 𝐛𝐚𝐝.').text, 'so ***.');
  });

  it('refuses a filtered word that is not one word', () => {
    assert.equal(filterWordProblem('bad'), undefined);
    assert.match(filterWordProblem('two words') ?? '', /not one word/);
    assert.match(filterWordProblem('') ?? '', /1–100/);
    assert.match(filterWordProblem('a'.repeat(101)) ?? '', /1–100/);
  });

  it('does at most three steps per character on any text and any lists (linear time)', () => {
    const alphabet = fc.constantFrom('a', 'b', 'A', ' ', '-', 'é', 'ß', '𝐚', '\u0301', '_', '1');
    const word = fc.string({
      unit: fc.constantFrom('a', 'b', 'A', 'é', 'ß', '𝐚'),
      minLength: 1,
      maxLength: 30,
    });
    fc.assert(
      fc.property(
        fc.array(word, { maxLength: 50 }),
        fc.string({ unit: alphabet, maxLength: 2000 }),
        fc.boolean(),
        (words, text, reject) => {
          const filter = new WordFilter([{ words, action: reject ? 'reject' : 'mask' }]);
          const out = filter.apply(text);
          assert.ok(out.steps <= 3 * text.length, `${out.steps} steps for ${text.length} characters`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stays linear on inputs hostile to backtracking matchers', () => {
    // Every prefix of a long run is a filtered word, and the run almost matches a longer one:
    // a naive or backtracking matcher does quadratic work here.
    const words = Array.from({ length: 100 }, (_, i) => 'a'.repeat(i + 1));
    words.push(`${'a'.repeat(99)}b`);
    const filter = new WordFilter([{ words, action: 'mask' }]);
    for (const text of [
      'a'.repeat(100_000),
      `${'a'.repeat(50_000)}c`,
      'a '.repeat(50_000),
      `${'aa'.repeat(25_000)}!`.repeat(2),
      '\u0301'.repeat(100_000),
    ]) {
      const out = filter.apply(text);
      assert.ok(out.steps <= 3 * text.length, `${out.steps} steps for ${text.length} characters`);
    }
    assert.equal(filter.apply('a '.repeat(3)).text, '* * * ');
  });
});
