// `KyselyStore`'s admin aggregate (#17): the server-admin flag on users, and the searches the
// admin console lists users and channels with.
import { sql } from 'kysely';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { ChannelKind } from '../../protocol/frames.js';
import type { KyselyRunner } from './kysely-runner.js';
import { toInt } from './message-row.js';
import type { AdminChannel, AdminUser } from './store.js';

/** Longest search text; longer is refused, not cut (the console never sends more). */
const MAX_QUERY = 200;

/** The admin flag and the console's searches of a `KyselyStore`; each method is the `Store` method of its name. */
export class KyselyAdmin {
  readonly #run: KyselyRunner;

  constructor(run: KyselyRunner) {
    this.#run = run;
  }

  isUserAdmin(id: string): Promise<boolean> {
    return this.#run.guard('reading a user', async () => {
      const row = await this.#run.db
        .selectFrom('users')
        .select('admin')
        .where('id', '=', id)
        .executeTakeFirst();
      return row !== undefined && Number(row.admin) !== 0;
    });
  }

  setUserAdmin(id: string, admin: boolean): Promise<void> {
    return this.#run.write('updating a user', async (trx) => {
      const result = await trx
        .updateTable('users')
        .set({ admin: admin ? 1 : 0 })
        .where('id', '=', id)
        .executeTakeFirst();
      // MySQL counts changed rows, not matched ones: an unchanged flag is not an unknown user.
      if (Number(result.numUpdatedRows) > 0) return;
      const row = await trx.selectFrom('users').select('id').where('id', '=', id).executeTakeFirst();
      if (row === undefined) throw new ParleyError('not_found', 'no such user');
    });
  }

  searchUsers(query: string, limit: number): Promise<readonly AdminUser[]> {
    const pattern = containsPattern(query);
    return this.#run.guard('searching users', async () => {
      const rows = await this.#run.db
        .selectFrom('users')
        .select(['id', 'username', 'created_at', 'banned', 'admin'])
        .where((eb) =>
          eb.or([
            sql<boolean>`lower(${sql.ref('id')}) like ${pattern} escape '!'`,
            sql<boolean>`lower(${sql.ref('username')}) like ${pattern} escape '!'`,
          ]),
        )
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((row) => ({
        id: row.id,
        username: row.username,
        createdAt: toInt(row.created_at),
        banned: Number(row.banned) !== 0,
        admin: Number(row.admin) !== 0,
      }));
    });
  }

  searchChannels(query: string, limit: number): Promise<readonly AdminChannel[]> {
    const pattern = containsPattern(query);
    return this.#run.guard('searching channels', async () => {
      const rows = await this.#run.db
        .selectFrom('channels')
        .select(['id', 'kind', 'title', 'last_seq', 'archived'])
        .where((eb) =>
          eb.or([
            sql<boolean>`lower(${sql.ref('id')}) like ${pattern} escape '!'`,
            sql<boolean>`lower(${sql.ref('title')}) like ${pattern} escape '!'`,
          ]),
        )
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((row) => ({
        id: row.id,
        kind: row.kind as ChannelKind,
        title: row.title,
        lastSeq: toInt(row.last_seq),
        archived: Number(row.archived) !== 0,
      }));
    });
  }
}

/**
 * A LIKE pattern for "contains `query`", any ASCII case: `!` escapes the pattern's own
 * characters (`%`, `_`, `!`), chosen because no dialect's string literal treats it specially
 * (MySQL's does the backslash). Both sides are lowered, so the collation's case rule does not
 * matter (MySQL's binary one is case-sensitive).
 */
function containsPattern(query: string): string {
  if (query.length > MAX_QUERY)
    throw new ParleyError('bad_request', `search at most ${MAX_QUERY} characters`);
  return `%${query.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/[!%_]/g, (c) => `!${c}`)}%`;
}
