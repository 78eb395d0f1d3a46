/** The admin console's entry (/admin): renders the console against the server it was served by. */
import { render } from 'preact';
import { AdminApp } from './admin-app.js';
import './admin.css';

const root = document.getElementById('admin');
if (root !== null) {
  root.textContent = '';
  // The console lives at <server>/admin/: the API is one level up.
  render(<AdminApp base={new URL('../', location.href)} />, root);
}
