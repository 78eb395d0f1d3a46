import { freshDatabase } from '../support/fresh-database.js';
import { outboxContract } from './outbox-contract.js';
import { openHarness } from './store-contract.js';

// A SQLite file: appends and their outbox rows commit on the append worker.
outboxContract('SQLite', async () => openHarness(await freshDatabase('sqlite')));
// The same on the store's own connection (no worker): the other append path.
outboxContract(
  'SQLite, no append worker',
  async () => openHarness(await freshDatabase('sqlite'), { sqliteAppendWorker: false }),
  { serialWrites: true },
);
