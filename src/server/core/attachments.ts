import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { Attachment } from '../../protocol/frames.js';
import type { AttachmentConfig } from '../config-attachments.js';
import type { CheckedUpload } from '../files/checked-upload.js';
import type { FileStore, StoredFile } from '../files/file-store.js';
import type { Store, StoredAttachment } from '../store/store.js';
import type { Access } from './access.js';
import type { Actor } from './actor.js';
import { canPost, canRead } from './permissions.js';

/** A file to send as a download. */
export interface AttachmentDownload {
  readonly file: StoredFile;
  readonly name: string;
  readonly type: string;
}

/** A channel's download ticket: what makes an attachment URL work in an `<img>` tag. */
export interface DownloadTicket {
  readonly ticket: string;
  /** When it stops working, ms since the epoch. */
  readonly expires_at: number;
}

interface AttachmentsDeps {
  readonly store: Store;
  readonly files: FileStore;
  readonly access: Access;
  readonly config: AttachmentConfig;
  /** The key download tickets are signed with (derived from the node's secret). */
  readonly ticketKey: Uint8Array;
  readonly now?: () => number;
}

/** The API path of an attachment's file (`thumbnail`: of its preview). */
export function attachmentPath(id: string, thumbnail = false): string {
  return `/api/attachments/${id}${thumbnail ? '/thumbnail' : ''}`;
}

/**
 * Attachments (issue 16): who may upload where (those who may post there, within their
 * quota), storing a checked upload, which files a message may carry (the sender's own uploads
 * to that channel, not attached yet), and who may download (those who may read the channel:
 * with their token, or with the channel's short-lived download ticket in the URL).
 */
export class Attachments {
  readonly #d: AttachmentsDeps;
  readonly #now: () => number;

