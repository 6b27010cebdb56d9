// Hourly delivery charts as inline SVG: stacked bars of delivered, failed and
// pending deliveries. Each bar carries a <title>, and the whole chart a
// sentence for screen readers.

import { h, utc } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const HOUR = 3600 * 1000;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

/** The last `hours` hours up to the current one, gaps in `hourly` filled with zeros. */
export function lastHours(hourly, hours = 24, now = Date.now()) {
  const byStart = new Map((hourly ?? []).map((b) => [Date.parse(b.hour), b]));
  const current = Math.floor(now / HOUR) * HOUR;
  const series = [];
  for (let start = current - (hours - 1) * HOUR; start <= current; start += HOUR) {
    const b = byStart.get(start) ?? {};
    series.push({ start: new Date(start), delivered: b.delivered ?? 0, failed: b.failed ?? 0, pending: b.pending ?? 0 });
  }
  return series;
}

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function describe(series) {
  const sum = (k) => series.reduce((n, b) => n + b[k], 0);
  return `${sum('delivered')} delivered, ${sum('failed')} failed, ${sum('pending')} pending in the last ${series.length} hours`;
}

/**
 * A stacked bar chart. `compact` draws a sparkline for a table row (no axes);
 * otherwise hour labels and a scale are drawn and a legend follows.
 */
export function hourlyChart(series, { compact = false, label = 'Deliveries per hour' } = {}) {
  const width = compact ? 144 : 1000;
  const height = compact ? 32 : 220;
  const pad = compact ? { left: 0, right: 0, top: 2, bottom: 2 } : { left: 40, right: 8, top: 12, bottom: 28 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = Math.max(1, ...series.map((b) => b.delivered + b.failed + b.pending));
  const slot = plotW / series.length;
  const barW = Math.max(1, slot * 0.7);
  const summary = `${label}: ${describe(series)}.`;
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`,
    class: compact ? 'chart compact' : 'chart',
    role: 'img',
    'aria-label': summary,
    preserveAspectRatio: compact ? 'none' : 'xMidYMid meet',
  }, s('title', {}, summary));
  if (!compact) {
    for (const fraction of [0, 0.5, 1]) {
      const y = pad.top + plotH * (1 - fraction);
      svg.append(s('line', { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: 'grid' }));
      svg.append(s('text', { x: pad.left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, Math.round(max * fraction)));
    }
  } else {
    svg.append(s('line', { x1: 0, x2: width, y1: height - 1, y2: height - 1, class: 'baseline' }));
  }
  series.forEach((b, i) => {
    const x = pad.left + i * slot + (slot - barW) / 2;
    let y = pad.top + plotH;
    const group = s('g', {}, s('title', {},
      `${clock.format(b.start)} (${utc(b.start).slice(11, 16)} UTC): ${b.delivered} delivered, ${b.failed} failed, ${b.pending} pending`));
    for (const kind of ['delivered', 'failed', 'pending']) {
      if (!b[kind]) continue;
      const barH = (b[kind] / max) * plotH;
      y -= barH;
      group.append(s('rect', { x, y, width: barW, height: barH, class: `bar ${kind}` }));
    }
    // An invisible full-height target, so hovering an empty hour still tells its numbers.
    group.append(s('rect', { x: pad.left + i * slot, y: pad.top, width: slot, height: plotH, class: 'hit' }));
    svg.append(group);
    if (!compact && i % 3 === 0) {
      svg.append(s('text', { x: x + barW / 2, y: height - 8, 'text-anchor': 'middle', class: 'axis' }, clock.format(b.start)));
    }
  });
  if (compact) return svg;
  return h('figure', { class: 'chart-figure' }, svg,
    h('figcaption', { class: 'legend' },
      h('span', { class: 'key delivered' }, 'Delivered'),
      h('span', { class: 'key failed' }, 'Failed'),
      h('span', { class: 'key pending' }, 'Pending or retrying'),
      h('span', { class: 'zone' }, `Hours in ${Intl.DateTimeFormat().resolvedOptions().timeZone}`)));
}
