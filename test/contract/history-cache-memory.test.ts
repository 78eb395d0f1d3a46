import { MemoryHistoryCache } from '../../src/server/cache/memory-history-cache.js';
import { historyCacheContract } from './history-cache-contract.js';

historyCacheContract('memory', async () => {
  const cache = new MemoryHistoryCache({ perChannel: 10 });
  return { cache, cleanup: () => cache.close() };
});
