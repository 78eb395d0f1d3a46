import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

describe("a user's sessions on one node", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('counts each connection, and a kick closes every remaining one of that user only', async () => {
    const chat = server.server.chat;
    const kim = await Promise.all(
      [1, 2, 3].map(async () => TestClient.authed(server.url, await server.token('kim', 'Kim'))),
    );
    const lee = await TestClient.authed(server.url, await server.token('lee', 'Lee'));
    assert.equal(chat.sessionCount, 4);
    kim[0]!.close();
    await until(() => chat.sessionCount === 3, 'the closed session to be forgotten');
    await chat.disconnectUser('kim', 'bye');
    assert.deepEqual(await Promise.all([kim[1]!.closed, kim[2]!.closed]), [4503, 4503]);
    await until(() => chat.sessionCount === 1, 'the kicked sessions to be forgotten');
    assert.equal((await lee.request({ type: 'ping' })).type, 'pong', 'another user stays');
    // One session left of three, then a new one: the user's sessions are reachable again.
    const again = await TestClient.authed(server.url, await server.token('kim', 'Kim'));
    await chat.disconnectUser('kim', 'bye again');
    assert.equal(await again.closed, 4503);
    lee.close();
  });

  it('still reaches the one session left of two', async () => {
    const chat = server.server.chat;
    await until(() => chat.sessionCount === 0, 'the earlier sessions to be forgotten');
    const [a, b] = await Promise.all(
      [1, 2].map(async () => TestClient.authed(server.url, await server.token('max', 'Max'))),
    );
    a!.close();
    await until(() => chat.sessionCount === 1, 'the closed session to be forgotten');
    await chat.disconnectUser('max', 'bye');
    assert.equal(await b!.closed, 4503);
  });
});
