import { test } from 'node:test';
import { freshDatabase, missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { moderationContract } from './moderation-contract.js';
import { openHarness } from './store-contract.js';

const server = testServerUrl('postgres');
if (server === undefined)
  test('Store moderation contract: PostgreSQL', { skip: missingServerReason('postgres') }, () => {});
else moderationContract('PostgreSQL', async () => openHarness(await freshDatabase('postgres', server)));
