/**
 * The page's link to the site that frames it (widget.js, or a plain iframe): messages both
 * ways through postMessage, only with the framing window and, when its origin is known, only
 * with that origin. The origin comes from the widget (`#host=` in the fragment), checked
 * against `location.ancestorOrigins` where the browser has it, or from `ancestorOrigins` alone.
 * Who may frame the page at all is `PARLEY_FRAME_ANCESTORS` (CSP), enforced by the browser.
 */

/** Messages from the host page (widget.ts sends them). */
export type HostMessage =
  | { readonly type: 'parley:token'; readonly token: string }
  | { readonly type: 'parley:visible'; readonly visible: boolean };

/** Messages to the host page. */
export type PageMessage =
  | { readonly type: 'parley:token-request' }
  | { readonly type: 'parley:unread'; readonly count: number }
  | { readonly type: 'parley:close' };

const MAX_TOKEN = 8192;

/** The postMessage channel to the framing site; see the file comment. */
export class HostLink {
  /** The host page's origin, when known; messages go only there. */
  readonly origin: string | undefined;
  /** True when the host is widget.js (it shows the page in a panel it can close). */
  readonly isWidget: boolean;
  readonly #listeners = new Set<(m: HostMessage) => void>();
  readonly #onMessage = (event: MessageEvent) => {
    if (event.source !== window.parent) return;
    if (this.origin !== undefined && event.origin !== this.origin) return;
    const message = parse(event.data);
    if (message !== undefined) for (const l of this.#listeners) l(message);
  };

  private constructor(origin: string | undefined, isWidget: boolean) {
    this.origin = origin;
    this.isWidget = isWidget;
    window.addEventListener('message', this.#onMessage);
  }

  /** The link when the page is framed, else undefined. `params` are the fragment's. */
  static fromLocation(params: URLSearchParams): HostLink | undefined {
    if (window.parent === window) return undefined;
    const ancestor = location.ancestorOrigins?.[0];
    const claimed = params.get('host') ?? undefined;
    // A claim the browser contradicts is ignored; so is one that is not an origin.
    const origin =
      claimed !== undefined && isOrigin(claimed) && (ancestor === undefined || ancestor === claimed)
        ? claimed
        : ancestor;
    return new HostLink(origin, params.get('widget') === '1');
  }

  /** Sends a message to the host page (dropped when its origin is unknown). */
  post(message: PageMessage): void {
    if (this.origin !== undefined) window.parent.postMessage(message, this.origin);
  }

  /** Calls `listener` for each message from the host page; returns its disposer. */
  on(listener: (m: HostMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops listening. */
  dispose(): void {
    window.removeEventListener('message', this.#onMessage);
    this.#listeners.clear();
  }
}

function parse(data: unknown): HostMessage | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const m = data as Record<string, unknown>;
  if (
    m.type === 'parley:token' &&
    typeof m.token === 'string' &&
    m.token.length > 0 &&
    m.token.length <= MAX_TOKEN
  ) {
    return { type: 'parley:token', token: m.token };
  }
  if (m.type === 'parley:visible' && typeof m.visible === 'boolean')
    return { type: 'parley:visible', visible: m.visible };
  return undefined;
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}
