import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countOf, itemsOf, type OneOrSet, withItem, withoutItem } from '../../src/server/one-or-set.js';

describe('OneOrSet (a collection that is usually of one)', () => {
  it('keeps one item alone, makes a Set from the second, and goes back to one and to none', () => {
    let items: OneOrSet<string> | undefined = withItem(undefined, 'a');
    assert.equal(items, 'a', 'no Set of one');
    assert.equal(withItem(items, 'a'), 'a', 'adding it again changes nothing');
    items = withItem(withItem(items, 'b'), 'c');
    assert.deepEqual([...itemsOf(items)], ['a', 'b', 'c']);
    assert.equal(countOf(items), 3);
    items = withoutItem(items, 'b');
    assert.equal(countOf(items), 2);
    items = withoutItem(items, 'a');
    assert.equal(items, 'c', 'the last one alone again');
    assert.equal(withoutItem(items, 'x'), 'c', 'removing another changes nothing');
    items = withoutItem(items, 'c');
    assert.equal(items, undefined);
    assert.deepEqual([...itemsOf(items)], []);
    assert.equal(countOf(items), 0);
  });
});
