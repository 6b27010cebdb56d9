// One event's page: did it reach everyone, and if not, why? Its deliveries,
// one per endpoint, each with its last answer and a link to that delivery's
// detail (attempts, answers, retry); the inbound webhook it came from; its
// data, masked. Kept current while a delivery is still under way.

import { all, get } from './api.js';
import { badge, fill, h, message, pageHeading, table, when } from './dom.js';
import { openDelivery } from './deliveries.js';
import { eventsAddress } from './events.js';

const UNDER_WAY = new Set(['pending', 'retrying']);
// Fan-out follows publishing within seconds; until this much later an event
// may still gain deliveries.
const FAN_OUT_MS = 60_000;

const fanningOut = (e) => Date.now() - Date.parse(e.created_at) < FAN_OUT_MS;

/** One sentence that answers the operator's question. */
function verdict(e) {
  const n = e.deliveries.length;
  if (e.only_endpoint && !n) return ['info', 'A test event for one endpoint; its delivery is gone (the endpoint was deleted).'];
  if (!n && fanningOut(e)) return ['info', 'Just published: finding the endpoints subscribed to it…'];
  if (!n) return ['info', `No endpoint was subscribed to ${e.type} when it was published, so it went nowhere.`];
  const count = (status) => e.deliveries.filter((d) => d.status === status).length;
  const [delivered, failed, parked] = [count('delivered'), count('failed'), count('parked')];
  const moving = n - delivered - failed - parked;
  const endpoints = n === 1 ? '1 endpoint' : `${n} endpoints`;
  const parts = [`Delivered to ${delivered} of ${endpoints}`];
  if (failed) parts.push(`${failed} failed`);
  if (parked) parts.push(`${parked} parked (the endpoint is paused)`);
  if (moving) parts.push(`${moving} still under way`);
  const tone = failed ? 'bad' : parked || moving ? 'warn' : 'good';
  return [tone, `${parts.join('; ')}.`];
}

/** What the endpoint said last: its HTTP status, or why nothing answered. */
function lastAnswer(d) {
  if (d.last_status_code) return h('span', { class: d.status === 'failed' ? 'bad-text' : '' }, `HTTP ${d.last_status_code}`);
  if (d.last_error_kind) return h('span', { class: 'bad-text' }, d.last_error_kind.replaceAll('_', ' '));
  return h('span', { class: 'muted' }, d.attempts ? '–' : 'not tried yet');
}

function deliveryRows(deliveries, names, refresh) {
  return deliveries.map((d) => {
    const said = h('span', { class: 'action-status', role: 'status' });
    const open = h('button', { type: 'button', class: 'link', 'aria-label': `Open delivery ${d.id}` }, d.id);
    open.addEventListener('click', () => openDelivery(d.id, refresh).catch((err) => fill(said, message(err))));
    return h('tr', { 'data-delivery': d.id, 'data-endpoint': d.endpoint_id },
      h('td', {}, names.get(d.endpoint_id) ? h('p', { class: 'strong' }, names.get(d.endpoint_id)) : null,
        h('p', { class: 'url' }, d.endpoint_url),
        h('a', { href: `#/endpoints/${d.endpoint_id}`, class: 'mono small-text', title: 'The endpoint\'s delivery history' }, d.endpoint_id)),
      h('td', {}, badge(d.status)),
      h('td', { class: 'num' }, d.attempts),
      h('td', {}, lastAnswer(d)),
      h('td', {}, d.next_attempt_at && UNDER_WAY.has(d.status) ? when(d.next_attempt_at) : '–'),
      h('td', {}, open, said));
  });
}

function inboundFacts(r) {
  if (!r) return null;
  return [
    h('dt', {}, 'Came from'),
    h('dd', { 'data-inbound': r.id },
      'The inbound webhook ', h('code', {}, r.id), ' of the source ',
      h('a', { href: `#/sources/${r.source}` }, r.source), ' ', badge(r.status), ', received ', when(r.received_at)),
  ];
}

function facts(e) {
  return h('dl', { class: 'facts' },
    h('dt', {}, 'Type'), h('dd', {}, h('code', {}, e.type)),
    h('dt', {}, 'Created'), h('dd', {}, when(e.created_at)),
    h('dt', {}, 'Correlation id'), h('dd', {},
      h('a', { href: eventsAddress({ correlation_id: e.correlation_id }), class: 'mono', title: 'Every event with this correlation id' },
        e.correlation_id)),
    h('dt', {}, 'Data size'), h('dd', {}, `${e.data_bytes} bytes`),
    e.only_endpoint ? [h('dt', {}, 'Test event for'), h('dd', {}, h('a', { href: `#/endpoints/${e.only_endpoint}` }, e.only_endpoint))] : null,
    inboundFacts(e.inbound));
}

export async function eventPage(view, { alive, params: [id] }) {
  const back = h('p', { class: 'crumbs' }, h('a', { href: '#/events' }, '← Events'));
  let event;
  try {
    event = await get(`v1/events/${id}`);
  } catch (err) {
    if (err.status !== 404) throw err;
    fill(view, back, pageHeading('Event not found'),
      h('p', { class: 'notice bad', role: 'alert' }, `This tenant has no event ${id}. Events are kept for the retention period only.`));
    return;
  }
  // Endpoints by name where the list can be read; the event itself carries URLs.
  const names = new Map((await all('v1/endpoints').catch(() => [])).map((ep) => [ep.id, ep.name]));
  const summary = h('p', { class: 'notice verdict', role: 'status' });
  const list = h('div', { class: 'card' });
  let shown = '';
  const show = (e) => {
    // Unchanged since the last read: nothing re-drawn, so nothing under the pointer moves.
    const now = JSON.stringify([e.deliveries, fanningOut(e)]);
    if (now === shown) return;
    shown = now;
    const [tone, text] = verdict(e);
    summary.className = `notice verdict ${tone}`;
    fill(summary, text);
    fill(list, e.deliveries.length
      ? table('Deliveries', ['Endpoint', 'Status', 'Attempts', 'Last answer', 'Next attempt', 'Delivery'], deliveryRows(e.deliveries, names, refresh))
      : h('p', { class: 'muted' }, 'No deliveries.'));
  };
  // While a delivery is under way the page re-reads the event every two
  // seconds (for about ten minutes), but not while focus is in the list or a
  // dialog is open: a new list would take the focus away.
  let watching = false;
  const underWay = () => fanningOut(event) || event.deliveries.some((d) => UNDER_WAY.has(d.status));
  async function watch() {
    if (watching) return;
    watching = true;
    try {
      for (let round = 0; round < 300 && alive() && underWay(); round += 1) {
        await new Promise((resolve) => setTimeout(resolve, 2000));
        const busy = document.hidden || list.contains(document.activeElement) || document.querySelector('dialog[open]');
        if (!alive() || busy) continue;
        try {
          event = await get(`v1/events/${id}`);
          if (alive()) show(event);
        } catch {
          // Tried again next round.
        }
      }
    } finally {
      watching = false;
    }
  }
  // After a retry from a delivery's detail: the delivery is pending again.
  async function refresh() {
    event = await get(`v1/events/${id}`);
    if (!alive()) return;
    show(event);
    watch();
  }
  fill(view,
    back,
    h('div', { class: 'page-head' }, pageHeading(`Event ${event.id}`)),
    summary,
    facts(event),
    h('h2', {}, 'Deliveries'),
    list,
    h('h2', {}, 'Data (masked)'),
    h('pre', { class: 'body' }, JSON.stringify(event.data, null, 2)));
  show(event);
  watch();
}
