import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStore } from '../../src/server/store/open-store.js';
import { freshDatabase } from '../support/fresh-database.js';

describe('SQLite user and membership upserts', () => {
  it('commit together when they arrive in the same tick: one transaction, not one each', async (t) => {
    const db = await freshDatabase('sqlite');
    const batches: number[] = [];
    const store = await openStore(db.url, { onWriteBatch: (size) => batches.push(size) });
    t.after(async () => {
      await store.close();
      await db.drop();
    });
    await store.migrate();
    await store.createChannel({ id: 'room', kind: 'public', title: 'room', owner: null });
    const users = Array.from({ length: 50 }, (_, i) => `u${i}`);
    await Promise.all(users.map((id) => store.upsertUser({ id, username: id })));
    await Promise.all(users.map((id) => store.setMember('room', id, 'member')));
    assert.deepEqual(batches, [50, 50]);
    assert.equal((await store.listMembers('room')).length, 50);
  });
});
