import { test } from 'node:test';
import { freshDatabase, missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { retentionContract } from './retention-contract.js';
import { openHarness } from './store-contract.js';

const server = testServerUrl('postgres');
if (server === undefined)
  test('Store retention contract: PostgreSQL', { skip: missingServerReason('postgres') }, () => {});
else retentionContract('PostgreSQL', async () => openHarness(await freshDatabase('postgres', server)));
