import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ParleyError } from '../../src/protocol/error-catalogue.js';
import { loadPusherConfig } from '../../src/server/config-pusher.js';

const refused = (pattern: RegExp) => (err: unknown) =>
  err instanceof ParleyError && pattern.test(err.message);
const app = {
  PARLEY_PUSHER_APP_ID: 'a',
  PARLEY_PUSHER_APP_KEY: 'k',
  PARLEY_PUSHER_APP_SECRET: 's'.repeat(20),
};

describe('Pusher configuration', () => {
  it('is off without apps, and one app from the environment has Pusher’s limits', () => {
    assert.deepEqual(loadPusherConfig({}, false), { apps: [] });
    const [one] = loadPusherConfig(app, false).apps;
    assert.equal(one?.maxEventBytes, 10 * 1024);
    assert.equal(one?.maxPresenceMembers, 100);
    assert.equal(one?.clientEvents, false);
  });

  it('refuses a partial app, a short secret outside --dev, and a bad switch, saying what to fix', () => {
    assert.throws(() => loadPusherConfig({ PARLEY_PUSHER_APP_ID: 'a' }, false), refused(/all three/));
    const short = { ...app, PARLEY_PUSHER_APP_SECRET: 'secret' };
    assert.throws(() => loadPusherConfig(short, false), refused(/too short/));
    assert.equal(loadPusherConfig(short, true).apps.length, 1, 'allowed in --dev');
    assert.throws(
      () => loadPusherConfig({ ...app, PARLEY_PUSHER_CLIENT_EVENTS: 'yes' }, false),
      refused(/"on" or "off"/),
    );
    assert.throws(
      () => loadPusherConfig({ ...app, PARLEY_PUSHER_WEBHOOK_URLS: 'ftp://x' }, false),
      refused(/http/),
    );
  });

  it('refuses two apps of one file that share a key or a channel prefix', async () => {
    const file = join(tmpdir(), `parley-apps-${process.pid}.json`);
    const secret = 's'.repeat(20);
    await writeFile(
      file,
      JSON.stringify({
        apps: [
          { id: 'a', key: 'k1', secret },
          { id: 'b', key: 'k2', secret },
        ],
      }),
    );
    assert.throws(
      () => loadPusherConfig({ PARLEY_PUSHER_APPS_FILE: file }, false),
      refused(/channel prefix/),
    );
    await writeFile(
      file,
      JSON.stringify({
        apps: [
          { id: 'a', key: 'k', secret },
          { id: 'b', key: 'k', secret, channel_prefix: 'b.' },
        ],
      }),
    );
    assert.throws(() => loadPusherConfig({ PARLEY_PUSHER_APPS_FILE: file }, false), refused(/key/));
    await writeFile(file, '{"apps": [{"id": "a"}]}');
    assert.throws(
      () => loadPusherConfig({ PARLEY_PUSHER_APPS_FILE: file }, false),
      refused(/PARLEY_PUSHER_APPS_FILE/),
    );
    assert.throws(
      () => loadPusherConfig({ ...app, PARLEY_PUSHER_APPS_FILE: file }, false),
      refused(/not both/),
    );
  });
});
