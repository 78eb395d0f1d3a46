// `KyselyStore`'s users/accounts aggregate: users, their status (ban, token cut-off), local
// accounts and refresh tokens.
import { type Selectable, sql } from 'kysely';
import { ParleyError } from '../../protocol/error-catalogue.js';
import { checkLength, MAX_LOGIN, MAX_USER_ID, MAX_USERNAME } from './check-length.js';
import { classifyDatabaseError } from './classify-database-error.js';
import type { KyselyRunner } from './kysely-runner.js';
import { toInt } from './message-row.js';
import type { StoredAccount, StoredUser, UserStatus } from './store.js';
import type { UsersTable } from './store-tables.js';

/** The users, accounts and refresh tokens of a `KyselyStore`; each method is the `Store` method of its name. */
export class KyselyUsers {
  readonly #run: KyselyRunner;

  constructor(run: KyselyRunner) {
    this.#run = run;
  }

  async upsertUser(user: { readonly id: string; readonly username: string }): Promise<StoredUser> {
    checkLength('user id', user.id, MAX_USER_ID);
    checkLength('username', user.username, MAX_USERNAME);
    return this.#run.upsert('saving a user', async (db) => {
      const insert = db
        .insertInto('users')
        .values({ id: user.id, username: user.username, password_hash: null, created_at: Date.now() });
      const upsert =
        this.#run.caps.upsert === 'on-conflict'
          ? insert.onConflict((oc) => oc.column('id').doUpdateSet({ username: user.username }))
          : insert.onDuplicateKeyUpdate({ username: user.username });
      const row = this.#run.caps.returning
        ? await upsert.returning(['id', 'username', 'created_at']).executeTakeFirst()
        : await upsert.execute().then(() => this.#selectUser(user.id));
      if (row === undefined) throw new Error(`user ${user.id} vanished right after its upsert`);
      return toUser(row);
    });
  }

  getUser(id: string): Promise<StoredUser | undefined> {
    return this.#run.guard('reading a user', async () => {
      const row = await this.#selectUser(id);
      return row === undefined ? undefined : toUser(row);
    });
  }

  findUsers(prefix: string, limit: number): Promise<readonly StoredUser[]> {
    const wanted = prefix.toLowerCase();
    // substr counts characters (code points) in all three databases; lower() folds ASCII
    // everywhere (and more on PostgreSQL and MariaDB, whose collation ignores case anyway).
    const chars = [...wanted].length;
    return this.#run.guard('finding users', async () => {
      if (chars === 0 || limit <= 0) return [];
      const rows = await this.#run.db
        .selectFrom('users')
        .select(['id', 'username', 'created_at'])
        .where(sql<string>`lower(substr(username, 1, ${chars}))`, '=', wanted)
        .where('banned', '=', 0)
        .orderBy(sql`lower(username)`)
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(toUser);
    });
  }

  getUserStatus(id: string): Promise<UserStatus | undefined> {
    return this.#run.guard('reading a user', async () => {
      const row = await this.#run.db
        .selectFrom('users')
        .select(['banned', 'tokens_valid_after'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (row !== undefined) return toStatus(row);
      // An erased user (issue 17): the tokens issued before the erasure stay refused.
      const erased = await this.#run.db
        .selectFrom('erased_users')
        .select('erased_at')
        .where('user_id', '=', id)
        .executeTakeFirst();
      return erased === undefined ? undefined : { banned: false, tokensValidAfter: toInt(erased.erased_at) };
    });
  }

  setUserStatus(id: string, patch: Partial<UserStatus>): Promise<UserStatus> {
    return this.#run.write('updating a user', async (trx) => {
      const set: { banned?: number; tokens_valid_after?: number } = {};
      if (patch.banned !== undefined) set.banned = patch.banned ? 1 : 0;
      if (patch.tokensValidAfter !== undefined) set.tokens_valid_after = patch.tokensValidAfter;
      if (Object.keys(set).length > 0) await trx.updateTable('users').set(set).where('id', '=', id).execute();
      const row = await trx
        .selectFrom('users')
        .select(['banned', 'tokens_valid_after'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (row === undefined) throw new ParleyError('not_found', 'no such user');
      return toStatus(row);
    });
  }

  createAccount(account: StoredAccount & { readonly username: string }): Promise<StoredUser> {
    checkLength('user id', account.userId, MAX_USER_ID);
    checkLength('username', account.username, MAX_USERNAME);
    checkLength('login', account.login, MAX_LOGIN);
    return this.#run.guard('creating an account', async () => {
      const createdAt = Date.now();
      try {
        await this.#run.transaction(async (trx) => {
          await trx
            .insertInto('users')
            .values({
              id: account.userId,
              username: account.username,
              password_hash: null,
              created_at: createdAt,
            })
            .execute();
          await trx
            .insertInto('accounts')
            .values({
              login: account.login,
              user_id: account.userId,
              password_hash: account.passwordHash,
              created_at: createdAt,
            })
            .execute();
        });
      } catch (error) {
        if (classifyDatabaseError(error) === 'unique_violation') {
          throw new ParleyError('conflict', 'that username is taken', { cause: error });
        }
        throw error;
      }
      return { id: account.userId, username: account.username, createdAt };
    });
  }

  getAccount(login: string): Promise<StoredAccount | undefined> {
    return this.#run.guard('reading an account', async () => {
      const row = await this.#run.db
        .selectFrom('accounts')
        .select(['login', 'user_id', 'password_hash'])
        .where('login', '=', login)
        .executeTakeFirst();
      return row === undefined
        ? undefined
        : { login: row.login, userId: row.user_id, passwordHash: row.password_hash };
    });
  }

  saveRefreshToken(token: {
    readonly id: string;
    readonly userId: string;
    readonly expiresAt: number;
  }): Promise<void> {
    return this.#run.writeGuard('saving a refresh token', async () => {
      await this.#run.writer
        .insertInto('refresh_tokens')
        .values({ id: token.id, user_id: token.userId, expires_at: token.expiresAt, created_at: Date.now() })
        .execute();
    });
  }

  takeRefreshToken(id: string, now: number): Promise<string | undefined> {
    return this.#run.write('using a refresh token', async (trx) => {
      const row = await trx
        .selectFrom('refresh_tokens')
        .select(['user_id', 'expires_at'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      // Only the call whose DELETE removed the row gets the user.
      const gone = await trx.deleteFrom('refresh_tokens').where('id', '=', id).executeTakeFirst();
      if (Number(gone.numDeletedRows) === 0 || toInt(row.expires_at) <= now) return undefined;
      return row.user_id;
    });
  }

  deleteRefreshTokens(userId: string): Promise<void> {
    return this.#run.writeGuard('deleting refresh tokens', async () => {
      await this.#run.writer.deleteFrom('refresh_tokens').where('user_id', '=', userId).execute();
    });
  }

  async #selectUser(
    id: string,
  ): Promise<Pick<Selectable<UsersTable>, 'id' | 'username' | 'created_at'> | undefined> {
    return this.#run.db
      .selectFrom('users')
      .select(['id', 'username', 'created_at'])
      .where('id', '=', id)
      .executeTakeFirst();
  }
}

function toUser(row: Pick<Selectable<UsersTable>, 'id' | 'username' | 'created_at'>): StoredUser {
  return { id: row.id, username: row.username, createdAt: toInt(row.created_at) };
}

function toStatus(row: { banned: number; tokens_valid_after: number | string }): UserStatus {
  return { banned: Number(row.banned) !== 0, tokensValidAfter: toInt(row.tokens_valid_after) };
}
