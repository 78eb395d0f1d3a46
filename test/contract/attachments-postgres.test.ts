import { test } from 'node:test';
import { freshDatabase, missingServerReason, testServerUrl } from '../support/fresh-database.js';
import { attachmentsContract } from './attachments-contract.js';
import { openHarness } from './store-contract.js';

const server = testServerUrl('postgres');
if (server === undefined)
  test('Store attachments contract: PostgreSQL', { skip: missingServerReason('postgres') }, () => {});
else attachmentsContract('PostgreSQL', async () => openHarness(await freshDatabase('postgres', server)));
