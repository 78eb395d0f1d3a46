import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestServer } from '../support/start-server.js';

test('uploads over the hourly quota are refused with rate_limited and a retry hint', async (t) => {
  const s = await startTestServer({ env: { PARLEY_ATTACHMENT_UPLOADS_PER_HOUR: '2' } });
  t.after(() => s.close());
  const token = await s.token('u1', 'ann');
  const upload = async () => {
    const form = new FormData();
    form.append('file', new Blob(['some words\n'], { type: 'text/plain' }), 'a.txt');
    const res = await fetch(`${s.httpUrl}/api/channels/general/attachments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: form,
    });
    return {
      status: res.status,
      body: (await res.json()) as { error?: { code: string; retry_after_ms: number } },
    };
  };
  assert.equal((await upload()).status, 201);
  assert.equal((await upload()).status, 201);
  const third = await upload();
  assert.equal(third.status, 429);
  assert.equal(third.body.error?.code, 'rate_limited');
  assert.ok((third.body.error?.retry_after_ms ?? 0) > 0);
});
