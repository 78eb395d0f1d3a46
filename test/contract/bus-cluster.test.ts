import { ClusterBus } from '../../src/server/bus/cluster-bus.js';
import { ClusterBusRelay } from '../../src/server/bus/cluster-bus-relay.js';
import { ipcPair } from '../support/ipc-pair.js';
import { busContract } from './bus-contract.js';

busContract(
  'cluster IPC',
  async (n) => {
    const relay = new ClusterBusRelay();
    const buses = Array.from({ length: n }, () => {
      const { worker, primary } = ipcPair();
      relay.add(primary);
      return new ClusterBus(worker);
    });
    return { buses, cleanup: async () => void (await Promise.all(buses.map((b) => b.close()))) };
  },
  3,
);
