// One endpoint's page: its settings (endpoint-settings.js), then its delivery
// history: filters, one delivery with its attempts and the headers that signed
// them, a retry of one, and a retry of every failed delivery since a time.

import { get, post } from './api.js';
import {
  act, badge, dialog, field, fill, fromLocalInput, h, localInput, message, statusLine, table, when,
} from './dom.js';
import { endpointSummary } from './endpoint-settings.js';

// Statuses that change on their own soon; parked waits for a person.
const SETTLING = new Set(['pending', 'retrying']);
const RETRYABLE = new Set(['delivered', 'failed']);

function attemptsTable(attempts) {
  if (!attempts?.length) return h('p', { class: 'muted' }, 'No attempt has been made yet.');
  return table('Attempts', ['#', 'When', 'Duration', 'Answer', 'Outcome', 'Signed headers', 'Response (masked)'], attempts.map((a) =>
    h('tr', {},
      h('td', {}, a.attempt, a.manual ? h('span', { class: 'muted' }, ' (manual)') : null),
      h('td', {}, when(a.at)),
      h('td', { class: 'num' }, `${a.duration_ms} ms`),
      h('td', {}, a.status_code ? `HTTP ${a.status_code}` : (a.error_kind ?? '–')),
      h('td', {}, a.outcome.replaceAll('_', ' ')),
      h('td', { class: 'signed' }, a.signed_headers?.length ? a.signed_headers.map((name) => h('code', { class: 'tag' }, name)) : '–'),
      h('td', {}, a.response_body ? h('pre', { class: 'body' }, a.response_body) : h('span', { class: 'muted' }, 'empty')))));
}

/** A delivery's detail: its attempts, their answers and signed headers, and a retry. */
export async function openDelivery(id, onRetried) {
  const d = await get(`v1/deliveries/${id}`);
  await dialog(`Delivery ${d.id}`, () => {
    const said = statusLine();
    const retry = h('button', { type: 'button', class: 'primary', disabled: !RETRYABLE.has(d.status) }, 'Retry now');
    retry.addEventListener('click', () => act(retry, said, async () => {
      await post(`v1/deliveries/${d.id}/retry`);
      onRetried(d.id);
    }, () => 'Queued for one more attempt.'));
    return h('div', { class: 'detail' },
      h('dl', { class: 'facts' },
        h('dt', {}, 'Status'), h('dd', {}, badge(d.status)),
        h('dt', {}, 'Event'), h('dd', {}, h('code', {}, d.event_type), ' ',
          h('a', { href: `#/events/${d.event_id}`, class: 'mono', title: 'The event\'s page: every endpoint it went to' }, d.event_id)),
        h('dt', {}, 'Correlation id'), h('dd', {}, h('code', {}, d.correlation_id)),
        h('dt', {}, 'Created'), h('dd', {}, when(d.created_at)),
        d.next_attempt_at ? [h('dt', {}, 'Next attempt'), h('dd', {}, when(d.next_attempt_at))] : null),
      h('h3', {}, 'Attempts'),
      attemptsTable(d.attempt_log),
      h('h3', {}, 'Event data (masked)'),
      h('pre', { class: 'body' }, d.data ? JSON.stringify(d.data, null, 2) : 'The event has been pruned.'),
      h('div', { class: 'actions' }, retry, said));
  });
}

function cells(d) {
  return [
    h('td', {}, badge(d.status)),
    h('td', { class: 'num' }, d.attempts),
    h('td', {}, d.last_status_code ? `HTTP ${d.last_status_code}` : '–'),
  ];
}

