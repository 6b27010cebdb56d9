// Outgoing webhooks: the endpoints with their health, and the actions on
// them (add, enable, disable, rotate the secret, send a test event).

import { all, get, post } from './api.js';
import {
  act, badge, clearErrors, dialog, fill, field, h, message, pageHeading, percent, secretOnce, showError, statusLine, table, uid,
} from './dom.js';
import { hourlyChart, lastHours } from './chart.js';

/** Which form field an endpoint error is about. */
function endpointField(err) {
  const byCode = {
    invalid_url: 'url', insecure_url: 'url', forbidden_target: 'url',
    invalid_name: 'name',
    missing_event_types: 'event_types', unknown_event_type: 'event_types',
    invalid_max_retries: 'max_retries', invalid_timeout: 'timeout_seconds',
  };
  if (byCode[err.code]) return byCode[err.code];
  const first = String(err.detail ?? '').split(' ')[0];
  return ['url', 'name', 'event_types', 'max_retries', 'timeout_seconds'].includes(first) ? first : undefined;
}

/** Checkboxes for the event catalog, narrowed by a search box. */
function eventPicker(catalog) {
  const search = h('input', { type: 'search', class: 'wide', 'aria-label': 'Search the event catalog', placeholder: 'Search events' });
  const everything = h('input', { type: 'checkbox', value: '*', id: uid('ev') });
  const items = catalog.map((t) => {
    const box = h('input', { type: 'checkbox', value: t.name, id: uid('ev') });
    const row = h('li', { 'data-name': t.name.toLowerCase() },
      box, h('label', { for: box.id }, h('code', {}, t.name), t.description ? h('span', { class: 'muted' }, ` ${t.description}`) : null));
    return { box, row, text: `${t.name} ${t.description ?? ''}`.toLowerCase() };
  });
  const none = h('li', { class: 'muted', hidden: true }, 'No event type matches.');
  search.addEventListener('input', () => {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const item of items) {
      item.row.hidden = q !== '' && !item.text.includes(q);
      if (!item.row.hidden) shown += 1;
    }
    none.hidden = shown > 0;
  });
  everything.addEventListener('change', () => {
    for (const item of items) item.box.disabled = everything.checked;
  });
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const set = h('fieldset', { class: 'field events', 'data-field': 'event_types', tabindex: '-1' },
    h('legend', {}, 'Events from the catalog'),
    h('p', { class: 'pick-all' }, everything, h('label', { for: everything.id }, 'All events, including ones added later')),
    search,
    h('ul', { class: 'picker' }, items.map((i) => i.row), none),
    error);
  const selected = () => (everything.checked ? ['*'] : items.filter((i) => i.box.checked).map((i) => i.box.value));
  return { element: set, selected };
}

async function addEndpoint(reload) {
  const catalog = await all('v1/event-types');
  await dialog('Add endpoint', (close) => {
    const url = h('input', { type: 'url', name: 'url', required: true, class: 'wide', placeholder: 'https://hooks.example.com/hms' });
    const name = h('input', { type: 'text', name: 'name', class: 'wide', maxlength: 128 });
    const policy = h('select', { name: 'retry_policy' },
      h('option', { value: 'exponential' }, 'Exponential backoff with jitter'),
      h('option', { value: 'none' }, 'No retries'));
    const retries = h('input', { type: 'number', name: 'max_retries', min: 0, max: 20, value: '10' });
    const timeout = h('input', { type: 'number', name: 'timeout_seconds', min: 1, max: 30, value: '15' });
    const picker = eventPicker(catalog);
    policy.addEventListener('change', () => {
      retries.disabled = policy.value === 'none';
    });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Add endpoint');
    const form = h('form', { novalidate: true },
      field('URL', url, 'Where Hookline will POST signed events.'),
      field('Name', name, 'Optional; defaults to the URL\'s host.'),
      picker.element,
      h('div', { class: 'row' },
        field('Retry policy', policy),
        field('Max retries', retries, '0 to 20'),
        field('Timeout (seconds)', timeout, '1 to 30')),
      h('p', { class: 'form-error', role: 'alert', hidden: true }),
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', onclick: () => close() }, 'Cancel')));
    const body = h('div', {}, form);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const input = {
        url: url.value.trim(),
        event_types: picker.selected(),
        retry_policy: policy.value,
        timeout_seconds: Number(timeout.value),
      };
      if (name.value.trim()) input.name = name.value.trim();
      if (policy.value !== 'none') input.max_retries = Number(retries.value);
      submit.disabled = true;
      try {
        const created = await post('v1/endpoints', input);
        fill(body,
          h('p', {}, 'The endpoint ', h('strong', {}, created.name), ' was added.'),
          secretOnce('Signing secret', created.secret,
            'Copy it now and store it with your receiver: it verifies X-HMS-Signature. It will be masked from now on.'),
          h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => close() }, 'Done')));
        body.querySelector('button')?.focus();
      } catch (err) {
        showError(form, err, endpointField);
      } finally {
        submit.disabled = false;
      }
    });
    return body;
  });
  await reload();
}

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
    const form = h('form', { novalidate: true },
      h('p', {}, 'During the grace period every delivery is signed with both secrets, so the receiver can switch without failures.'),
      field('The old secret keeps signing for', grace),
      h('p', { class: 'form-error', role: 'alert', hidden: true }),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Rotate secret'),
        h('button', { type: 'button', onclick: () => close() }, 'Cancel')));
    const body = h('div', {}, form);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const rotated = await post(`v1/endpoints/${ep.id}/rotate-secret`, { grace_seconds: Number(grace.value) });
        fill(body,
          secretOnce('New signing secret', rotated.secret, 'Copy it now: it will be masked from now on.'),
          h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => close() }, 'Done')));
        body.querySelector('button')?.focus();
      } catch (err) {
        showError(form, err, () => 'grace_seconds');
      }
    });
    return body;
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
  addButton.addEventListener('click', () => addEndpoint(reload).catch((err) => fill(addStatus, message(err))));
  fill(view,
    h('div', { class: 'page-head' }, pageHeading('Outgoing webhooks'), h('div', {}, addButton, addStatus)),
    h('p', { class: 'muted' }, 'Endpoints receive signed POST requests for the events they subscribe to.'),
    list);
  await reload();
}
