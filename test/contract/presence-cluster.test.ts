import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { ClusterPresence } from '../../src/server/presence/cluster-presence.js';
import { ClusterPresenceHost } from '../../src/server/presence/cluster-presence-host.js';
import { ipcPair } from '../support/ipc-pair.js';
import { presenceContract } from './presence-contract.js';

presenceContract(
  'cluster IPC',
  async (n) => {
    const host = new ClusterPresenceHost();
    const nodes = Array.from({ length: n }, () => {
      const { worker, primary } = ipcPair();
      host.add(primary);
      return new ClusterPresence(worker);
    });
    return { nodes, cleanup: async () => void (await Promise.all(nodes.map((p) => p.close()))) };
  },
  2,
);

describe('ClusterPresenceHost', () => {
  it('forgets the connections of a worker that died', async () => {
    const host = new ClusterPresenceHost();
    const a = ipcPair();
    const b = ipcPair();
    host.add(a.primary);
    host.add(b.primary);
    const onA = new ClusterPresence(a.worker);
    const onB = new ClusterPresence(b.worker);
    await onA.join('room', 'a1', { id: 'ann', username: 'Ann' });
    await onB.join('room', 'b1', { id: 'bob', username: 'Bob' });
    (a.primary as unknown as EventEmitter).emit('exit', null, 'SIGKILL');
    assert.deepEqual(await onB.list('room'), [{ id: 'bob', username: 'Bob' }]);
    await onA.close();
    await onB.close();
  });
});
