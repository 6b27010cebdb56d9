// The console's shell: asks for an API key once per tab, then routes
// `#/…` addresses to pages. Pages render into <main> and fetch their own data.

import { apiKey, call, forgetKey, rememberKey, whenUnauthorized } from './api.js';
import { clearErrors, field, fill, h, pageHeading, showError } from './dom.js';
import { overviewPage } from './overview.js';
import { endpointsPage } from './endpoints.js';
import { historyPage } from './deliveries.js';
import { inboundPage, sourcesPage } from './sources.js';
import { eventsPage } from './events.js';
import { eventPage } from './event.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const forgetButton = document.getElementById('forget-key');

const routes = [
  [/^#\/overview$/, 'overview', overviewPage],
  // The list's filters ride in the address: `#/events?type=bill.*`.
  [/^#\/events(?:\?.*)?$/, 'events', eventsPage],
  [/^#\/events\/(evt_[A-Za-z0-9]+)$/, 'events', eventPage],
  [/^#\/endpoints$/, 'endpoints', endpointsPage],
  [/^#\/endpoints\/(ep_[A-Za-z0-9_-]+)$/, 'endpoints', historyPage],
  [/^#\/sources$/, 'sources', sourcesPage],
  [/^#\/sources\/([a-z0-9-]+)$/, 'sources', inboundPage],
];

function signIn(notice) {
  nav.hidden = true;
  forgetButton.hidden = true;
  const input = h('input', {
    type: 'password', name: 'key', autocomplete: 'off', spellcheck: 'false', required: true, class: 'wide',
  });
  const form = h('form', { class: 'card narrow', novalidate: true },
    h('p', {}, 'Paste an API key to manage this tenant\'s webhooks. It is kept in this browser tab only and forgotten when the tab closes.'),
    notice ? h('p', { class: 'notice bad', role: 'alert' }, notice) : null,
    field('API key', input),
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Open the console')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const key = input.value.trim();
    if (!key) {
      showError(form, { detail: 'paste the API key first' }, () => 'key');
      return;
    }
    try {
      await call('GET', 'v1/endpoints', { query: { limit: 1 }, key });
    } catch (err) {
      const refused = err.status === 401 ? { detail: 'this key was not accepted: check that it is complete and not revoked' } : err;
      showError(form, refused, () => 'key');
      return;
    }
    rememberKey(key);
    // A new hash renders through hashchange; the same one needs a nudge.
    if (location.hash.startsWith('#/')) render();
    else location.hash = '#/overview';
  });
  fill(main, pageHeading('Hookline console'), form);
  input.focus();
}

whenUnauthorized(() => {
  forgetKey();
  signIn('The API no longer accepts the stored key (it may have been revoked). Paste a valid key.');
});

forgetButton.addEventListener('click', () => {
  forgetKey();
  signIn();
});

let generation = 0;

async function render() {
  if (!apiKey()) {
    signIn();
    return;
  }
  nav.hidden = false;
  forgetButton.hidden = false;
  const hash = location.hash || '#/overview';
  const found = routes.map(([re, section, page]) => [re.exec(hash), section, page]).find(([m]) => m);
  if (!found) {
    location.replace('#/overview');
    return;
  }
  const [match, section, page] = found;
  for (const link of nav.querySelectorAll('a')) {
    if (link.dataset.section === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  generation += 1;
  const mine = generation;
  const view = h('div', { class: 'page' });
  fill(main, view);
  // Lets a page's timers stop once another page has replaced it.
  const alive = () => mine === generation && view.isConnected;
  try {
    await page(view, { alive, params: match.slice(1).map(decodeURIComponent) });
  } catch (err) {
    if (alive()) view.append(h('p', { class: 'notice bad', role: 'alert' }, String(err.detail ?? err.message ?? err)));
  }
  if (alive()) view.querySelector('h1')?.focus({ preventScroll: true });
}

window.addEventListener('hashchange', () => {
  // In-page anchors such as the skip link are not routes.
  if (location.hash.startsWith('#/')) render();
});
render();
