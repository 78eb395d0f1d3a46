/** The chat page's entry: reads how it was opened, links to a framing site, renders the app. */
import { render } from 'preact';
import { App } from './app.js';
import { HostLink } from './host-link.js';
import './styles.css';

const params = new URLSearchParams(location.search);
const host = HostLink.fromLocation(new URLSearchParams(location.hash.slice(1)));
const embed = location.pathname.endsWith('/embed') || host !== undefined;
const theme = params.get('theme');
if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
if (embed) document.documentElement.classList.add('embed');

// In the widget's panel: whether the panel is open. A closed panel still counts as a visible
// document in here, so the host page says so.
let shownByHost = true;
host?.on((m) => {
  if (m.type !== 'parley:visible') return;
  shownByHost = m.visible;
  if (shownByHost) window.dispatchEvent(new Event('focus'));
});

const root = document.getElementById('app');
if (root !== null) {
  root.textContent = '';
  render(
    <App
      mode={{
        base: new URL('./', location.href),
        embed,
        host,
        channel: params.get('channel') ?? undefined,
        shownByHost: () => shownByHost,
      }}
    />,
    root,
  );
}
