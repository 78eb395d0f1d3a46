import { test } from 'node:test';
import { freshDatabase, missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { outboxContract } from './outbox-contract.js';
import { openHarness } from './store-contract.js';

const server = testServerUrl('postgres');
if (server === undefined)
  test('Store outbox contract: PostgreSQL', { skip: missingServerReason('postgres') }, () => {});
else outboxContract('PostgreSQL', async () => openHarness(await freshDatabase('postgres', server)));
