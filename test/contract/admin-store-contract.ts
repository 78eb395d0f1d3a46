import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../../src/server/store/store.js';
import type { StoreHarness } from './store-contract.js';

const isError = (code: string) => (error: unknown) =>
  error instanceof Error && error.name === 'ParleyError' && (error as { code?: unknown }).code === code;

/**
 * The admin part of the Store contract (#17): the server-admin flag, and the console's searches
 * of users and channels (any ASCII case, the LIKE characters taken literally).
 */
export function adminStoreContract(name: string, make: () => Promise<StoreHarness>): void {
  describe(`Store contract, admin: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    // Every test's users and channels share a random tag, so searches see only them.
    const tag = randomBytes(3).toString('hex');

    before(async () => {
      h = await make();
      store = h.store;
      await store.migrate();
      await store.upsertUser({ id: `${tag}-alice`, username: 'Alice Admin' });
      await store.upsertUser({ id: `${tag}-bob`, username: 'Bob_100%' });
      await store.upsertUser({ id: `${tag}-carol`, username: 'carol' });
      await store.upsertUser({ id: `${tag}-xbobx`, username: 'Bob100' });
    });
    after(() => h?.cleanup());

    it('a user is no admin until made one, and stops being one when cleared', async () => {
      const id = `${tag}-alice`;
      assert.equal(await store.isUserAdmin(id), false);
      await store.setUserAdmin(id, true);
      assert.equal(await store.isUserAdmin(id), true);
      // Setting it again (no row changes: MySQL counts zero) is no error.
      await store.setUserAdmin(id, true);
      assert.equal(await store.isUserAdmin(id), true);
      assert.equal(await store.isUserAdmin(`${tag}-bob`), false, "another user's flag is untouched");
      await store.setUserAdmin(id, false);
      assert.equal(await store.isUserAdmin(id), false);
    });

    it('an unknown user is not an admin, and cannot be made one', async () => {
      assert.equal(await store.isUserAdmin(`${tag}-nobody`), false);
      await assert.rejects(store.setUserAdmin(`${tag}-nobody`, true), isError('not_found'));
    });

    it('finds users by a part of their id or username, in any ASCII case, ordered by id', async () => {
      await store.setUserAdmin(`${tag}-carol`, true);
      const byName = await store.searchUsers('ALICE', 10);
      assert.deepEqual(
        byName.filter((u) => u.id.startsWith(tag)).map((u) => u.id),
        [`${tag}-alice`],
      );
      const bobs = await store.searchUsers(`${tag}-`, 10);
      assert.deepEqual(
        bobs.map((u) => u.id),
        [`${tag}-alice`, `${tag}-bob`, `${tag}-carol`, `${tag}-xbobx`],
      );
      const carol = bobs.find((u) => u.id === `${tag}-carol`);
      assert.equal(carol?.admin, true);
      assert.equal(carol?.banned, false);
      assert.equal(carol?.username, 'carol');
      assert.equal(typeof carol?.createdAt, 'number');
      assert.equal((await store.searchUsers(`${tag}-`, 2)).length, 2, 'at most limit rows');
    });

    it('takes % and _ in a search as plain characters', async () => {
      const percent = await store.searchUsers('_100%', 10);
      assert.deepEqual(
        percent.map((u) => u.id),
        [`${tag}-bob`],
        '"Bob100" would match if _ or % were wildcards',
      );
    });

    it('shows a ban in the search results', async () => {
      await store.setUserStatus(`${tag}-xbobx`, { banned: true });
      const [found] = await store.searchUsers(`${tag}-xbobx`, 10);
      assert.equal(found?.banned, true);
    });

    it('finds channels by a part of their id or title, with their position and archived flag', async () => {
      await store.createChannel({ id: `${tag}-ops`, kind: 'public', title: 'Operations', owner: null });
      await store.createChannel({ id: `${tag}-old`, kind: 'private', title: 'Old things', owner: null });
      await store.updateChannel(`${tag}-old`, { archived: true });
      const found = await store.searchChannels(tag, 10);
      assert.deepEqual(
        found.map((c) => [c.id, c.kind, c.archived, c.lastSeq]),
        [
          [`${tag}-old`, 'private', true, 0],
          [`${tag}-ops`, 'public', false, 0],
        ],
      );
      const byTitle = (await store.searchChannels('operATIONS', 10)).filter((c) => c.id.startsWith(tag));
      assert.deepEqual(
        byTitle.map((c) => c.title),
        ['Operations'],
      );
    });
  });
}
