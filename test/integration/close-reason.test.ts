import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { serverApi, TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { TestClient } from '../support/test-client.js';

describe('close reasons', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { PARLEY_API_KEY: TEST_API_KEY } });
  });
  after(() => srv.close());

  it('closes a banned user with 4503 even when the reason is longer than a close frame holds', async () => {
    const client = await TestClient.authed(srv.url, await srv.token('eve', 'Eve'));
    // 100 characters the API accepts, 200 bytes in UTF-8: over the 123 a close frame holds.
    await serverApi(srv, 'POST', 'users/eve/ban', { reason: 'é'.repeat(100) });
    assert.equal(await client.closed, 4503);
  });
});
