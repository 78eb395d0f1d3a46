import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { keepingStatements } from '../../src/server/store/kept-statements.js';

describe('keepingStatements (prepared statements reused for Kysely on SQLite)', () => {
  it('prepares each SQL text once, and the kept statement still runs with new parameters', () => {
    const db = new Database(':memory:');
    const kept = keepingStatements(db);
    db.exec('create table t (n integer)');
    const insert = kept.prepare('insert into t (n) values (?)');
    assert.equal(kept.prepare('insert into t (n) values (?)'), insert);
    for (const n of [1, 2, 3]) kept.prepare('insert into t (n) values (?)').run([n]);
    assert.deepEqual(kept.prepare('select n from t where n > ? order by n').all([1]), [{ n: 2 }, { n: 3 }]);
    assert.deepEqual(kept.prepare('select n from t where n > ? order by n').all([2]), [{ n: 3 }]);
    // A kept statement that failed on a constraint runs again.
    db.exec('create unique index t_n on t (n)');
    const unique = kept.prepare('insert into t (n) values (?)');
    assert.throws(() => unique.run([3]), /UNIQUE/);
    assert.equal(kept.prepare('insert into t (n) values (?)').run([4]).changes, 1);
    kept.close();
    assert.equal(db.open, false);
  });

  it('keeps at most `max` statements, letting the least recently used go', () => {
    const db = new Database(':memory:');
    const kept = keepingStatements(db, 3);
    const one = kept.prepare('select 1');
    const two = kept.prepare('select 2');
    kept.prepare('select 3');
    assert.equal(kept.prepare('select 1'), one, 'used again: now the most recent');
    kept.prepare('select 4'); // pushes out "select 2", the least recently used
    assert.equal(kept.prepare('select 1'), one);
    assert.notEqual(kept.prepare('select 2'), two, 'prepared anew');
    db.close();
  });
});
