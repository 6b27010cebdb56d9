// The endpoint form, for adding an endpoint and for editing one: where it
// points, what it subscribes to, and what its receiver already expects (the
// body's shape, one more signature header, a retry schedule, a rate limit).

import { all, patch, post } from './api.js';
import { clearErrors, dialog, field, fill, h, secretOnce, showError, uid } from './dom.js';

/** The body shapes an endpoint can receive: `envelope` value, label, fields. */
export const ENVELOPES = [
  ['standard', 'Standard', 'id, type, created_at, data, metadata'],
  ['event', 'Event', 'event, timestamp, delivery_id, data'],
  ['event-meta', 'Event with meta', 'event, data, meta { timestamp, webhook_id, api_version }'],
  ['data', 'Data only', 'the published data, exactly as published'],
];

/** Which form field an endpoint error is about. */
function endpointField(err) {
  const byCode = {
    invalid_url: 'url', insecure_url: 'url', forbidden_target: 'url',
    invalid_name: 'name',
    missing_event_types: 'event_types', unknown_event_type: 'event_types',
    invalid_max_retries: 'max_retries', invalid_timeout: 'timeout_seconds',
    invalid_signature_header: 'signature.header', reserved_signature_header: 'signature.header',
    signature_header_conflict: 'signature.header', invalid_signature_prefix: 'signature.prefix',
    invalid_retry_schedule: 'retry_schedule_seconds', retry_schedule_conflict: 'retry_schedule_seconds',
    invalid_rate_limit: 'rate_limit_per_second',
  };
  if (byCode[err.code]) return byCode[err.code];
  const first = String(err.detail ?? '').split(' ')[0];
  const named = ['url', 'name', 'event_types', 'max_retries', 'timeout_seconds', 'signature.header', 'signature.prefix',
    'retry_schedule_seconds', 'rate_limit_per_second'];
  return named.includes(first) ? first : undefined;
}

