// A source's settings dialog (name, authentication, timestamp tolerance,
// dedupe, the event it becomes, enabled) and the rotation of its secret,
// the new one shown once.

import { patch, post } from './api.js';
import { clearErrors, dialog, field, h, rotationForm, showError, uid } from './dom.js';

export const AUTH_TYPES = [
  ['hms', 'HMS signature (X-HMS-Signature over timestamp and body)'],
  ['standard-webhooks', 'Standard Webhooks (webhook-signature)'],
  ['stripe', 'Stripe (Stripe-Signature)'],
  ['github', 'GitHub (X-Hub-Signature-256)'],
  ['shopify', 'Shopify (X-Shopify-Hmac-Sha256)'],
  ['slack', 'Slack (X-Slack-Signature)'],
  ['basic', 'HTTP Basic (the password is the secret)'],
  ['bearer', 'Bearer token (the token is the secret)'],
  ['none', 'None: accept every request'],
];

/** The event a source's webhooks become, in words. */
export function becomes(s) {
  if (s.event_type) return s.event_type;
  if (s.event_type_pointer) return `${s.slug}.{${s.event_type_pointer}}`;
  return `${s.slug}.received`;
}

/** The field an API error is about, by its code or the field named first in its detail. */
export function sourceField(err) {
  const byCode = {
    invalid_slug: 'slug', slug_taken: 'slug', invalid_name: 'name', invalid_secret: 'secret',
    invalid_tolerance: 'tolerance_seconds', invalid_dedupe_key: 'dedupe_key', invalid_dedupe_window: 'dedupe_window_seconds',
    unknown_event_type: 'event_type', invalid_event_type: 'event_type', missing_secret: 'auth_type',
  };
  if (byCode[err.code]) return byCode[err.code];
  const first = String(err.detail ?? '').split(' ')[0];
  if (['slug', 'name', 'event_type', 'event_type_pointer'].includes(first)) return first;
  return err.code === 'invalid_event_mapping' ? 'mapping' : undefined;
}

/** The radio group choosing what a webhook becomes, with the input each choice needs. */
function mappingFields(source) {
  const group = uid('mapping');
  const radio = (value, checked) => h('input', { type: 'radio', name: group, value, id: uid('m'), checked });
  const fixed = h('input', { type: 'text', name: 'event_type', value: source.event_type ?? '', placeholder: 'crm.contact.updated' });
  const pointer = h('input', { type: 'text', name: 'event_type_pointer', value: source.event_type_pointer ?? '', placeholder: '/event' });
  const choices = [
    [radio('default', !source.event_type && !source.event_type_pointer), `Always ${source.slug}.received`],
    [radio('fixed', Boolean(source.event_type)), 'One fixed event type', field('Event type', fixed)],
    [radio('pointer', Boolean(source.event_type_pointer)), 'The provider\'s own type',
      field('JSON pointer to the provider\'s type', pointer, `Published as ${source.slug}.{value}.`)],
  ];
  const sync = () => {
    fixed.disabled = !choices[1][0].checked;
    pointer.disabled = !choices[2][0].checked;
  };
  for (const [box] of choices) box.addEventListener('change', sync);
  sync();
  // The group's own error slot comes first, so it is the one an error about the mapping fills.
  const fieldset = h('fieldset', { class: 'group mapping', 'data-field': 'mapping' },
    h('legend', {}, 'Each webhook becomes'),
    h('p', { class: 'field-error', role: 'alert', hidden: true }),
    choices.map(([box, label, input]) => h('div', { class: 'choice' },
      h('div', { class: 'pick' }, box, h('label', { for: box.id }, label)), input)));
  const value = () => {
    const chosen = choices.find(([box]) => box.checked)[0].value;
    return {
      event_type: chosen === 'fixed' ? fixed.value.trim() || null : null,
      event_type_pointer: chosen === 'pointer' ? pointer.value.trim() || null : null,
    };
  };
  return { fieldset, value };
}

/** Only what changed, so a save never rewrites what someone else just set. */
function changes(source, input) {
  return Object.fromEntries(Object.entries(input).filter(([k, v]) => (source[k] ?? null) !== v));
}

