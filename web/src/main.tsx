/** The chat page's entry: reads how it was opened, listens to the host page, renders the app. */
import { render } from 'preact';
import { App } from './app.js';
import './styles.css';

const params = new URLSearchParams(location.search);
const embed = location.pathname.endsWith('/embed');
const theme = params.get('theme');
if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
if (embed) document.documentElement.classList.add('embed');

// In the widget's frame, whether its panel is open: the host page says so (widget.ts), since a
// closed panel still counts as a visible document in here.
let shownByHost = true;
window.addEventListener('message', (event) => {
  const data = event.data as { type?: unknown; visible?: unknown } | null;
  if (event.source === window.parent && window.parent !== window && data?.type === 'parley:visible') {
    shownByHost = data.visible === true;
    if (shownByHost) window.dispatchEvent(new Event('focus'));
  }
});

const root = document.getElementById('app');
if (root !== null) {
  root.textContent = '';
  render(
    <App
      mode={{
        base: new URL('./', location.href),
        embed,
        channel: params.get('channel') ?? undefined,
        shownByHost: () => shownByHost,
      }}
    />,
    root,
  );
}
