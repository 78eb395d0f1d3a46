import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type FreshDatabase, freshDatabase, testDatabaseKinds } from '../support/fresh-database.js';
import { serverApi, TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { call } from './http-client.js';

// On every configured database: the prefix match is SQL.
for (const kind of testDatabaseKinds()) {
  describe(`GET /api/users?q= (${kind})`, () => {
    let server: TestServer;
    let db: FreshDatabase;
    let token = '';
    const find = (q: string, signedIn = true) =>
      call(server.httpUrl, 'GET', `/api/users?q=${encodeURIComponent(q)}`, signedIn ? { token } : {});

    before(async () => {
      db = await freshDatabase(kind);
      server = await startTestServer({
        databaseUrl: db.url,
        env: { PARLEY_API_KEY: TEST_API_KEY, PARLEY_USER_SEARCH_MAX: '3' },
      });
      for (const [id, username] of [
        ['local:carol', 'carol'],
        ['local:carla', 'Carla'],
        ['42', 'caroline'],
        ['local:carmen', 'carmen'],
        ['local:dave', 'dave'],
        ['local:cass', 'cass'],
      ] as const)
        await serverApi(server, 'PUT', `users/${encodeURIComponent(id)}`, { username });
      await serverApi(server, 'POST', `users/${encodeURIComponent('local:cass')}/ban`, {});
      token = await server.token('local:dave', 'dave');
    });
    after(async () => {
      await server?.close();
      await db?.drop();
    });

    it('finds users by the start of their name, case-insensitively, with only their id and name', async () => {
      const r = await find('CARO');
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, {
        users: [
          { id: 'local:carol', username: 'carol' },
          { id: '42', username: 'caroline' },
        ],
      });
    });

    it('answers at most PARLEY_USER_SEARCH_MAX users, and leaves banned users out', async () => {
      const r = await find('ca');
      assert.deepEqual(
        r.body.users.map((u: { username: string }) => u.username),
        ['Carla', 'carmen', 'carol'],
      );
      assert.deepEqual((await find('cass')).body, { users: [] }, 'banned');
    });

    it('refuses a blank or long query with bad_request, and a caller without a token', async () => {
      assert.equal((await find('  ')).status, 400);
      assert.equal((await find('  ')).body.error.code, 'bad_request');
      assert.equal((await find('x'.repeat(101))).status, 400);
      const anonymous = await find('ca', false);
      assert.equal(anonymous.status, 401);
    });
  });
}
