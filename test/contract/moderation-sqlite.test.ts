import { freshDatabase } from '../support/fresh-database.js';
import { moderationContract } from './moderation-contract.js';
import { openHarness } from './store-contract.js';

moderationContract('SQLite', async () => openHarness(await freshDatabase('sqlite')));
