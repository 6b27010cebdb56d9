// The head of an endpoint's page: its name, status and settings in words,
// with the button that edits them.

import { badge, fill, h, message, pageHeading, statusLine } from './dom.js';
import { ENVELOPES, editEndpoint } from './endpoint-form.js';

/** `90 s`, `5 min`, `2 h`. */
export function duration(seconds) {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function signed(content) {
  return content === 'timestamp.body' ? 'the timestamp, a dot and the body' : 'the body';
}

function signatureLines(ep) {
  const lines = [h('p', {}, 'The default signature headers')];
  if (ep.legacy_signature) {
    lines.push(h('p', {}, h('code', {}, 'X-Signature: sha256=<hex HMAC-SHA256>'), ' of the body (legacy)'));
  }
  const s = ep.signature;
  if (s) {
    lines.push(h('p', { 'data-signature': s.header },
      'and ', h('code', {}, `${s.header}: ${s.prefix}<${s.encoding} HMAC-SHA256>`), ` of ${signed(s.content)}`));
  }
  return lines;
}

function retries(ep) {
  if (ep.retry_policy === 'none') return 'None: one attempt only';
  const schedule = ep.retry_schedule_seconds;
  if (schedule) {
    return h('span', { title: `${schedule.join(', ')} seconds` },
      `${schedule.length} on its own schedule, after ${schedule.map(duration).join(', ')}`);
  }
  return `Up to ${ep.max_retries}, exponential backoff with jitter`;
}

function facts(ep) {
  const [, label, fields] = ENVELOPES.find(([value]) => value === ep.envelope) ?? [ep.envelope, ep.envelope, ''];
  const row = (term, ...value) => [h('dt', {}, term), h('dd', {}, value)];
  return h('dl', { class: 'facts' },
    row('Events', ep.event_types.map((t) => h('code', { class: 'tag' }, t))),
    row('Body shape', label, fields ? h('span', { class: 'muted' }, ` (${fields})`) : null),
    row('Signature headers', signatureLines(ep)),
    row('Retries', retries(ep)),
    row('Timeout', `${ep.timeout_seconds} s`),
    row('Rate limit', ep.rate_limit_per_second ? `At most ${ep.rate_limit_per_second} attempts start per second` : 'No limit'));
}

/** The endpoint's heading, status and settings, kept in place across edits. */
export function endpointSummary(endpoint, title) {
  let ep = endpoint;
  const heading = pageHeading('');
  const state = h('p', {});
  const settings = h('div', {});
  const said = statusLine();
  const edit = h('button', { type: 'button' }, 'Edit endpoint');
  const show = () => {
    fill(heading, title(ep));
    fill(state, badge(ep.status), ' ', h('span', { class: 'url' }, ep.url),
      ep.status_reason ? h('span', { class: 'reason' }, ` (${ep.status_reason})`) : null);
    fill(settings, facts(ep));
  };
  edit.addEventListener('click', async () => {
    fill(said);
    said.classList.remove('bad');
    try {
      const saved = await editEndpoint(ep);
      if (saved && saved !== ep) {
        ep = saved;
        show();
        // Delivery workers keep an endpoint for a few seconds.
        fill(said, 'Saved. Deliveries use the new settings within a few seconds.');
      }
    } catch (err) {
      said.classList.add('bad');
      fill(said, message(err));
    }
  });
  show();
  return h('div', {},
    h('div', { class: 'page-head' }, heading, h('div', {}, edit, said)),
    state,
    h('section', { class: 'card', 'aria-label': 'Settings' }, settings));
}
