import { MemoryBus } from '../../src/server/bus/memory-bus.js';
import { busContract } from './bus-contract.js';

busContract(
  'memory',
  async () => {
    const bus = new MemoryBus();
    return { buses: [bus], cleanup: () => bus.close() };
  },
  1,
);
