import type { Store } from '../store/store.js';
import type { ExportRecord, UserExportSection } from './exports.js';

/**
 * The `attachment` records of a user's export: every file they uploaded (attached or not), a
 * page of `pageRows` at a time, by id. The bytes are not in the export; `id` names the download
 * (`GET /api/attachments/:id`).
 */
export function attachmentExport(store: Store, pageRows: number): UserExportSection {
  return async function* (userId: string): AsyncIterable<ExportRecord> {
    let after: string | undefined;
    for (;;) {
      const page = await store.userAttachments(userId, after, pageRows);
      for (const a of page) {
        yield {
          type: 'attachment',
          attachment: {
            id: a.id,
            channel: a.channelId,
            name: a.name,
            type: a.type,
            size: a.size,
            width: a.width,
            height: a.height,
            created_at: a.createdAt,
            message_id: a.messageId,
          },
        };
      }
      const last = page.at(-1);
      if (page.length < pageRows || last === undefined) return;
      after = last.id;
    }
  };
}
