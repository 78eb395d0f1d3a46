import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParleyError } from '../../src/protocol/error-catalogue.js';
import { classifyDatabaseError } from '../../src/server/store/classify-database-error.js';
import { DatabaseOutageError } from '../../src/server/store/database-outage-error.js';
import { statementDeadline } from '../../src/server/store/statement-deadline.js';
import { toStoreError } from '../../src/server/store/to-store-error.js';

/** An error as a driver throws it: a message and a string `code`. */
function driverError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifyDatabaseError', () => {
  it('takes SQLite busy, locked and I/O errors for outages, which reach clients as retryable unavailable', () => {
    for (const code of [
      'SQLITE_BUSY',
      'SQLITE_BUSY_TIMEOUT',
      'SQLITE_BUSY_RECOVERY',
      'SQLITE_LOCKED',
      'SQLITE_LOCKED_SHAREDCACHE',
      'SQLITE_IOERR',
      'SQLITE_IOERR_WRITE',
      'SQLITE_IOERR_FSYNC',
      'SQLITE_IOERR_SHORT_READ',
      'SQLITE_FULL',
      'SQLITE_CANTOPEN',
      'SQLITE_READONLY_DBMOVED',
      'SQLITE_CORRUPT_VTAB',
      'SQLITE_PROTOCOL',
      'SQLITE_NOMEM',
    ]) {
      const error = driverError(code);
      assert.equal(classifyDatabaseError(error), 'unavailable', code);
      const stored = toStoreError('appending messages', error);
      assert.ok(stored instanceof ParleyError && stored.code === 'unavailable', code);
    }
    assert.equal(classifyDatabaseError(driverError('SQLITE_BUSY_SNAPSHOT')), 'retryable');
    assert.equal(classifyDatabaseError(driverError('SQLITE_CONSTRAINT_UNIQUE')), 'unique_violation');
    assert.equal(classifyDatabaseError(driverError('SQLITE_ERROR')), 'unknown');
  });

  it("takes the store's own missed deadlines and refusals for outages", () => {
    assert.equal(classifyDatabaseError(new DatabaseOutageError('PARLEY_DB_TIMEOUT', 'late')), 'unavailable');
    assert.equal(classifyDatabaseError(new DatabaseOutageError('PARLEY_DB_DOWN', 'down')), 'unavailable');
  });

  it('takes lost, refused and half-closed connections of every driver for outages', () => {
    for (const error of [
      driverError('ECONNREFUSED'),
      driverError('ECONNRESET'),
      driverError('EPIPE'),
      driverError('PROTOCOL_CONNECTION_LOST'),
      driverError('ER_NET_READ_ERROR'),
      driverError('ER_READ_ONLY_MODE'),
      driverError('57P01', 'terminating connection due to administrator command'),
      driverError('57014', 'canceling statement due to statement timeout'),
      driverError('25006', 'cannot execute INSERT in a read-only transaction'),
      new Error('Connection terminated unexpectedly'),
      new Error('Client has encountered a connection error and is not queryable'),
      new Error("Can't add new command when connection is in closed state"),
      new AggregateError([driverError('ECONNREFUSED')], ''),
    ]) {
      assert.equal(classifyDatabaseError(error), 'unavailable', error.message);
    }
  });

  it('leaves a bug a bug', () => {
    assert.equal(classifyDatabaseError(driverError('ER_PARSE_ERROR')), 'unknown');
    assert.equal(classifyDatabaseError(driverError('42601', 'syntax error')), 'unknown');
    assert.equal(classifyDatabaseError(new Error('undefined is not a function')), 'unknown');
    assert.equal(classifyDatabaseError(new ParleyError('unavailable', 'the store is closed')), 'unknown');
  });
});

describe('statementDeadline', () => {
  it('gives every statement the query timeout but schema changes and the migration lock', () => {
    assert.equal(statementDeadline('select 1', 5000), 5000);
    assert.equal(statementDeadline('update `channels` set `last_seq` = last_seq + ?', 5000), 5000);
    assert.equal(statementDeadline('commit', 5000), 5000);
    assert.equal(statementDeadline('create table "messages" ("id" varchar(36))', 5000), undefined);
    assert.equal(statementDeadline('  alter table messages add fulltext index x (text)', 5000), undefined);
    assert.equal(statementDeadline('drop table if exists messages_fts', 5000), undefined);
    assert.equal(statementDeadline("select get_lock('ea58', 3600)", 5000), undefined);
    assert.equal(
      statementDeadline('with set_timeout as (select 1) select pg_advisory_lock(3853314791062309107)', 5000),
      undefined,
    );
    // A message whose text names a schema change is still a bounded INSERT.
    assert.equal(statementDeadline('insert into "messages" ("text") values ($1)', 5000), 5000);
  });
});
