import { test } from 'node:test';
import { freshDatabase, missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { retentionContract } from './retention-contract.js';
import { openHarness } from './store-contract.js';

const server = testServerUrl('mysql');
if (server === undefined)
  test('Store retention contract: MariaDB', { skip: missingServerReason('mysql') }, () => {});
else retentionContract('MariaDB', async () => openHarness(await freshDatabase('mysql', server)));
