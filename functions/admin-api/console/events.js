// The event log: what was published, newest first, filtered by type, time
// and correlation id, with a search that goes straight to one event by its
// id. The filters live in the address (`#/events?type=bill.*`), so a list
// can be linked to and the back button returns to it.

import { all, get } from './api.js';
import {
  field, fill, fromLocalInput, h, localInput, message, pageHeading, statusLine, table, when,
} from './dom.js';

const EVENT_ID = /^evt_[A-Za-z0-9]+$/;
const FILTERS = ['type', 'since', 'until', 'correlation_id'];

/** The filters in the page's address. */
function filtersInAddress() {
  const found = new URLSearchParams(location.hash.split('?')[1] ?? '');
  return Object.fromEntries(FILTERS.map((name) => [name, found.get(name) ?? '']));
}

/** `#/events?…` for these filters (empty ones left out). */
export function eventsAddress(filters) {
  const q = new URLSearchParams();
  for (const name of FILTERS) if (filters[name]) q.set(name, filters[name]);
  const text = q.toString();
  return text ? `#/events?${text}` : '#/events';
}

/** A datetime-local value for an RFC 3339 time from the address; empty when there is none or it is not a time. */
function asLocal(iso) {
  const date = new Date(iso);
  return iso && !Number.isNaN(date.getTime()) ? localInput(date) : '';
}

function bytes(n) {
  return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`;
}

function eventRow(e) {
  return h('tr', { 'data-event': e.id },
    h('td', {}, h('a', { href: `#/events/${e.id}`, class: 'mono', 'aria-label': `Event ${e.id}` }, e.id),
      e.only_endpoint ? h('p', { class: 'muted small-text' }, `test event for ${e.only_endpoint}`) : null),
    h('td', {}, h('code', {}, e.type)),
    h('td', {}, when(e.created_at)),
    h('td', {}, h('a', { href: eventsAddress({ correlation_id: e.correlation_id }), class: 'mono small-text',
      title: 'Every event with this correlation id' }, e.correlation_id)),
    h('td', { class: 'num' }, bytes(e.data_bytes)));
}

export async function eventsPage(view) {
  const start = filtersInAddress();
  const catalog = h('datalist', { id: 'event-type-names' });
  const type = h('input', {
    type: 'text', name: 'type', value: start.type, list: 'event-type-names', placeholder: 'bill.paid or bill.*', autocomplete: 'off',
  });
  const since = h('input', { type: 'datetime-local', name: 'since', value: asLocal(start.since) });
  const until = h('input', { type: 'datetime-local', name: 'until', value: asLocal(start.until) });
  const correlation = h('input', { type: 'text', name: 'correlation_id', value: start.correlation_id, autocomplete: 'off' });
  const filters = h('form', { class: 'filters', 'aria-label': 'Filter events' },
    field('Type', type), field('Created since', since), field('Created before', until), field('Correlation id', correlation),
    h('button', { type: 'submit' }, 'Apply'),
    h('button', {
      type: 'button',
      onclick: () => {
        for (const input of [type, since, until, correlation]) input.value = '';
        apply();
      },
    }, 'Clear'));

  const wanted = h('input', { type: 'search', name: 'find', class: 'wide', autocomplete: 'off', spellcheck: 'false' });
  const findStatus = statusLine();
  const find = h('form', { class: 'filters find', role: 'search', 'aria-label': 'Find an event' },
    field('Event id or correlation id', wanted, 'An evt_… id opens that event; anything else lists the events carrying it.'),
    h('button', { type: 'submit', class: 'primary' }, 'Find'), findStatus);

  const list = h('div', { class: 'card' }, h('p', { class: 'muted' }, 'Loading events…'));
  const more = h('div', { class: 'actions' });
  let cursor = null;
  let body = null;

  const current = () => ({
    type: type.value.trim(),
    since: fromLocalInput(since.value),
    until: fromLocalInput(until.value),
    correlation_id: correlation.value.trim(),
  });

  async function load(append) {
    const page = await get('v1/events', { ...current(), limit: 50, cursor: append ? cursor : undefined });
    const rows = page.data.map(eventRow);
    if (!append || !body) {
      if (!rows.length) {
        body = null;
        fill(list, h('p', {}, 'No events match.'));
      } else {
        const t = table('Events, newest first', ['Event', 'Type', 'Created', 'Correlation id', 'Size'], rows);
        body = t.tBodies[0];
        fill(list, t);
      }
    } else {
      body.append(...rows);
    }
    cursor = page.next_cursor;
    fill(more, cursor ? h('button', { type: 'button', onclick: () => load(true).catch(showFailure) }, 'Load more') : null);
  }
  const showFailure = (err) => fill(list, h('p', { class: 'notice bad', role: 'alert' }, message(err)));

  // Applying keeps the filters in the address without a new render (no hashchange).
  const apply = () => {
    history.replaceState(null, '', eventsAddress(current()));
    return load(false).catch(showFailure);
  };
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  find.addEventListener('submit', (e) => {
    e.preventDefault();
    fill(findStatus);
    const text = wanted.value.trim();
    if (!text) {
      fill(findStatus, 'Type an event id or a correlation id first.');
      return;
    }
    if (EVENT_ID.test(text)) {
      location.hash = `#/events/${text}`;
      return;
    }
    type.value = '';
    since.value = '';
    until.value = '';
    correlation.value = text;
    apply();
  });

  fill(view,
    h('div', { class: 'page-head' }, pageHeading('Events')),
    h('p', { class: 'muted' }, 'Every event published, newest first. Open one to see where it went.'),
    find,
    h('div', { class: 'toolbar' }, filters),
    catalog,
    list, more);
  all('v1/event-types').then((types) => fill(catalog, types.map((t) => h('option', { value: t.name }))), () => {});
  await load(false);
}
