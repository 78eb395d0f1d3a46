import { test } from 'node:test';
import { freshDatabase, missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { pushStoreContract } from './push-store-contract.js';
import { openHarness } from './store-contract.js';

const server = testServerUrl('postgres');
if (server === undefined)
  test('Store Web Push contract: PostgreSQL', { skip: missingServerReason('postgres') }, () => {});
else pushStoreContract('PostgreSQL', async () => openHarness(await freshDatabase('postgres', server)));
