import { test } from 'node:test';
import { freshDatabase, missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { openHarness, storeContract } from './store-contract.js';

// A fresh database per run on the server PARLEY_TEST_POSTGRES_URL names; skipped when unset,
// failing (never skipping) when set and the server is down.
const server = testServerUrl('postgres');
if (server === undefined)
  test('Store contract: PostgreSQL', { skip: missingServerReason('postgres') }, () => {});
else storeContract('PostgreSQL', async () => openHarness(await freshDatabase('postgres', server)));
