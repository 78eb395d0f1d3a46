import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { call } from './http-client.js';

describe('GET /api/channels/:id/messages/:msgId/versions', () => {
  let server: TestServer;
  const tokens = new Map<string, string>();
  const as = (who: string, method: string, path: string, body?: unknown) =>
    call(server.httpUrl, method, path, {
      token: tokens.get(who) as string,
      ...(body === undefined ? {} : { body }),
    });

  before(async () => {
    server = await startTestServer();
    for (const who of ['owner', 'author', 'reader', 'outsider']) {
      tokens.set(who, await server.token(who, who.toUpperCase()));
      assert.equal((await as(who, 'GET', '/api/me')).status, 200);
    }
    const created = await as('owner', 'POST', '/api/channels', {
      id: 'vault',
      private: true,
      title: 'Vault',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    for (const [id, role] of [
      ['author', 'member'],
      ['reader', 'readonly'],
    ] as const) {
      const r = await as('owner', 'PUT', `/api/channels/vault/members/${id}`, { role });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
  after(() => server.close());

  /** A message by `author` in `vault`, edited into each of `edits` in turn. */
  async function edited(text: string, ...edits: string[]): Promise<{ id: string; editedAt: number[] }> {
    const posted = await as('author', 'POST', '/api/channels/vault/messages', { text });
    assert.equal(posted.status, 201, JSON.stringify(posted.body));
    const editedAt: number[] = [];
    for (const edit of edits) {
      const r = await as('author', 'PATCH', `/api/channels/vault/messages/${posted.body.message.id}`, {
        text: edit,
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      editedAt.push(r.body.message.edited_at);
    }
    return { id: posted.body.message.id, editedAt };
  }

  it('lists the replaced texts oldest first to every reader of the channel', async () => {
    const { id, editedAt } = await edited('frist', 'first', 'first!');
    for (const who of ['author', 'reader', 'owner']) {
      const r = await as(who, 'GET', `/api/channels/vault/messages/${id}/versions`);
      assert.equal(r.status, 200, who);
      assert.deepEqual(r.body, {
        versions: [
          { version: 1, text: 'frist', edited_at: editedAt[0] },
          { version: 2, text: 'first', edited_at: editedAt[1] },
        ],
      });
    }
  });

  it('answers [] for a message never edited, and for a deleted one', async () => {
    const plain = await edited('as sent');
    assert.deepEqual((await as('reader', 'GET', `/api/channels/vault/messages/${plain.id}/versions`)).body, {
      versions: [],
    });
    const gone = await edited('oops, my password', 'redacted');
    assert.equal((await as('author', 'DELETE', `/api/channels/vault/messages/${gone.id}`)).status, 204);
    const r = await as('reader', 'GET', `/api/channels/vault/messages/${gone.id}/versions`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { versions: [] });
  });

  it('refuses a non-reader exactly as for a missing channel', async () => {
    const { id } = await edited('private', 'still private');
    const secret = await as('outsider', 'GET', `/api/channels/vault/messages/${id}/versions`);
    const missing = await as('outsider', 'GET', `/api/channels/nowhere/messages/${id}/versions`);
    assert.equal(secret.status, 403);
    assert.equal(secret.body.error.code, 'forbidden');
    assert.equal(missing.status, 403);
    assert.equal(
      JSON.stringify(secret.body).replace('vault', 'X'),
      JSON.stringify(missing.body).replace('nowhere', 'X'),
    );
    assert.doesNotMatch(JSON.stringify(secret.body), /private/);
  });

  it('answers not_found for an unknown message, or one of another channel', async () => {
    const unknown = await as('reader', 'GET', '/api/channels/vault/messages/nope/versions');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'not_found');
    const created = await as('owner', 'POST', '/api/channels', { id: 'lobby', title: 'Lobby' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id } = await edited('here', 'there');
    const elsewhere = await as('owner', 'GET', `/api/channels/lobby/messages/${id}/versions`);
    assert.equal(elsewhere.status, 404);
    assert.equal(elsewhere.body.error.code, 'not_found');
  });
});
