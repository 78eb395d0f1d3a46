import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../src/cli/parley.js';
import { serverApi, TEST_API_KEY } from '../support/server-api.js';
import { startTestServer, type TestServer } from '../support/start-server.js';
import { cliRecorder } from './cli-recorder.js';

describe('parley user admin (#17)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { PARLEY_API_KEY: TEST_API_KEY } });
    await serverApi(srv, 'PUT', 'users/ada', { username: 'Ada' });
  });
  after(() => srv?.close());

  const adminMe = async () => {
    const res = await fetch(`${srv.httpUrl}/api/admin/me`, {
      headers: { Authorization: `Bearer ${await srv.token('ada', 'Ada')}` },
    });
    return res.status;
  };

  it('makes a user a server admin, and with --off no longer one', async () => {
    const io = cliRecorder({ PARLEY_API_KEY: TEST_API_KEY });
    assert.equal(await runCli(['user', 'admin', 'ada', '--url', srv.url], io), 0, io.stderr.join('\n'));
    assert.deepEqual(JSON.parse(io.stdout[0] ?? '{}'), { user: { id: 'ada', admin: true } });
    assert.equal(await adminMe(), 200);
    const off = cliRecorder();
    assert.equal(
      await runCli(['user', 'admin', 'ada', '--off', '--url', srv.httpUrl, '--api-key', TEST_API_KEY], off),
      0,
    );
    assert.equal(await adminMe(), 403);
  });

  it('exits 5 for an unknown user and 3 for a wrong key, 2 without a key', async () => {
    const unknown = cliRecorder({ PARLEY_API_KEY: TEST_API_KEY });
    assert.equal(await runCli(['user', 'admin', 'nobody', '--url', srv.httpUrl], unknown), 5);
    assert.match(unknown.stderr.join('\n'), /^parley: not_found: /);
    const wrong = cliRecorder({ PARLEY_API_KEY: 'wrong' });
    assert.equal(await runCli(['user', 'admin', 'ada', '--url', srv.httpUrl], wrong), 3);
    const none = cliRecorder();
    assert.equal(await runCli(['user', 'admin', 'ada', '--url', srv.httpUrl], none), 2);
    assert.match(none.stderr.join('\n'), /--api-key/);
  });
});