/** Checkboxes for the event catalog, narrowed by a search box; `chosen` starts checked. */
function eventPicker(catalog, chosen = []) {
  const search = h('input', { type: 'search', class: 'wide', 'aria-label': 'Search the event catalog', placeholder: 'Search events' });
  const everything = h('input', { type: 'checkbox', value: '*', id: uid('ev'), checked: chosen.includes('*') });
  // Patterns such as `bill.*` are not in the catalog; an edit keeps them on offer.
  const listed = new Set(catalog.map((t) => t.name));
  const patterns = chosen.filter((p) => p !== '*' && !listed.has(p)).map((name) => ({ name, description: 'pattern' }));
  const items = [...patterns, ...catalog].map((t) => {
    const box = h('input', { type: 'checkbox', value: t.name, id: uid('ev'), checked: chosen.includes(t.name), disabled: everything.checked });
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

/** `{detail}` when the schedule is not whole seconds; the API judges their range. */
function readSchedule(text) {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (!parts.length) return { value: null };
  const bad = parts.find((p) => !/^-?\d+$/.test(p));
  if (bad) return { detail: `the retry schedule lists whole seconds separated by commas, such as 60, 300, 1800; \`${bad}\` is not one` };
  return { value: parts.map(Number) };
}

/** What the receiver expects: body shape, extra signature, retry schedule, rate limit. */
function receiverFields(ep, policy, retries, retriesNote) {
  const envelope = h('select', { name: 'envelope' },
    ENVELOPES.map(([value, label, fields]) => h('option', { value }, `${label}: ${fields}`)));
  envelope.value = ep?.envelope ?? 'standard';
  const sig = ep?.signature;
  const header = h('input', { type: 'text', name: 'signature.header', value: sig?.header ?? '', placeholder: 'X-Acme-Signature', spellcheck: 'false' });
  const content = h('select', { name: 'signature.content' },
    h('option', { value: 'body' }, 'Body'),
    h('option', { value: 'timestamp.body' }, '{timestamp}.{body}'));
  content.value = sig?.content ?? 'body';
  const encoding = h('select', { name: 'signature.encoding' }, h('option', { value: 'hex' }, 'Hex'), h('option', { value: 'base64' }, 'Base64'));
  encoding.value = sig?.encoding ?? 'hex';
  const prefix = h('input', { type: 'text', name: 'signature.prefix', value: sig?.prefix ?? '', placeholder: 'sha256=', spellcheck: 'false', size: 12 });
  const preview = h('p', { class: 'hint', id: uid('signature-preview') });
  const showPreview = () => {
    const name = header.value.trim();
    fill(preview, name
      ? ['Sent as ', h('code', {}, `${name}: ${prefix.value.trim()}<${encoding.value} HMAC-SHA256 of ${content.value === 'body' ? 'the body' : '{timestamp}.{body}'}>`),
        ', beside the default signature headers, keyed by the endpoint\'s secret.']
      : 'Leave the header empty to send the default signature headers only.');
    for (const control of [content, encoding, prefix]) control.disabled = !name;
  };
  for (const control of [header, content, encoding, prefix]) control.addEventListener('input', showPreview);
  showPreview();

  const schedule = h('input', {
    type: 'text', name: 'retry_schedule_seconds', class: 'wide', placeholder: '60, 300, 1800, 7200, 21600', spellcheck: 'false',
    value: ep?.retry_schedule_seconds?.join(', ') ?? '',
  });
  const rate = h('input', { type: 'number', name: 'rate_limit_per_second', min: 1, max: 1000, step: 1, placeholder: 'No limit', value: ep?.rate_limit_per_second ?? '' });
  // A schedule's length is the retry count, so the count follows it.
  let typedRetries = retries.value;
  const syncRetries = () => {
    const parsed = readSchedule(schedule.value).value;
    schedule.disabled = policy.value === 'none';
    retries.disabled = policy.value === 'none' || Boolean(parsed);
    if (parsed) retries.value = String(parsed.length);
    else retries.value = typedRetries;
    fill(retriesNote, parsed && policy.value !== 'none' ? 'set by the retry schedule' : '0 to 20');
  };
  retries.addEventListener('input', () => { typedRetries = retries.value; });
  schedule.addEventListener('input', syncRetries);
  policy.addEventListener('change', syncRetries);
  syncRetries();

  const headerField = field('Extra signature header', header);
  // Read with the header's name rather than announced on every keystroke.
  header.setAttribute('aria-describedby', `${header.getAttribute('aria-describedby')} ${preview.id}`);
  const element = h('fieldset', { class: 'group' },
    h('legend', {}, 'What the receiver expects'),
    field('Body shape', envelope),
    h('div', { class: 'row' },
      headerField,
      field('Signs', content),
      field('Encoding', encoding),
      field('Prefix', prefix)),
    preview,
    h('div', { class: 'row' },
      h('div', { class: 'grow' }, field('Retry schedule (seconds)', schedule,
        'Optional: 1 to 20 delays, each up to 86400. It replaces exponential backoff, and its length is the retry count.')),
      field('Rate limit (per second)', rate, '1 to 1000 attempts started; empty for no limit')));

  const read = () => {
    const name = header.value.trim();
    const parsed = readSchedule(schedule.value);
    if (parsed.detail) return { error: { detail: parsed.detail }, field: 'retry_schedule_seconds' };
    const limit = rate.value.trim() === '' ? null : Number(rate.value);
    if (limit !== null && !Number.isInteger(limit)) {
      return { error: { detail: 'the rate limit is a whole number of attempts per second' }, field: 'rate_limit_per_second' };
    }
    return {
      value: {
        envelope: envelope.value,
        signature: name ? { header: name, content: content.value, encoding: encoding.value, prefix: prefix.value.trim() } : null,
        retry_schedule_seconds: parsed.value,
        rate_limit_per_second: limit,
      },
    };
  };
  return { element, read };
}

/** The fields of an endpoint; `ep` fills them for an edit. `send(input)` saves. */
function endpointForm(catalog, ep, submitLabel, send, close) {
  const url = h('input', { type: 'url', name: 'url', required: true, class: 'wide', placeholder: 'https://hooks.example.com/hms', value: ep?.url ?? '' });
  const name = h('input', { type: 'text', name: 'name', class: 'wide', maxlength: 128, value: ep?.name ?? '' });
  const policy = h('select', { name: 'retry_policy' },
    h('option', { value: 'exponential' }, 'Exponential backoff with jitter'),
    h('option', { value: 'none' }, 'No retries'));
  policy.value = ep?.retry_policy ?? 'exponential';
  const retries = h('input', { type: 'number', name: 'max_retries', min: 0, max: 20, value: String(ep?.max_retries ?? 10) });
  const timeout = h('input', { type: 'number', name: 'timeout_seconds', min: 1, max: 30, value: String(ep?.timeout_seconds ?? 15) });
  const picker = eventPicker(catalog, ep?.event_types);
  const retriesNote = h('span', {});
  const receiver = receiverFields(ep, policy, retries, retriesNote);
  const submit = h('button', { type: 'submit', class: 'primary' }, submitLabel);
  const form = h('form', { novalidate: true },
    field('URL', url, 'Where Hookline will POST signed events.'),
    field('Name', name, ep ? undefined : 'Optional; defaults to the URL\'s host.'),
    picker.element,
    h('div', { class: 'row' },
      field('Retry policy', policy),
      field('Max retries', retries, retriesNote),
      field('Timeout (seconds)', timeout, '1 to 30')),
    receiver.element,
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h('div', { class: 'actions' }, submit, h('button', { type: 'button', onclick: () => close() }, 'Cancel')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const options = receiver.read();
    if (options.error) {
      showError(form, options.error, () => options.field);
      return;
    }
    const input = {
      url: url.value.trim(),
      event_types: picker.selected(),
      retry_policy: policy.value,
      timeout_seconds: Number(timeout.value),
      ...options.value,
    };
    if (name.value.trim() || ep) input.name = name.value.trim();
    // With a schedule the API counts the retries itself, and refuses a different count.
    if (policy.value !== 'none' && !input.retry_schedule_seconds) input.max_retries = Number(retries.value);
    if (policy.value === 'none') delete input.retry_schedule_seconds;
    submit.disabled = true;
    try {
      await send(input);
    } catch (err) {
      showError(form, err, endpointField);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** The fields of `input` that differ from the endpoint's: a patch. */
function changes(ep, input) {
  const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  return Object.fromEntries(Object.entries(input).filter(([key, value]) => !same(ep[key], value)));
}

/** The add dialog; shows the new endpoint's secret once. */
export async function addEndpoint() {
  const catalog = await all('v1/event-types');
  await dialog('Add endpoint', (close) => {
    const body = h('div', {});
    const send = async (input) => {
      // A new endpoint has nothing to clear.
      const created = await post('v1/endpoints', Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null)));
      fill(body,
        h('p', {}, 'The endpoint ', h('strong', {}, created.name), ' was added.'),
        secretOnce('Signing secret', created.secret,
          'Copy it now and store it with your receiver: it verifies X-HMS-Signature. It will be masked from now on.'),
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => close() }, 'Done')));
      body.querySelector('button')?.focus();
    };
    return fill(body, endpointForm(catalog, undefined, 'Add endpoint', send, close));
  });
}

/** The edit dialog; resolves to the endpoint as saved, or undefined when cancelled. */
export async function editEndpoint(ep) {
  const catalog = await all('v1/event-types');
  return dialog(`Edit ${ep.name}`, (close) => {
    const send = async (input) => {
      const patched = changes(ep, input);
      close(Object.keys(patched).length ? await patch(`v1/endpoints/${ep.id}`, patched) : ep);
    };
    return endpointForm(catalog, ep, 'Save changes', send, close);
  });
}