export async function historyPage(view, { alive, params: [endpointId] }) {
  const endpoint = await get(`v1/endpoints/${endpointId}`);
  const status = h('select', { name: 'status' },
    ['', 'pending', 'retrying', 'delivered', 'failed', 'parked'].map((s) => h('option', { value: s }, s || 'Any status')));
  const since = h('input', { type: 'datetime-local', name: 'since' });
  const filters = h('form', { class: 'filters', 'aria-label': 'Filter deliveries' },
    field('Status', status), field('Created since', since),
    h('button', { type: 'submit' }, 'Apply'));
  const list = h('div', { class: 'card' });
  const more = h('div', { class: 'actions' });
  const rows = new Map();

  const retried = (id) => {
    const row = rows.get(id);
    row?.update({ ...row.last, status: 'pending' });
  };

  const renderRow = (d) => {
    const said = statusLine();
    const retry = h('button', { type: 'button', class: 'small', disabled: !RETRYABLE.has(d.status) }, 'Retry');
    retry.addEventListener('click', () => act(retry, said, async () => {
      await post(`v1/deliveries/${d.id}/retry`);
      retried(d.id);
    }, () => 'Queued.'));
    const open = h('button', { type: 'button', class: 'link', 'aria-label': `Open delivery ${d.id}` }, d.id);
    open.addEventListener('click', () => openDelivery(d.id, retried).catch((err) => fill(said, message(err))));
    const tr = h('tr', { 'data-delivery': d.id },
      h('td', {}, open), h('td', {}, h('code', {}, d.event_type)), h('td', {}, when(d.created_at)),
      cells(d), h('td', {}, h('div', { class: 'row-actions' }, retry, said)));
    const entry = { status: d.status, last: d };
    entry.update = (fresh) => {
      entry.status = fresh.status;
      entry.last = fresh;
      cells(fresh).forEach((td, i) => tr.children[3 + i].replaceWith(td));
      retry.disabled = !RETRYABLE.has(fresh.status);
    };
    rows.set(d.id, entry);
    return tr;
  };

  let cursor = null;
  let body = null;
  const query = (extra) => ({ status: status.value, since: fromLocalInput(since.value), ...extra });

  /** Adds rows for deliveries not shown yet, making the table when it is the first. */
  const show = (deliveries) => {
    const newRows = deliveries.filter((d) => !rows.has(d.id)).map(renderRow);
    if (!newRows.length) return;
    if (!body) {
      const t = table('Deliveries', ['Delivery', 'Event type', 'Created', 'Status', 'Attempts', 'Last answer', 'Actions'], newRows);
      body = t.tBodies[0];
      fill(list, t);
    } else {
      body.append(...newRows);
    }
  };

  const load = async (append) => {
    const page = await get(`v1/endpoints/${endpointId}/deliveries`, query({ limit: 50, cursor: append ? cursor : undefined }));
    if (!append) {
      rows.clear();
      body = null;
      fill(list, h('p', {}, 'No deliveries match (yet).'));
    }
    show(page.data);
    cursor = page.next_cursor;
    fill(more, cursor ? h('button', { type: 'button', onclick: () => load(true) }, 'Load more') : null);
    watch();
  };

  // The list keeps itself current in place (so focus and scroll stay where
  // they are): once every page is shown, new deliveries are appended and
  // every row is refreshed from one list call; otherwise only deliveries still
  // in flight are re-read.
  let watching = false;
  async function refresh() {
    if (!cursor) {
      const page = await get(`v1/endpoints/${endpointId}/deliveries`, query({ limit: 250 }));
      for (const d of page.data) rows.get(d.id)?.update(d);
      if (!page.next_cursor) show(page.data);
      return;
    }
    for (const [id, entry] of rows) {
      if (SETTLING.has(entry.status) && alive()) entry.update(await get(`v1/deliveries/${id}`));
    }
  }
  async function watch() {
    if (watching) return;
    watching = true;
    try {
      // About half an hour, then a click on Apply starts it again.
      for (let round = 0; round < 900 && alive(); round += 1) {
        await new Promise((resolve) => setTimeout(resolve, 2000));
        if (!alive()) return;
        if (document.hidden) continue;
        try {
          await refresh();
        } catch {
          // Tried again next round; Apply reports a lasting error.
        }
      }
    } finally {
      watching = false;
    }
  }

  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    load(false).catch((err) => fill(list, h('p', { class: 'notice bad', role: 'alert' }, message(err))));
  });

  const retrySince = h('input', { type: 'datetime-local', name: 'retry_since', value: localInput(new Date(Date.now() - 24 * 3600 * 1000)) });
  const retryAll = h('button', { type: 'submit' }, 'Retry all failed');
  const retryStatus = statusLine();
  const bulk = h('form', { class: 'filters', 'aria-label': 'Retry failed deliveries' },
    field('Retry all failed deliveries since', retrySince), retryAll, retryStatus);
  bulk.addEventListener('submit', (e) => {
    e.preventDefault();
    act(retryAll, retryStatus, async () => {
      const r = await post('v1/deliveries/retry', { status: 'failed', endpoint_id: endpointId, since: fromLocalInput(retrySince.value) });
      await load(false);
      return r;
    }, (r) => `Queued ${r.queued} ${r.queued === 1 ? 'delivery' : 'deliveries'}.`);
  });

  fill(view,
    h('p', { class: 'crumbs' }, h('a', { href: '#/endpoints' }, '← Outgoing webhooks')),
    endpointSummary(endpoint, (ep) => `Delivery history: ${ep.name}`),
    h('div', { class: 'toolbar' }, filters, bulk),
    list, more);
  await load(false);
}
