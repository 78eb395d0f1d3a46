import { ParleyError } from '../../protocol/error-catalogue.js';
import type { Store } from '../store/store.js';

/** One record of an export: a `type` and its fields (one NDJSON line; docs/api.md lists them). */
export type ExportRecord = { readonly type: string } & Readonly<Record<string, unknown>>;

/**
 * More records of a user's export, after the built-in ones and before `end`: the extension
 * point of parts with data of their own (attachments add `attachment` records this way).
 */
export type UserExportSection = (userId: string) => AsyncIterable<ExportRecord>;

/** What `Exports` runs on. */
export interface ExportsDeps {
  readonly store: Store;
  /** Rows read per page (`PARLEY_EXPORT_PAGE_ROWS`). */
  readonly pageRows: number;
  /** More records per user, after the built-in ones (the node adds the attachment list). */
  readonly userSections?: readonly UserExportSection[];
}

/**
 * Exports of a user's or a channel's data, for the app's backend (a subject access request, a
 * channel archive): records read a page at a time, never one big query, ending with
 * `{ type: "end", records }` so that a reader can tell a whole export from a cut one. The
 * lookup happens before the first record: an unknown user or channel is `not_found`.
 */
export class Exports {
  readonly #d: ExportsDeps;

  constructor(deps: ExportsDeps) {
    this.#d = deps;
  }

  /** The user's profile, memberships, read positions, messages, reactions, then the sections. */
  async user(userId: string): Promise<AsyncIterable<ExportRecord>> {
    const { store } = this.#d;
    const [user, status] = await Promise.all([store.getUser(userId), store.getUserStatus(userId)]);
    if (user === undefined) throw new ParleyError('not_found', 'no such user');
    const pageRows = this.#d.pageRows;
    const sections = this.#d.userSections ?? [];
    return counted(
      (async function* () {
        yield {
          type: 'user',
          user: {
            id: user.id,
            username: user.username,
            created_at: user.createdAt,
            banned: status?.banned ?? false,
            tokens_valid_after: status?.tokensValidAfter ?? 0,
          },
        };
        for (const c of await store.listChannelsFor(userId)) {
          if (c.role !== null) yield { type: 'membership', channel: c.id, kind: c.kind, role: c.role };
        }
        for (const [channel, seq] of await store.readPositions(userId)) {
          yield { type: 'read_position', channel, seq };
        }
        let after: string | undefined;
        for (;;) {
          const page = await store.userMessages(userId, after, pageRows);
          for (const message of page) yield { type: 'message', message };
          if (page.length < pageRows) break;
          after = page.at(-1)?.id;
        }
        let from: { readonly messageId: string; readonly emoji: string } | undefined;
        for (;;) {
          const page = await store.userReactions(userId, from, pageRows);
          for (const r of page) {
            yield {
              type: 'reaction',
              message_id: r.messageId,
              channel: r.channelId,
              emoji: r.emoji,
              created_at: r.createdAt,
            };
          }
          if (page.length < pageRows) break;
          const last = page.at(-1);
          from = last === undefined ? undefined : { messageId: last.messageId, emoji: last.emoji };
        }
        for (const section of sections) yield* section(userId);
      })(),
    );
  }

  /** The channel, its members, then its messages in seq order (with their reactions). */
  async channel(channelId: string): Promise<AsyncIterable<ExportRecord>> {
    const { store, pageRows } = this.#d;
    const channel = await store.getChannel(channelId);
    if (channel === undefined) throw new ParleyError('not_found', `no channel "${channelId}"`);
    return counted(
      (async function* () {
        yield {
          type: 'channel',
          channel: {
            id: channel.id,
            kind: channel.kind,
            title: channel.title,
            topic: channel.topic,
            archived: channel.archived,
            epoch: channel.epoch,
            last_seq: channel.lastSeq,
            created_by: channel.createdBy,
            created_at: channel.createdAt,
            retention_days: channel.retentionDays,
            pruned_seq: channel.prunedSeq,
          },
        };
        for (const m of await store.listMembers(channelId)) {
          yield {
            type: 'member',
            user_id: m.userId,
            username: m.username,
            role: m.role,
            joined_at: m.joinedAt,
          };
        }
        let after = 0;
        for (;;) {
          const page = await store.after(channelId, after, pageRows);
          for (const message of page) yield { type: 'message', message };
          if (page.length < pageRows) break;
          after = page.at(-1)?.seq ?? after;
        }
      })(),
    );
  }
}

/** `records`, then `{ type: "end", records: <how many came before> }`. */
async function* counted(records: AsyncIterable<ExportRecord>): AsyncIterable<ExportRecord> {
  let n = 0;
  for await (const record of records) {
    n++;
    yield record;
  }
  yield { type: 'end', records: n };
}
