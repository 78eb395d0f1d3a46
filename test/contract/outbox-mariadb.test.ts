import { test } from 'node:test';
import { freshDatabase, missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { outboxContract } from './outbox-contract.js';
import { openHarness } from './store-contract.js';

const server = testServerUrl('mysql');
if (server === undefined)
  test('Store outbox contract: MariaDB', { skip: missingServerReason('mysql') }, () => {});
else outboxContract('MariaDB', async () => openHarness(await freshDatabase('mysql', server)));
