import assert from 'node:assert/strict';
import type { TestServer } from './start-server.js';

/** The PARLEY_API_KEY of tests that seed data through the server API. */
export const TEST_API_KEY = 'test-api-key-0123456789abcdef0123456789abcdef';

/** Calls the server API (`/api/server/…`, no rate limits) as the app's backend would. */
export async function serverApi(
  srv: TestServer,
  method: string,
  path: string,
  body: unknown = {},
): Promise<void> {
  const res = await fetch(`${srv.httpUrl}/api/server/${path}`, {
    method,
    headers: { 'X-Api-Key': TEST_API_KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.text()}`);
}

/** Posts a message as a user through the server API. */
export function serverPost(srv: TestServer, userId: string, channel: string, text: string): Promise<void> {
  return serverApi(srv, 'POST', 'messages', { channel, text, user_id: userId });
}
