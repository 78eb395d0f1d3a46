import { test } from 'node:test';
import { freshDatabase, missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { attachmentsContract } from './attachments-contract.js';
import { openHarness } from './store-contract.js';

const server = testServerUrl('mysql');
if (server === undefined)
  test('Store attachments contract: MariaDB', { skip: missingServerReason('mysql') }, () => {});
else attachmentsContract('MariaDB', async () => openHarness(await freshDatabase('mysql', server)));
