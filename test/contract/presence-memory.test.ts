import { MemoryPresence } from '../../src/server/presence/memory-presence.js';
import { presenceContract } from './presence-contract.js';

presenceContract(
  'memory',
  async () => {
    const presence = new MemoryPresence();
    return { nodes: [presence], cleanup: () => presence.close() };
  },
  1,
);
