// Overview: today's numbers and the last 24 hours of deliveries by the hour.

import { get } from './api.js';
import { fill, h, pageHeading, percent } from './dom.js';
import { hourlyChart, lastHours } from './chart.js';

function tile(label, value, note, tone) {
  return h('div', { class: `tile ${tone ?? ''}` },
    h('p', { class: 'tile-label' }, label),
    h('p', { class: 'tile-value' }, value),
    note ? h('p', { class: 'tile-note' }, note) : null);
}

export async function overviewPage(view) {
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  const tiles = h('div', { class: 'tiles', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading today\'s numbers…'));
  const chart = h('div', { class: 'card' }, h('p', { class: 'muted' }, 'Loading the last 24 hours…'));
  fill(view,
    pageHeading('Overview'),
    h('section', { 'aria-labelledby': 'today-title' },
      h('h2', { id: 'today-title' }, 'Today'),
      h('p', { class: 'muted' }, `Since midnight, ${midnight.toLocaleString()}.`),
      tiles),
    h('section', { 'aria-labelledby': 'hourly-title' },
      h('h2', { id: 'hourly-title' }, 'Deliveries per hour, last 24 hours'),
      chart));

  const [today, day] = await Promise.all([
    get('v1/stats', { since: midnight.toISOString() }),
    get('v1/stats'),
  ]);
  const d = today.deliveries;
  const e = today.endpoints;
  fill(tiles,
    tile('Deliveries', d.total),
    tile('Delivered', d.delivered, null, 'good'),
    tile('Failed', d.failed, d.failed ? 'Retry them from an endpoint\'s history.' : null, d.failed ? 'bad' : ''),
    tile('Pending or retrying', d.pending),
    tile('Success rate', percent(d.delivered, d.delivered + d.failed), 'Of finished deliveries.'),
    tile('Average response', d.average_duration_ms ? `${Math.round(d.average_duration_ms)} ms` : '–'),
    tile('Endpoints', `${e.active} active`, `${e.paused} paused, ${e.disabled} disabled`, e.paused + e.disabled ? 'warn' : ''));
  tiles.removeAttribute('aria-busy');
  fill(chart, hourlyChart(lastHours(day.hourly, 24), { label: 'Deliveries per hour, last 24 hours' }));
}
