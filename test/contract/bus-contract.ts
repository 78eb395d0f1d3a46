import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bus, BusEvent } from '../../src/server/bus/bus.js';

/** A set of Bus nodes sharing one fan-out medium, for the contract suite. */
export interface BusNodes {
  readonly buses: readonly Bus[];
  cleanup(): Promise<void>;
}

interface Received {
  readonly topic: string;
  readonly event: BusEvent;
}

function recorder(bus: Bus): Received[] {
  const got: Received[] = [];
  bus.setHandler((topic, event) => got.push({ topic, event }));
  return got;
}

function msg(channel: string, seq: number) {
  return {
    kind: 'message',
    message: {
      id: `${channel}-${seq}`,
      channel,
      seq,
      user_id: 'u',
      username: 'u',
      text: `t${seq}`,
      ts: 1,
      client_msg_id: null,
    },
  } as const;
}

async function until(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * The Bus contract, run against every implementation. `make(n)` starts n nodes on one medium;
 * `maxNodes` is 1 for single-node buses.
 */
export function busContract(name: string, make: (n: number) => Promise<BusNodes>, maxNodes: number): void {
  describe(`Bus contract: ${name}`, () => {
    let nodes: BusNodes;
    const n = Math.min(maxNodes, 3);
    before(async () => {
      nodes = await make(n);
    });
    after(() => nodes.cleanup());

    it('delivers a node its own publications through the handler', async () => {
      const bus = nodes.buses[0]!;
      const got = recorder(bus);
      await bus.subscribe('own');
      await bus.publish('own', msg('own', 1));
      await until(() => got.length === 1, 'own event');
      assert.deepEqual(got[0], { topic: 'own', event: msg('own', 1) });
      await bus.unsubscribe('own');
    });

    it('delivers only topics a node subscribed to, and stops after unsubscribe', async () => {
      const bus = nodes.buses[0]!;
      const got = recorder(bus);
      await bus.subscribe('a');
      await bus.publish('b', msg('b', 1));
      await bus.publish('a', msg('a', 1));
      await until(() => got.length === 1, 'topic a');
      await bus.unsubscribe('a');
      await bus.publish('a', msg('a', 2));
      await bus.subscribe('marker');
      await bus.publish('marker', msg('marker', 1));
      await until(() => got.some((r) => r.topic === 'marker'), 'marker');
      assert.deepEqual(
        got.map((r) => r.topic),
        ['a', 'marker'],
      );
      await bus.unsubscribe('marker');
    });

    it('keeps one publisher’s order on a topic, with no duplicates, on every subscribed node', async () => {
      const got = nodes.buses.map(recorder);
      await Promise.all(nodes.buses.map((b) => b.subscribe('order')));
      const count = 300;
      await Promise.all(
        Array.from({ length: count }, (_, i) => nodes.buses[0]!.publish('order', msg('order', i + 1))),
      );
      for (const g of got) {
        await until(() => g.length >= count, 'all events');
        assert.deepEqual(
          g.map((r) => (r.event.kind === 'message' ? r.event.message.seq : -1)),
          Array.from({ length: count }, (_, i) => i + 1),
        );
      }
      await Promise.all(nodes.buses.map((b) => b.unsubscribe('order')));
    });

    if (n > 1) {
      it('reaches every subscribed node and no unsubscribed one', async () => {
        const got = nodes.buses.map(recorder);
        await nodes.buses[1]!.subscribe('fan');
        await nodes.buses[0]!.subscribe('fan');
        await nodes.buses[2]?.subscribe('other');
        await nodes.buses[1]!.publish('fan', msg('fan', 1));
        await until(() => got[0]!.length === 1 && got[1]!.length === 1, 'fan-out to two nodes');
        await nodes.buses[2]?.publish('other', msg('other', 1));
        if (nodes.buses[2] !== undefined) await until(() => got[2]!.length === 1, 'marker on node 3');
        assert.equal(got[0]!.length, 1);
        assert.equal(got[1]!.length, 1);
        assert.equal(got[2]?.filter((r) => r.topic === 'fan').length ?? 0, 0);
      });
    }

    it('reports itself connected', () => {
      for (const b of nodes.buses) assert.equal(b.connected, true);
    });
  });
}
