import { freshDatabase } from '../support/fresh-database.js';
import { openHarness, storeContract } from './store-contract.js';

// A SQLite file in a temp dir (WAL, synchronous FULL): always runs.
storeContract('SQLite', async () => openHarness(await freshDatabase('sqlite')));
