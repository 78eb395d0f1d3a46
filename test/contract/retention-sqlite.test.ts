import { freshDatabase } from '../support/fresh-database.js';
import { retentionContract } from './retention-contract.js';
import { openHarness } from './store-contract.js';

// A SQLite file: every write runs on the append worker.
retentionContract('SQLite', async () => openHarness(await freshDatabase('sqlite')));
