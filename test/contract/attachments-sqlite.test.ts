import { freshDatabase } from '../support/fresh-database.js';
import { attachmentsContract } from './attachments-contract.js';
import { openHarness } from './store-contract.js';

// A SQLite file: appends (and the links they make) commit on the append worker.
attachmentsContract('SQLite', async () => openHarness(await freshDatabase('sqlite')));
// The same on the store's own connection (no worker): the other append path.
attachmentsContract('SQLite, no append worker', async () =>
  openHarness(await freshDatabase('sqlite'), { sqliteAppendWorker: false }),
);
