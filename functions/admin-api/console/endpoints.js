// Outgoing webhooks: the endpoints with their health, and the actions on
// them (add, enable, disable, rotate the secret, send a test event).

import { all, get, post } from './api.js';
import {
  act, badge, dialog, fill, field, h, message, pageHeading, percent, rotationForm, showError, statusLine, table,
} from './dom.js';
import { hourlyChart, lastHours } from './chart.js';
import { addEndpoint } from './endpoint-form.js';

async function disable(ep, reload) {
  await dialog(`Disable ${ep.name}`, (close) => {
    const reason = h('input', { type: 'text', name: 'reason', class: 'wide', maxlength: 512, placeholder: 'disabled by an operator' });
    const form = h('form', { novalidate: true },
      h('p', {}, 'No deliveries are attempted while the endpoint is disabled. Enable it again to resume.'),
      field('Reason (optional)', reason),
      h('p', { class: 'form-error', role: 'alert', hidden: true }),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'danger' }, 'Disable endpoint'),
        h('button', { type: 'button', onclick: () => close() }, 'Cancel')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await post(`v1/endpoints/${ep.id}/disable`, reason.value.trim() ? { reason: reason.value.trim() } : {});
        close();
      } catch (err) {
        showError(form, err, (x) => (x.code === 'field_too_long' ? 'reason' : undefined));
      }
    });
    return form;
  });
  await reload();
}

async function rotate(ep, reload) {
  await dialog(`Rotate the secret of ${ep.name}`, (close) => {
    const grace = h('select', { name: 'grace_seconds' },
      h('option', { value: '86400' }, '24 hours'),
      h('option', { value: '3600' }, '1 hour'),
      h('option', { value: '604800' }, '7 days'),
      h('option', { value: '0' }, 'No grace period: the old secret stops at once'));
    return rotationForm(close, [
      h('p', {}, 'During the grace period every delivery is signed with both secrets, so the receiver can switch without failures.'),
      field('The old secret keeps signing for', grace),
    ], () => post(`v1/endpoints/${ep.id}/rotate-secret`, { grace_seconds: Number(grace.value) }), {
      title: 'New signing secret',
      note: 'Copy it now: it will be masked from now on.',
      errorField: 'grace_seconds',
    });
  });
  await reload();
}

function statusCell(ep) {
  return h('td', {}, badge(ep.status), ep.status_reason ? h('p', { class: 'reason' }, ep.status_reason) : null);
}

function endpointRow(ep, reload) {
  const said = statusLine();
  const health = h('td', { class: 'num' }, h('span', { class: 'muted' }, '…'));
  const spark = h('td', { class: 'spark' });
  const button = (label, run, done, cls) => {
    const b = h('button', { type: 'button', class: `small ${cls ?? ''}` }, label);
    b.addEventListener('click', () => act(b, said, run, done));
    return b;
  };
  const actions = [
    h('a', { href: `#/endpoints/${ep.id}`, class: 'button small' }, 'Delivery history'),
    ep.status === 'disabled' ? null : button('Send test event', () => post(`v1/endpoints/${ep.id}/test`), (r) => `Test event queued (${r.delivery_id}).`),
    ep.status === 'active'
      ? h('button', { type: 'button', class: 'small', onclick: () => disable(ep, reload) }, 'Disable')
      : button('Enable', async () => { await post(`v1/endpoints/${ep.id}/enable`); await reload(); }, () => 'Enabled.'),
    h('button', { type: 'button', class: 'small', onclick: () => rotate(ep, reload) }, 'Rotate secret'),
  ];
  const row = h('tr', { 'data-endpoint': ep.id },
    h('td', {},
      h('a', { href: `#/endpoints/${ep.id}`, class: 'strong' }, ep.name),
      h('p', { class: 'url' }, ep.url),
      h('p', { class: 'muted small-text' }, 'Secret ', h('code', { 'data-secret': 'masked' }, ep.secret))),
    statusCell(ep),
    h('td', {}, ep.event_types.map((t) => h('code', { class: 'tag' }, t))),
    health,
    spark,
    h('td', {}, h('div', { class: 'row-actions' }, actions, said)));
  return { row, health, spark };
}

/** Fills the success rate and sparkline cells, a few endpoints at a time. */
async function loadHealth(rows, alive) {
  const queue = [...rows];
  const worker = async () => {
    while (queue.length && alive()) {
      const { id, health, spark } = queue.shift();
      try {
        const stats = await get('v1/stats', { endpoint_id: id });
        const d = stats.deliveries;
        fill(health,
          h('span', { class: 'strong' }, percent(d.delivered, d.delivered + d.failed)),
          h('p', { class: 'muted small-text' }, `${d.delivered} of ${d.delivered + d.failed}`));
        fill(spark, hourlyChart(lastHours(stats.hourly, 24), { compact: true, label: 'Last 24 hours' }));
      } catch (err) {
        fill(health, h('span', { class: 'bad-text' }, message(err)));
      }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
}

export async function endpointsPage(view, { alive }) {
  const list = h('div', { class: 'card' }, h('p', { class: 'muted' }, 'Loading endpoints…'));
  const reload = async () => {
    const endpoints = await all('v1/endpoints');
    if (!endpoints.length) {
      fill(list, h('p', {}, 'No endpoints yet. Add one to start receiving events.'));
      return;
    }
    const rows = endpoints.map((ep) => ({ id: ep.id, ...endpointRow(ep, reload) }));
    fill(list, table('Endpoints',
      ['Endpoint', 'Status', 'Events', 'Success (24 h)', 'Last 24 h', 'Actions'], rows.map((r) => r.row)));
    loadHealth(rows, alive);
  };
  const addButton = h('button', { type: 'button', class: 'primary' }, 'Add endpoint');
  const addStatus = statusLine();
  addButton.addEventListener('click', () => addEndpoint().then(reload).catch((err) => fill(addStatus, message(err))));
  fill(view,
    h('div', { class: 'page-head' }, pageHeading('Outgoing webhooks'), h('div', {}, addButton, addStatus)),
    h('p', { class: 'muted' }, 'Endpoints receive signed POST requests for the events they subscribe to.'),
    list);
  await reload();
}
