// `KyselyStore`'s stored-messages aggregate: history pages, single messages, edits and their
// versions, deletes, reactions, threads and search. Appends are `KyselyAppends`'.
import { type Kysely, sql } from 'kysely';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { Message } from '../../protocol/frames.js';
import { checkLength, checkText, MAX_USER_ID } from './check-length.js';
import { LOOKUP_CHUNK } from './chunk-sizes.js';
import type { KyselyRunner } from './kysely-runner.js';
import { MESSAGE_SELECT, type MessageRow, toInt, toMessage } from './message-row.js';
import { searchTerms } from './search-terms.js';
import type { MessageVersion, SearchQuery } from './store.js';
import type { StoreTables } from './store-tables.js';

/**
 * The stored messages of a `KyselyStore`, once appended: each method is the `Store` method of
 * its name.
 */
export class KyselyMessages {
  readonly #run: KyselyRunner;

  constructor(run: KyselyRunner) {
    this.#run = run;
  }

  latest(channelId: string, limit: number): Promise<readonly Message[]> {
    return this.#page('reading history', limit, async (n) => {
      const rows = await this.#run.db
        .selectFrom('messages')
        .select(MESSAGE_SELECT)
        .where('channel_id', '=', channelId)
        .orderBy('seq', 'desc')
        .limit(n)
        .execute();
      return rows.reverse();
    });
  }

  before(channelId: string, before: number, limit: number): Promise<readonly Message[]> {
    return this.#page('reading history', limit, async (n) => {
      const rows = await this.#run.db
        .selectFrom('messages')
        .select(MESSAGE_SELECT)
        .where('channel_id', '=', channelId)
        .where('seq', '<', before)
        .orderBy('seq', 'desc')
        .limit(n)
        .execute();
      return rows.reverse();
    });
  }

  after(channelId: string, after: number, limit: number): Promise<readonly Message[]> {
    return this.#page('reading history', limit, (n) =>
      this.#run.db
        .selectFrom('messages')
        .select(MESSAGE_SELECT)
        .where('channel_id', '=', channelId)
        .where('seq', '>', after)
        .orderBy('seq', 'asc')
        .limit(n)
        .execute(),
    );
  }

  getMessage(channelId: string, id: string): Promise<Message | undefined> {
    return this.#run.guard('reading a message', () => this.#selectMessage(this.#run.db, channelId, id));
  }

  editMessage(channelId: string, id: string, text: string): Promise<Message> {
    checkText(text);
    return this.#run.write('editing a message', async (trx) => {
      // Locked: a concurrent edit would take the same version number, and a concurrent delete
      // would leave this version behind.
      const found = await this.#selectMessage(trx, channelId, id, { lock: true });
      if (found === undefined) throw new ParleyError('not_found', 'no such message');
      if (found.deleted === true) throw new ParleyError('conflict', 'the message was deleted');
      const editedAt = Date.now();
      const last = await trx
        .selectFrom('message_versions')
        .select((eb) => eb.fn.max('version').as('version'))
        .where('message_id', '=', id)
        .executeTakeFirst();
      await trx
        .insertInto('message_versions')
        .values({
          message_id: id,
          version: toInt(last?.version ?? 0) + 1,
          text: found.text,
          edited_at: editedAt,
        })
        .execute();
      await trx
        .updateTable('messages')
        .set({ text, edited_at: editedAt })
        .where('id', '=', id)
        .where('channel_id', '=', channelId)
        .execute();
      return { ...found, text, edited_at: editedAt };
    });
  }

  deleteMessage(channelId: string, id: string): Promise<Message> {
    return this.#run.write('deleting a message', async (trx) => {
      const found = await this.#selectMessage(trx, channelId, id, { lock: true });
      if (found === undefined) throw new ParleyError('not_found', 'no such message');
      if (found.deleted === true) return found;
      await trx
        .updateTable('messages')
        .set({ text: '', deleted_at: Date.now() })
        .where('id', '=', id)
        .where('channel_id', '=', channelId)
        .execute();
      await trx.deleteFrom('reactions').where('message_id', '=', id).execute();
      // A deleted text is gone from storage, earlier versions included.
      await trx.deleteFrom('message_versions').where('message_id', '=', id).execute();
      // Its files go with the attachment sweep; the message no longer lists them.
      const { reactions: _gone, attachments: _files, ...rest } = found;
      return { ...rest, text: '', deleted: true as const };
    });
  }

  messageVersions(channelId: string, messageId: string): Promise<readonly MessageVersion[]> {
    return this.#run.guard('reading message versions', async () => {
      const found = await this.#run.db
        .selectFrom('messages')
        .select('deleted_at')
        .where('id', '=', messageId)
        .where('channel_id', '=', channelId)
        .executeTakeFirst();
      if (found === undefined) throw new ParleyError('not_found', 'no such message');
      if (found.deleted_at !== null) return [];
      const rows = await this.#run.db
        .selectFrom('message_versions')
        .select(['version', 'text', 'edited_at'])
        .where('message_id', '=', messageId)
        .orderBy('version', 'asc')
        .execute();
      return rows.map((row) => ({
        version: toInt(row.version),
        text: row.text,
        editedAt: toInt(row.edited_at),
      }));
    });
  }

  toggleReaction(
    channelId: string,
    messageId: string,
    userId: string,
    emoji: string,
  ): Promise<{ readonly added: boolean; readonly message: Message }> {
    checkLength('user id', userId, MAX_USER_ID);
    checkLength('emoji', emoji, 32);
    return this.#run.write('reacting to a message', async (trx) => {
      const found = await this.#selectMessage(trx, channelId, messageId);
      if (found === undefined) throw new ParleyError('not_found', 'no such message');
      if (found.deleted === true) throw new ParleyError('conflict', 'the message was deleted');
      const removed = await trx
        .deleteFrom('reactions')
        .where('message_id', '=', messageId)
        .where('user_id', '=', userId)
        .where('emoji', '=', emoji)
        .executeTakeFirst();
      const added = Number(removed.numDeletedRows) === 0;
      if (added) {
        await trx
          .insertInto('reactions')
          .values({ message_id: messageId, user_id: userId, emoji, created_at: Date.now() })
          .execute();
      }
      const message = await this.#selectMessage(trx, channelId, messageId);
      return { added, message: message ?? found };
    });
  }

  thread(channelId: string, rootId: string, after: number, limit: number): Promise<readonly Message[]> {
    return this.#page('reading a thread', limit, (n) =>
      this.#run.db
        .selectFrom('messages')
        .select(MESSAGE_SELECT)
        .where('channel_id', '=', channelId)
        .where('reply_to', '=', rootId)
        .where('seq', '>', after)
        .orderBy('seq', 'asc')
        .limit(n)
        .execute(),
    );
  }

  search(query: SearchQuery): Promise<readonly Message[]> {
    return this.#page('searching', query.limit, async (n) => {
      const dialect = this.#run.dialect;
      let terms = searchTerms(query.text);
      // InnoDB does not index words shorter than innodb_ft_min_token_size (3 by default);
      // required short terms would match nothing.
      if (dialect === 'mysql') terms = terms.filter((t) => t.length >= 3);
      if (terms.length === 0 || query.channelIds.length === 0) return [];
      const offset = Math.max(0, Math.floor(query.offset));
      let q = this.#run.db
        .selectFrom('messages as m')
        .select(MESSAGE_SELECT.map((c) => `m.${c}` as const))
        .where('m.channel_id', 'in', [...query.channelIds])
        .where('m.deleted_at', 'is', null);
      if (dialect === 'sqlite') {
        const match = terms.map((t) => `"${t}"*`).join(' ');
        q = q.where(
          sql<boolean>`m.id in (select s.message_id from messages_fts f join message_search s on s.rowid = f.rowid where messages_fts match ${match})`,
        );
      } else if (dialect === 'mysql') {
        const match = terms.map((t) => `+${t}*`).join(' ');
        q = q.where(sql<boolean>`match (m.text) against (${match} in boolean mode)`);
      } else {
        const match = terms.map((t) => `'${t}':*`).join(' & ');
        q = q.where(sql<boolean>`m.search @@ to_tsquery('simple', ${match})`);
      }
      return q.orderBy('m.timestamp', 'desc').orderBy('m.id', 'desc').limit(n).offset(offset).execute();
    });
  }

  #page(
    doing: string,
    limit: number,
    read: (limit: number) => Promise<readonly MessageRow[]>,
  ): Promise<readonly Message[]> {
    return this.#run.guard(doing, async () => {
      if (!(limit >= 1)) return [];
      const rows = await read(Math.min(Math.floor(limit), Number.MAX_SAFE_INTEGER));
      return this.#withReactions(this.#run.db, rows.map(toMessage));
    });
  }

  /** `messages` with their reaction counts (one query for the whole page). */
  async #withReactions(db: Kysely<StoreTables>, messages: readonly Message[]): Promise<Message[]> {
    const ids = messages.filter((m) => m.deleted !== true).map((m) => m.id);
    if (ids.length === 0) return [...messages];
    const byMessage = new Map<string, Map<string, string[]>>();
    for (let start = 0; start < ids.length; start += LOOKUP_CHUNK) {
      const rows = await db
        .selectFrom('reactions')
        .select(['message_id', 'emoji', 'user_id'])
        .where('message_id', 'in', ids.slice(start, start + LOOKUP_CHUNK))
        .orderBy('message_id')
        .orderBy('created_at')
        .orderBy('emoji')
        .orderBy('user_id')
        .execute();
      for (const row of rows) {
        let emojis = byMessage.get(row.message_id);
        if (emojis === undefined) {
          emojis = new Map();
          byMessage.set(row.message_id, emojis);
        }
        const users = emojis.get(row.emoji);
        if (users === undefined) emojis.set(row.emoji, [row.user_id]);
        else users.push(row.user_id);
      }
    }
    return messages.map((m) => {
      const emojis = byMessage.get(m.id);
      if (emojis === undefined) return m;
      const reactions = [...emojis].map(([emoji, users]) => ({
        emoji,
        count: users.length,
        user_ids: users.sort(codePointOrder),
      }));
      return { ...m, reactions };
    });
  }

  /**
   * The message, or undefined. With `lock`, inside a transaction, its row stays locked until
   * commit (`FOR UPDATE`; SQLite's transactions hold the database write lock already).
   */
  async #selectMessage(
    db: Kysely<StoreTables>,
    channelId: string,
    id: string,
    options: { readonly lock?: boolean } = {},
  ): Promise<Message | undefined> {
    const row = await db
      .selectFrom('messages')
      .select(MESSAGE_SELECT)
      .where('id', '=', id)
      .where('channel_id', '=', channelId)
      .$if(options.lock === true && !this.#run.caps.databaseWriteLock, (q) => q.forUpdate())
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const [message] = await this.#withReactions(db, [toMessage(row)]);
    return message;
  }
}

function codePointOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
