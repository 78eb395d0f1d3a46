import { render } from 'preact';
import { App } from './app.js';
import './styles.css';

const params = new URLSearchParams(location.search);
const embed = location.pathname.endsWith('/embed');
const theme = params.get('theme');
if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
if (embed) document.documentElement.classList.add('embed');

const root = document.getElementById('app');
if (root !== null) {
  root.textContent = '';
  render(
    <App mode={{ base: new URL('./', location.href), embed, channel: params.get('channel') ?? undefined }} />,
    root,
  );
}
