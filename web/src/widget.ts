import { unreadBeforeOpen } from './widget-unread.js';

/**
 * Parley's widget loader for host sites: one script tag adds a chat button and a panel with
 * Parley's page in a frame (`/embed`), signed in with the token the site signed.
 *
 *   <script src="https://chat.example.com/widget.js" data-token="JWT" data-channel="general" async></script>
 *
 * Attributes: data-token (required unless data-token-url), data-token-url (a URL of the host
 * site answering a fresh token as text or `{ "token": "…" }`, fetched with the visitor's
 * cookies when the token is about to expire), data-channel (open only this channel; without it
 * the full page), data-title, data-position (`right` or `left`), data-theme (`light`/`dark`),
 * data-open (`true`: open at once). `window.Parley` then has `open()`, `close()`, `toggle()`
 * and `setToken(token)`. Everything lives in a shadow root, so the site's styles do not touch it.
 */

interface ParleyWidget {
  open(): void;
  close(): void;
  toggle(): void;
  setToken(token: string): void;
}

declare global {
  interface Window {
    Parley?: ParleyWidget;
  }
}

const script = document.currentScript as HTMLScriptElement | null;
// header.payload.signature, base64url: what a JWT looks like (checked by the server anyway).
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

if (script !== null && window.Parley === undefined) {
  const data = script.dataset;
  const base = new URL('./', script.src);
  const origin = base.origin;
  let token = data.token ?? '';
  const position = data.position === 'left' ? 'left' : 'right';

  const host = document.createElement('div');
  host.setAttribute('data-parley-widget', '');
  const root = host.attachShadow({ mode: 'open' });
  const css = `
    :host { all: initial; }
    .launcher { position: fixed; bottom: 20px; ${position}: 20px; z-index: 2147483000; border: 0; border-radius: 28px;
      padding: 14px 20px; font: 600 15px/1 system-ui, sans-serif; color: #fff; background: #3b5bdb; cursor: pointer;
      box-shadow: 0 4px 16px rgba(0,0,0,.25); }
    .launcher:focus-visible { outline: 3px solid #91a7ff; outline-offset: 2px; }
    .badge { display: inline-block; min-width: 18px; margin-left: 8px; padding: 2px 6px; border-radius: 9px;
      background: #e03131; font-size: 12px; }
    .badge[hidden] { display: none; }
    .panel { position: fixed; bottom: 84px; ${position}: 20px; z-index: 2147483000; width: min(400px, calc(100vw - 40px));
      height: min(620px, calc(100vh - 110px)); border-radius: 12px; overflow: hidden; background: #fff;
      box-shadow: 0 8px 32px rgba(0,0,0,.3); }
    .panel[hidden] { display: none; }
    iframe { width: 100%; height: 100%; border: 0; }
    @media (max-width: 480px) { .panel { inset: 0; width: 100vw; height: 100vh; border-radius: 0; bottom: 0; } }
  `;
  const launcher = document.createElement('button');
  launcher.type = 'button';
  launcher.className = 'launcher';
  launcher.setAttribute('aria-expanded', 'false');
  launcher.textContent = data.title ?? 'Chat';
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.hidden = true;
  launcher.append(badge);
  const panel = document.createElement('div');
  panel.className = 'panel';
  panel.hidden = true;
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', data.title ?? 'Chat');
  // A constructed stylesheet is not an inline <style>, so a host page whose CSP forbids inline
  // styles still shows the widget; older browsers get the <style>.
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet.prototype.replaceSync === 'function') {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement('style');
    style.textContent = css;
    root.append(style);
  }
  root.append(launcher, panel);

  let frame: HTMLIFrameElement | undefined;
  // Until the frame's page has loaded, its window is a blank document of this page's origin:
  // a message to Parley's origin then only makes the browser log a warning.
  let frameLoaded = false;
  let tokenInFrameUrl = '';
  const frameUrl = () => {
    const url = new URL('embed', base);
    if (data.channel) url.searchParams.set('channel', data.channel);
    if (data.theme === 'light' || data.theme === 'dark') url.searchParams.set('theme', data.theme);
    // In the fragment: never sent to a server, never in a Referer or an access log. `host`
    // tells the page where to send its messages; `widget` that it sits in a panel.
    url.hash = new URLSearchParams({ token, host: location.origin, widget: '1' }).toString();
    tokenInFrameUrl = token;
    return url.href;
  };
  // A closed panel still counts as a visible document inside: say so, for unread counts.
  const tellVisible = () => {
    if (frameLoaded)
      frame?.contentWindow?.postMessage({ type: 'parley:visible', visible: !panel.hidden }, origin);
  };
  const sendToken = () => {
    if (frameLoaded) frame?.contentWindow?.postMessage({ type: 'parley:token', token }, origin);
  };
  const showBadge = (count: number) => {
    badge.hidden = count === 0 || !panel.hidden;
    badge.textContent = count > 99 ? '99+' : String(count);
  };

  const fetchToken = async () => {
    if (!data.tokenUrl) return;
    try {
      // A signed-out visitor is often redirected to a login page: that is no token.
      const res = await fetch(data.tokenUrl, { credentials: 'include', redirect: 'error' });
      if (!res.ok) return;
      const body = (await res.text()).trim();
      const fresh = body.startsWith('{') ? (JSON.parse(body) as { token?: unknown }).token : body;
      if (typeof fresh === 'string' && JWT_SHAPE.test(fresh)) {
        token = fresh;
        sendToken();
      }
    } catch {
      // The page shows that it is signed out; the next request tries again.
    }
  };

  window.addEventListener('message', (event) => {
    if (frame === undefined || event.source !== frame.contentWindow || event.origin !== origin) return;
    const msg = event.data as { type?: unknown; count?: unknown } | null;
    if (msg?.type === 'parley:token-request') void fetchToken();
    else if (msg?.type === 'parley:close') close();
    else if (msg?.type === 'parley:unread' && typeof msg.count === 'number') showBadge(msg.count);
  });

  // The frame is made once, even when a second click comes while the first fetches a token.
  let framing: Promise<void> | undefined;
  const makeFrame = async () => {
    if (token === '' && data.tokenUrl) await fetchToken();
    frame = document.createElement('iframe');
    frame.title = data.title ?? 'Chat';
    frame.src = frameUrl();
    frame.allow = 'clipboard-write';
    frame.addEventListener('load', () => {
      frameLoaded = true;
      tellVisible();
      // A token that came while the page loaded was not in its address.
      if (token !== tokenInFrameUrl) sendToken();
    });
    panel.append(frame);
  };
  const open = async () => {
    framing ??= makeFrame();
    await framing;
    panel.hidden = false;
    badge.hidden = true;
    launcher.setAttribute('aria-expanded', 'true');
    tellVisible();
  };
  const close = () => {
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.focus();
    tellVisible();
  };
  launcher.addEventListener('click', () => (panel.hidden ? void open() : close()));
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') close();
  });

  window.Parley = {
    open: () => void open(),
    close,
    toggle: () => (panel.hidden ? void open() : close()),
    setToken: (t: string) => {
      token = t;
      sendToken();
    },
  };

  // Before the panel is first opened, the count comes from the API (once at load, and again
  // when the visitor comes back to the tab); then the frame tells it.
  const countUnread = async () => {
    if (frame !== undefined) return;
    if (token === '' && data.tokenUrl) await fetchToken();
    let count = await unreadBeforeOpen(base, token, data.channel);
    if (count === 'refused' && data.tokenUrl && frame === undefined) {
      // The token signed into the page may have expired already: ask the site once.
      await fetchToken();
      count = await unreadBeforeOpen(base, token, data.channel);
    }
    if (typeof count === 'number' && frame === undefined) showBadge(count);
  };
  const mount = () => {
    document.body.append(host);
    if (data.open === 'true') void open();
    else void countUnread();
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') void countUnread();
    });
  };
  if (document.body === null) document.addEventListener('DOMContentLoaded', mount);
  else mount();
}
