import { freshDatabase } from '../support/fresh-database.js';
import { adminStoreContract } from './admin-store-contract.js';
import { openHarness } from './store-contract.js';

adminStoreContract('SQLite', async () => openHarness(await freshDatabase('sqlite')));
