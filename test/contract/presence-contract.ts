import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Presence } from '../../src/server/presence/presence.js';

/** Presence nodes sharing one store of presence, for the contract suite. */
export interface PresenceNodes {
  readonly nodes: readonly Presence[];
  cleanup(): Promise<void>;
}

const ann = { id: 'ann', username: 'Ann' };
const bob = { id: 'bob', username: 'Bob' };

/** The Presence contract, run against every implementation; `maxNodes` 1 for single-node ones. */
export function presenceContract(
  name: string,
  make: (n: number) => Promise<PresenceNodes>,
  maxNodes: number,
): void {
  describe(`Presence contract: ${name}`, () => {
    let p: PresenceNodes;
    const n = Math.min(maxNodes, 2);
    const channel = (c: string) => `${name}-${c}-${process.pid}`;
    before(async () => {
      p = await make(n);
    });
    after(() => p.cleanup());

    it('reports the first connection of a user as a join, and further ones not', async () => {
      const a = p.nodes[0]!;
      assert.equal(await a.join(channel('first'), 'c1', ann), true);
      assert.equal(await a.join(channel('first'), 'c2', ann), false);
      assert.equal(await a.join(channel('first'), 'c3', bob), true);
      assert.deepEqual(await a.list(channel('first')), [ann, bob]);
      assert.equal(await a.count(channel('first')), 2, 'users, not connections');
    });

    it('keeps the info a user joined with (their first connection’s), on every node', async () => {
      const a = p.nodes[0]!;
      const b = p.nodes[n - 1]!;
      const info = JSON.stringify({ name: 'Cleo\t🙂', avatar: 'https://example.com/c.png' });
      const cleo = { id: 'cleo', username: 'Cleo', info };
      assert.equal(await a.join(channel('info'), 'i1', cleo), true);
      assert.equal(await b.join(channel('info'), 'i2', { ...cleo, info: '{"other":true}' }), false);
      assert.deepEqual(await b.list(channel('info')), [cleo]);
      assert.equal(await b.leave(channel('info'), 'i2'), undefined);
      assert.deepEqual(await a.leave(channel('info'), 'i1'), cleo);
    });

    it('reports a leave only when the user’s last connection leaves', async () => {
      const a = p.nodes[0]!;
      assert.equal(await a.leave(channel('first'), 'c1'), undefined);
      assert.deepEqual(await a.leave(channel('first'), 'c2'), ann);
      assert.deepEqual(await a.list(channel('first')), [bob]);
      assert.equal(await a.count(channel('first')), 1);
      assert.equal(await a.leave(channel('first'), 'unknown'), undefined);
    });

    it('reports the leave after the last of three connections, whatever the order; a repeated join counts once', async () => {
      const a = p.nodes[0]!;
      const ch = channel('three');
      assert.equal(await a.join(ch, 'k1', ann), true);
      assert.equal(await a.join(ch, 'k1', ann), false);
      assert.equal(await a.join(ch, 'k2', ann), false);
      assert.equal(await a.join(ch, 'k3', ann), false);
      assert.equal(await a.leave(ch, 'k2'), undefined);
      assert.equal(await a.leave(ch, 'k1'), undefined);
      assert.equal(await a.leave(ch, 'k1'), undefined, 'a second leave of one connection is nothing');
      assert.equal(await a.join(ch, 'k4', ann), false);
      assert.equal(await a.leave(ch, 'k3'), undefined);
      assert.deepEqual(await a.leave(ch, 'k4'), ann);
      assert.equal(await a.count(ch), 0);
      assert.equal(await a.join(ch, 'k5', ann), true, 'and joins anew');
      assert.deepEqual(await a.leave(ch, 'k5'), ann);
    });

    it('keeps channels apart', async () => {
      const a = p.nodes[0]!;
      await a.join(channel('x'), 'c9', ann);
      assert.deepEqual(await a.list(channel('y')), []);
      assert.equal(await a.count(channel('y')), 0);
      assert.deepEqual(await a.list(channel('x')), [ann]);
      await a.leave(channel('x'), 'c9');
    });

    if (n > 1) {
      it('counts one user’s connections on different nodes together', async () => {
        const [a, b] = [p.nodes[0]!, p.nodes[1]!];
        assert.equal(await a.join(channel('multi'), 'a1', ann), true);
        assert.equal(await b.join(channel('multi'), 'b1', ann), false);
        assert.deepEqual(await b.list(channel('multi')), [ann]);
        assert.equal(await a.count(channel('multi')), 1);
        assert.equal(await a.leave(channel('multi'), 'a1'), undefined);
        assert.deepEqual(await b.leave(channel('multi'), 'b1'), ann);
        assert.deepEqual(await a.list(channel('multi')), []);
      });
    }
  });
}
