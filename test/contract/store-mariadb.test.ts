import { test } from 'node:test';
import { freshDatabase, missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { openHarness, storeContract } from './store-contract.js';

// A fresh database per run on the server PARLEY_TEST_MYSQL_URL names; skipped when unset,
// failing (never skipping) when set and the server is down.
const server = testServerUrl('mysql');
if (server === undefined) test('Store contract: MariaDB', { skip: missingServerReason('mysql') }, () => {});
else storeContract('MariaDB', async () => openHarness(await freshDatabase('mysql', server)));
