// `KyselyStore`'s attachment aggregate (issue 16): upload rows, quotas and the sweep's query.
import type { Selectable } from 'kysely';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { NewAttachment, StoredAttachment } from './attachment-rows.js';
import { checkLength, MAX_CHANNEL_ID, MAX_USER_ID } from './check-length.js';
import { LOOKUP_CHUNK } from './chunk-sizes.js';
import { classifyDatabaseError } from './classify-database-error.js';
import type { KyselyRunner } from './kysely-runner.js';
import { toInt } from './message-row.js';
import type { AttachmentsTable } from './store-tables.js';

/** The longest file name and media type the columns hold. */
const MAX_NAME = 255;
const MAX_TYPE = 100;
const MAX_KEY = 200;

/** The attachment rows of a `KyselyStore`; each method is the `Store` method of its name. */
export class KyselyAttachments {
  readonly #run: KyselyRunner;

  constructor(run: KyselyRunner) {
    this.#run = run;
  }

  createAttachment(a: NewAttachment): Promise<void> {
    checkLength('attachment id', a.id, 36);
    checkLength('channel id', a.channelId, MAX_CHANNEL_ID);
    checkLength('user id', a.uploaderId, MAX_USER_ID);
    checkLength('file name', a.name, MAX_NAME);
    checkLength('media type', a.type, MAX_TYPE);
    checkLength('file key', a.fileKey, MAX_KEY);
    if (a.thumbnailKey !== null) checkLength('thumbnail key', a.thumbnailKey, MAX_KEY);
    return this.#run.writeGuard('saving an attachment', async () => {
      try {
        await this.#run.writer
          .insertInto('attachments')
          .values({
            id: a.id,
            channel_id: a.channelId,
            uploader_id: a.uploaderId,
            name: a.name,
            type: a.type,
            size: a.size,
            width: a.width,
            height: a.height,
            file_key: a.fileKey,
            thumbnail_key: a.thumbnailKey,
            created_at: a.createdAt,
            message_id: null,
          })
          .execute();
      } catch (error) {
        if (classifyDatabaseError(error) === 'unique_violation')
          throw new ParleyError('conflict', `attachment ${a.id} exists`, { cause: error });
        throw error;
      }
    });
  }

  getAttachments(ids: readonly string[]): Promise<readonly StoredAttachment[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.#run.guard('reading attachments', async () => {
      const found: StoredAttachment[] = [];
      for (let start = 0; start < ids.length; start += LOOKUP_CHUNK) {
        const rows = await this.#run.db
          .selectFrom('attachments')
          .selectAll()
          .where('id', 'in', ids.slice(start, start + LOOKUP_CHUNK))
          .execute();
        for (const row of rows) found.push(toAttachment(row));
      }
      return found;
    });
  }

  uploadsSince(userId: string, since: number): Promise<{ readonly count: number; readonly bytes: number }> {
    return this.#run.guard('counting uploads', async () => {
      const row = await this.#run.db
        .selectFrom('attachments')
        .select((eb) => [
          eb.fn.countAll<number | string>().as('count'),
          eb.fn.sum<number | string | null>('size').as('bytes'),
        ])
        .where('uploader_id', '=', userId)
        .where('created_at', '>=', since)
        .executeTakeFirst();
      return { count: toInt(row?.count ?? 0), bytes: toInt(row?.bytes ?? 0) };
    });
  }

  userAttachments(
    userId: string,
    after: string | undefined,
    limit: number,
  ): Promise<readonly StoredAttachment[]> {
    return this.#run.guard("reading a user's attachments", async () => {
      let q = this.#run.db.selectFrom('attachments').selectAll().where('uploader_id', '=', userId);
      if (after !== undefined) q = q.where('id', '>', after);
      const rows = await q.orderBy('id').limit(limit).execute();
      return rows.map(toAttachment);
    });
  }

  staleAttachments(query: {
    readonly unattachedBefore: number;
    readonly limit: number;
  }): Promise<readonly StoredAttachment[]> {
    return this.#run.guard('finding stale attachments', async () => {
      const rows = await this.#run.db
        .selectFrom('attachments as a')
        .selectAll('a')
        .where((eb) =>
          eb.or([
            eb.and([eb('a.message_id', 'is', null), eb('a.created_at', '<', query.unattachedBefore)]),
            eb.and([
              eb('a.message_id', 'is not', null),
              eb.not(
                eb.exists(
                  eb
                    .selectFrom('messages as m')
                    .select('m.id')
                    .whereRef('m.id', '=', 'a.message_id')
                    .where('m.deleted_at', 'is', null),
                ),
              ),
            ]),
          ]),
        )
        .orderBy('a.created_at')
        .orderBy('a.id')
        .limit(query.limit)
        .execute();
      return rows.map(toAttachment);
    });
  }

  deleteAttachments(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return this.#run.writeGuard('deleting attachments', async () => {
      for (let start = 0; start < ids.length; start += LOOKUP_CHUNK) {
        await this.#run.writer
          .deleteFrom('attachments')
          .where('id', 'in', ids.slice(start, start + LOOKUP_CHUNK))
          .execute();
      }
    });
  }
}

function toAttachment(row: Selectable<AttachmentsTable>): StoredAttachment {
  return {
    id: row.id,
    channelId: row.channel_id,
    uploaderId: row.uploader_id,
    name: row.name,
    type: row.type,
    size: toInt(row.size),
    width: row.width === null ? null : Number(row.width),
    height: row.height === null ? null : Number(row.height),
    fileKey: row.file_key,
    thumbnailKey: row.thumbnail_key,
    createdAt: toInt(row.created_at),
    messageId: row.message_id,
  };
}
