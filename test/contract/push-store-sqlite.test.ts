import { freshDatabase } from '../support/fresh-database.js';
import { pushStoreContract } from './push-store-contract.js';
import { openHarness } from './store-contract.js';

pushStoreContract('SQLite', async () => openHarness(await freshDatabase('sqlite')));
