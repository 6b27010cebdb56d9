// Overview: today's numbers, outgoing beside incoming, and the last 24 hours
// of deliveries by the hour.

import { get } from './api.js';
import { fill, h, pageHeading, percent, when } from './dom.js';
import { hourlyChart, lastHours } from './chart.js';

function tile(label, value, note, tone) {
  return h('div', { class: `tile ${tone ?? ''}` },
    h('p', { class: 'tile-label' }, label),
    h('p', { class: 'tile-value' }, value),
    note ? h('p', { class: 'tile-note' }, note) : null);
}

function outgoing(stats) {
  const d = stats.deliveries;
  const e = stats.endpoints;
  return [
    tile('Deliveries', d.total),
    tile('Delivered', d.delivered, null, 'good'),
    tile('Failed', d.failed, d.failed ? 'Retry them from an endpoint\'s history.' : null, d.failed ? 'bad' : ''),
    tile('Pending or retrying', d.pending),
    tile('Success rate', percent(d.delivered, d.delivered + d.failed), 'Of finished deliveries.'),
    tile('Average response', d.average_duration_ms ? `${Math.round(d.average_duration_ms)} ms` : '–'),
    tile('Endpoints', `${e.active} active`, `${e.paused} paused, ${e.disabled} disabled`, e.paused + e.disabled ? 'warn' : ''),
  ];
}

function incoming(stats) {
  const i = stats.inbound ?? { received: 0, processed: 0, duplicate: 0, failed: 0, pending: 0 };
  const s = stats.sources ?? { total: 0, enabled: 0, disabled: 0 };
  return [
    tile('Received', i.received, 'Stored webhooks, duplicates included.'),
    tile('Processed', i.processed, 'Became events.', 'good'),
    tile('Failed', i.failed, i.failed ? 'Replay them from a source\'s inbound log.' : null, i.failed ? 'bad' : ''),
    tile('Duplicates', i.duplicate, 'Repeats absorbed, not processed again.'),
    tile('Being processed', i.pending),
    tile('Sources', `${s.enabled} enabled`, `${s.disabled} disabled`, s.disabled ? 'warn' : ''),
  ];
}

export async function overviewPage(view) {
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  const loading = (what) => h('p', { class: 'muted' }, `Loading ${what}…`);
  const out = h('div', { class: 'tiles', 'aria-busy': 'true' }, loading('deliveries'));
  const inb = h('div', { class: 'tiles', 'aria-busy': 'true' }, loading('inbound webhooks'));
  const chart = h('div', { class: 'card' }, loading('the last 24 hours'));
  fill(view,
    pageHeading('Overview'),
    h('h2', {}, 'Today'),
    h('p', { class: 'muted' }, 'Since midnight, ', when(midnight), '.'),
    h('div', { class: 'sides' },
      h('section', { 'aria-labelledby': 'outgoing-title', 'data-side': 'outgoing' },
        h('h3', { id: 'outgoing-title' }, 'Outgoing webhooks'), out),
      h('section', { 'aria-labelledby': 'incoming-title', 'data-side': 'incoming' },
        h('h3', { id: 'incoming-title' }, 'Incoming webhooks'), inb)),
    h('section', { 'aria-labelledby': 'hourly-title' },
      h('h2', { id: 'hourly-title' }, 'Deliveries per hour, last 24 hours'),
      chart));

  const [today, day] = await Promise.all([
    get('v1/stats', { since: midnight.toISOString() }),
    get('v1/stats'),
  ]);
  fill(out, outgoing(today));
  fill(inb, incoming(today));
  out.removeAttribute('aria-busy');
  inb.removeAttribute('aria-busy');
  fill(chart, hourlyChart(lastHours(day.hourly, 24), { label: 'Deliveries per hour, last 24 hours' }));
}
