import { test } from 'node:test';
import { freshDatabase, missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { adminStoreContract } from './admin-store-contract.js';
import { openHarness } from './store-contract.js';

const server = testServerUrl('mysql');
if (server === undefined)
  test('Store admin contract: MariaDB', { skip: missingServerReason('mysql') }, () => {});
else adminStoreContract('MariaDB', async () => openHarness(await freshDatabase('mysql', server)));
