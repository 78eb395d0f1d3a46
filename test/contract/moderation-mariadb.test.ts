import { test } from 'node:test';
import { freshDatabase, missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { moderationContract } from './moderation-contract.js';
import { openHarness } from './store-contract.js';

const server = testServerUrl('mysql');
if (server === undefined)
  test('Store moderation contract: MariaDB', { skip: missingServerReason('mysql') }, () => {});
else moderationContract('MariaDB', async () => openHarness(await freshDatabase('mysql', server)));
