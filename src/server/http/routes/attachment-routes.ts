import { ParleyError } from '../../../protocol/error-catalogue.js';
import type { Attachments } from '../../core/attachments.js';
import { checkUpload, removeChecked } from '../../files/check-upload.js';
import { readUpload } from '../read-upload.js';
import type { RequestAuth } from '../request-auth.js';
import { type Handler, ok, type Reply, type RequestContext } from '../request-context.js';
import type { Router } from '../router.js';

/** What the attachment routes need. */
export interface AttachmentRoutesDeps {
  readonly attachments: Attachments;
  readonly auth: RequestAuth;
}

// Raster images (re-encoded by Parley) are the only files a browser is let show inline.
const INLINE = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/**
 * Adds the attachment routes (docs/api.md, "Attachments"): upload (multipart, field `file`) by
 * those who may post in the channel, the channel's download ticket, and downloads by those who
 * may read it, with the bearer token, the server API key, or `?ticket=`.
 */
export function attachmentRoutes(router: Router<Handler>, { attachments, auth }: AttachmentRoutesDeps): void {
  router.add(
    'POST',
    '/api/channels/:id/attachments',
    auth.asUser(async (actor, ctx) => {
      const channel = ctx.param('id');
      await attachments.mayUpload(actor, channel);
      const { config } = attachments;
      const spooled = await readUpload(ctx.req, { maxBytes: config.maxBytes, spoolDir: config.spoolDir });
      try {
        const checked = await checkUpload(spooled, config);
        return ok({ attachment: await attachments.save(actor, channel, checked) }, 201);
      } finally {
        await removeChecked(spooled.path);
      }
    }),
  );
  router.add(
    'GET',
    '/api/channels/:id/attachments/ticket',
    auth.asUser(async (actor, ctx) => ok(await attachments.ticket(actor, ctx.param('id')))),
  );
  const download =
    (thumbnail: boolean): Handler =>
    async (ctx) => {
      const file = await attachments.download(ctx.param('id'), await who(auth, ctx), thumbnail);
      return fileReply(file.type, file.name, file.file.size, file.file.body);
    };
  router.add('GET', '/api/attachments/:id', download(false));
  router.add('GET', '/api/attachments/:id/thumbnail', download(true));
}

/** Who downloads: the bearer token's user, the app's backend (`X-Api-Key`), or a ticket's holder. */
async function who(
  auth: RequestAuth,
  ctx: RequestContext,
): Promise<{ readonly actor: import('../../core/actor.js').Actor } | { readonly ticket: string }> {
  if (ctx.req.headers.authorization !== undefined) return { actor: await auth.user(ctx) };
  if (ctx.req.headers['x-api-key'] !== undefined) {
    auth.requireApiKey(ctx);
    return { actor: { user: { id: 'system', username: 'System' }, system: true } };
  }
  const ticket = ctx.url.searchParams.get('ticket');
  if (ticket === null || ticket.length > 400)
    throw new ParleyError(
      'not_authenticated',
      'send "Authorization: Bearer <token>", or the channel\'s ?ticket=',
    );
  return { ticket };
}

function fileReply(type: string, name: string, size: number, body: import('node:stream').Readable): Reply {
  const inline = INLINE.has(type);
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return {
    status: 200,
    file: {
      body,
      size,
      headers: {
        // Anything but a raster image is a download, as a type no browser runs.
        'Content-Type': inline ? type : type === 'text/plain' ? 'text/plain; charset=utf-8' : type,
        'Content-Disposition': `${inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`,
        'Content-Security-Policy': "default-src 'none'; sandbox",
        'Cache-Control': 'private, max-age=300',
      },
    },
  };
}