/** The edit dialog; resolves to the source as saved, or undefined when cancelled. */
export function editSource(source) {
  return dialog(`Edit source ${source.slug}`, (close) => {
    const name = h('input', { type: 'text', name: 'name', class: 'wide', maxlength: 128, value: source.name });
    const auth = h('select', { name: 'auth_type' },
      AUTH_TYPES.map(([v, label]) => h('option', { value: v, selected: v === source.auth_type }, label)));
    const tolerance = h('input', { type: 'number', name: 'tolerance_seconds', min: 1, max: 3600, value: source.tolerance_seconds });
    const dedupeKey = h('input', { type: 'text', name: 'dedupe_key', value: source.dedupe_key ?? '', placeholder: 'Idempotency-Key or /id' });
    const dedupeWindow = h('input', { type: 'number', name: 'dedupe_window_seconds', min: 60, max: 2592000, value: source.dedupe_window_seconds });
    const enabled = h('input', { type: 'checkbox', name: 'enabled', id: uid('enabled'), checked: source.enabled });
    const mapping = mappingFields(source);
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Save changes');
    const form = h('form', { novalidate: true },
      field('Name', name),
      field('Authentication', auth, source.auth_type === 'none' ? 'A signed type needs a secret: rotate the secret first.' : null),
      field('Timestamp tolerance (seconds)', tolerance,
        'How far a signed timestamp may be from now, 1 to 3600. Schemes without a timestamp ignore it.'),
      h('div', { class: 'row' },
        field('Dedupe key', dedupeKey, 'A header name or a JSON pointer into the body. Empty: the provider\'s own id where known, else the body\'s hash.'),
        field('Dedupe window (seconds)', dedupeWindow, 'A repeat within it is not processed again; 60 to 2592000 (30 days).')),
      mapping.fieldset,
      h('div', { class: 'field check', 'data-field': 'enabled' },
        enabled, h('label', { for: enabled.id }, 'Enabled: accept webhooks (a disabled source answers 403)')),
      h('p', { class: 'form-error', role: 'alert', hidden: true }),
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', onclick: () => close() }, 'Cancel')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const number = (input) => (input.value.trim() === '' ? NaN : Number(input.value));
      const input = {
        name: name.value.trim(),
        auth_type: auth.value,
        tolerance_seconds: number(tolerance),
        dedupe_key: dedupeKey.value.trim() || null,
        dedupe_window_seconds: number(dedupeWindow),
        ...mapping.value(),
        enabled: enabled.checked,
      };
      for (const key of ['tolerance_seconds', 'dedupe_window_seconds']) {
        if (!Number.isInteger(input[key]) || input[key] < 0) {
          showError(form, { detail: 'enter a whole number of seconds' }, () => key);
          return;
        }
      }
      const changed = changes(source, input);
      if (!Object.keys(changed).length) {
        close(source);
        return;
      }
      submit.disabled = true;
      try {
        close(await patch(`v1/sources/${source.slug}`, changed));
      } catch (err) {
        showError(form, err, sourceField);
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  });
}

/** The rotate dialog; resolves once it closes (rotated or not). */
export function rotateSourceSecret(source) {
  return dialog(`Rotate the secret of ${source.slug}`, (close) => {
    const secret = h('input', { type: 'password', name: 'secret', class: 'wide', autocomplete: 'off', spellcheck: 'false' });
    return rotationForm(close, [
      h('p', {}, 'The old secret stops verifying at once: give the provider the new one straight away. ',
        'Webhooks signed with the old one are refused with 401 until then, and providers retry those.'),
      source.auth_type === 'none'
        ? h('p', { class: 'notice warn' }, 'This source accepts unauthenticated requests; with a secret it can be switched to a signed type.')
        : null,
      field('The provider\'s secret (optional)', secret,
        'Stripe, GitHub and the like issue their own: paste it here. Leave empty and Hookline generates one.'),
    ], () => post(`v1/sources/${source.slug}/rotate-secret`, secret.value ? { secret: secret.value } : {}), {
      title: 'New secret',
      note: 'Configure the provider with it now: it will be masked from now on.',
      errorField: 'secret',
    });
  });
}
