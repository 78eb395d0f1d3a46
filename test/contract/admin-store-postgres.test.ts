import { test } from 'node:test';
import { freshDatabase, missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { adminStoreContract } from './admin-store-contract.js';
import { openHarness } from './store-contract.js';

const server = testServerUrl('postgres');
if (server === undefined)
  test('Store admin contract: PostgreSQL', { skip: missingServerReason('postgres') }, () => {});
else adminStoreContract('PostgreSQL', async () => openHarness(await freshDatabase('postgres', server)));
