// The Store's share of attachments (issue 16): the rows that say which files exist, who
// uploaded them to which channel, and which message each one belongs to.

/** An uploaded file as the Store keeps it. */
export interface StoredAttachment {
  readonly id: string;
  readonly channelId: string;
  readonly uploaderId: string;
  readonly name: string;
  /** The sniffed media type. */
  readonly type: string;
  readonly size: number;
  readonly width: number | null;
  readonly height: number | null;
  /** Where the file's bytes are in the file store. */
  readonly fileKey: string;
  /** Where its thumbnail is (images only). */
  readonly thumbnailKey: string | null;
  readonly createdAt: number;
  /** The message it is attached to, or null until it is. */
  readonly messageId: string | null;
}

/** An upload to record (not attached yet). */
export type NewAttachment = Omit<StoredAttachment, 'messageId'>;

/**
 * The attachment rows of a `Store`. An attachment is attached by `Store.append` (a
 * `NewMessage.attachments` record sets its row's `message_id` in the append's transaction, only
 * while it is still NULL). Errors as the `Store`'s.
 */
export interface AttachmentStore {
  /** Records an upload. Throws `conflict` when the id is taken. */
  createAttachment(attachment: NewAttachment): Promise<void>;
  /** The rows of those ids that exist, in no particular order. */
  getAttachments(ids: readonly string[]): Promise<readonly StoredAttachment[]>;
  /** How many files the user uploaded at `since` or later, and their bytes (for quotas). */
  uploadsSince(userId: string, since: number): Promise<{ readonly count: number; readonly bytes: number }>;
  /**
   * Up to `limit` attachments whose files may go: attached to a message that is gone or
   * deleted, or never attached and created before `unattachedBefore`. Oldest first.
   */
  staleAttachments(query: {
    readonly unattachedBefore: number;
    readonly limit: number;
  }): Promise<readonly StoredAttachment[]>;
  /**
   * Up to `limit` of the files `userId` uploaded, by id, after the id `after` (paging a user's
   * export).
   */
  userAttachments(
    userId: string,
    after: string | undefined,
    limit: number,
  ): Promise<readonly StoredAttachment[]>;
  /** Forgets these attachment rows (their files are the caller's to remove first). */
  deleteAttachments(ids: readonly string[]): Promise<void>;
}