  constructor(deps: AttachmentsDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** The settings (limits, types) uploads are checked against. */
  get config(): AttachmentConfig {
    return this.#d.config;
  }

  /**
   * Throws unless the actor may upload to the channel now: may post there (a public channel is
   * joined on use), and is within the hourly count and the daily bytes of their quota.
   */
  async mayUpload(actor: Actor, channelId: string): Promise<void> {
    const { access, store, config } = this.#d;
    const { channel, role } = await access.check(actor, channelId);
    if (actor.system !== true) {
      const joined = await access.joinIfPublic(channel, actor.user.id, role);
      if (!canPost(channel.kind, joined))
        throw new ParleyError('forbidden', `you may not post in "${channelId}"`);
    }
    if (channel.archived) throw new ParleyError('forbidden', `"${channelId}" is archived`);
    const now = this.#now();
    const hour = await store.uploadsSince(actor.user.id, now - 3_600_000);
    if (hour.count >= config.uploadsPerHour) {
      throw new ParleyError('rate_limited', `at most ${config.uploadsPerHour} uploads per hour`, {
        details: { retry_after_ms: 60_000 },
      });
    }
    const day = await store.uploadsSince(actor.user.id, now - 86_400_000);
    if (day.bytes >= config.bytesPerDay) {
      throw new ParleyError('rate_limited', `at most ${config.bytesPerDay} bytes of uploads per day`, {
        details: { retry_after_ms: 3_600_000 },
      });
    }
  }

  /** Stores a checked upload and records it (not attached yet); returns its record. */
  async save(actor: Actor, channelId: string, upload: CheckedUpload): Promise<Attachment> {
    const { files, store } = this.#d;
    const id = randomUUID();
    const fileKey = `${id.slice(0, 2)}/${id}`;
    const thumbnailKey = upload.thumbnail === undefined ? null : `${fileKey}.thumb`;
    await files.put(fileKey, createReadStream(upload.path), upload.size, upload.type);
    if (upload.thumbnail !== undefined && thumbnailKey !== null)
      await files.put(
        thumbnailKey,
        createReadStream(upload.thumbnail.path),
        upload.thumbnail.size,
        upload.thumbnail.type,
      );
    const row: StoredAttachment = {
      id,
      channelId,
      uploaderId: actor.user.id,
      name: upload.name,
      type: upload.type,
      size: upload.size,
      width: upload.width ?? null,
      height: upload.height ?? null,
      fileKey,
      thumbnailKey,
      createdAt: this.#now(),
      messageId: null,
    };
    try {
      await store.createAttachment(row);
    } catch (error) {
      await files.delete(fileKey).catch(() => undefined);
      if (thumbnailKey !== null) await files.delete(thumbnailKey).catch(() => undefined);
      throw error;
    }
    return attachmentRecord(row);
  }

  /**
   * The records of the files a message by `actor` in `channelId` may carry: each id must name
   * an upload of theirs to that channel that no message carries yet (a retried publish with
   * the same client id is let through: the Store answers it with the stored message). A
   * system actor may attach anyone's upload to that channel.
   */
  async forPost(
    actor: Actor,
    channelId: string,
    ids: readonly string[],
    clientMsgId: string | null,
  ): Promise<readonly Attachment[]> {
    if (ids.length === 0) return [];
    const { store, config } = this.#d;
    if (ids.length > config.perMessage)
      throw new ParleyError('bad_request', `a message carries at most ${config.perMessage} attachments`);
    if (new Set(ids).size !== ids.length)
      throw new ParleyError('bad_request', 'an attachment is listed twice');
    const rows = new Map((await store.getAttachments(ids)).map((r) => [r.id, r]));
    const records: Attachment[] = [];
    for (const id of ids) {
      const row = rows.get(id);
      if (
        row === undefined ||
        row.channelId !== channelId ||
        (actor.system !== true && row.uploaderId !== actor.user.id)
      )
        throw new ParleyError(
          'bad_attachment',
          `attachment ${id.slice(0, 40)} is not one of your uploads to "${channelId}"`,
        );
      if (row.messageId !== null) {
        const attachedTo = await store.getMessage(channelId, row.messageId);
        const retry =
          clientMsgId !== null &&
          attachedTo?.client_msg_id === clientMsgId &&
          attachedTo.user_id === actor.user.id;
        if (!retry)
          throw new ParleyError('bad_attachment', `attachment ${id} is attached to another message`);
      }
      records.push(attachmentRecord(row));
    }
    return records;
  }

  /** A ticket that lets the user's `<img>` tags load the channel's attachments for a while. */
  async ticket(actor: Actor, channelId: string): Promise<DownloadTicket> {
    await this.#d.access.check(actor, channelId);
    const expires = this.#now() + this.#d.config.ticketTtlMs;
    const body = `${Math.ceil(expires / 1000).toString(36)}.${Buffer.from(actor.user.id).toString('base64url')}`;
    return { ticket: `${body}.${this.#sign(channelId, body)}`, expires_at: Math.ceil(expires / 1000) * 1000 };
  }

  /**
   * The file (or its thumbnail) for a download by `actor`, or by the holder of a valid ticket
   * (`actor` undefined). The reader must be allowed to read the channel now, and the file must
   * belong to a message that is not deleted (or be the reader's own upload, not sent yet).
   * Anything else is `not_found`, so ids cannot be probed.
   */
  async download(
    id: string,
    who: { readonly actor: Actor } | { readonly ticket: string },
    thumbnail: boolean,
  ): Promise<AttachmentDownload> {
    const { store, files, access } = this.#d;
    const gone = () => new ParleyError('not_found', 'no such attachment');
    const [row] = await store.getAttachments([id]);
    if (row === undefined) throw gone();
    const actor = 'actor' in who ? who.actor : this.#ticketActor(who.ticket, row.channelId);
    if (actor === undefined)
      throw new ParleyError('not_authenticated', 'the download ticket is not valid (or has expired)');
    if (actor.system !== true) {
      const channel = await access.channel(row.channelId);
      const role = await access.role(row.channelId, actor.user.id);
      if (channel === undefined || !canRead(channel.kind, role)) throw gone();
    }
    if (row.messageId === null) {
      if (row.uploaderId !== actor.user.id && actor.system !== true) throw gone();
    } else {
      const message = await store.getMessage(row.channelId, row.messageId);
      if (message === undefined || message.deleted === true) throw gone();
    }
    const key = thumbnail ? row.thumbnailKey : row.fileKey;
    if (key === null) throw gone();
    const file = await files.get(key);
    if (file === undefined) throw gone();
    return { file, name: row.name, type: thumbnail ? 'image/webp' : row.type };
  }

  #ticketActor(ticket: string, channelId: string): Actor | undefined {
    const [exp, user, sig] = ticket.split('.');
    if (exp === undefined || user === undefined || sig === undefined) return undefined;
    const expected = Buffer.from(this.#sign(channelId, `${exp}.${user}`));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    if (Number.parseInt(exp, 36) * 1000 < this.#now()) return undefined;
    return { user: { id: Buffer.from(user, 'base64url').toString(), username: '' } };
  }

  #sign(channelId: string, body: string): string {
    return createHmac('sha256', this.#d.ticketKey).update(`${channelId}\n${body}`).digest('base64url');
  }
}

/** The wire record of a stored attachment. */
export function attachmentRecord(row: StoredAttachment): Attachment {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    size: row.size,
    ...(row.width === null ? {} : { width: row.width }),
    ...(row.height === null ? {} : { height: row.height }),
    url: attachmentPath(row.id),
    ...(row.thumbnailKey === null ? {} : { thumbnail_url: attachmentPath(row.id, true) }),
  };
}
