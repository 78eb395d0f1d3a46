import { test } from 'node:test';
import { freshDatabase, missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { pushStoreContract } from './push-store-contract.js';
import { openHarness } from './store-contract.js';

const server = testServerUrl('mysql');
if (server === undefined)
  test('Store Web Push contract: MariaDB', { skip: missingServerReason('mysql') }, () => {});
else pushStoreContract('MariaDB', async () => openHarness(await freshDatabase('mysql', server)));
