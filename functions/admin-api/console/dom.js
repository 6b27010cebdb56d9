// Small DOM helpers. Everything the API returns is put on the page as text
// (textContent), never parsed as HTML.

/** `h('button', {class: 'x', onclick: f}, 'Label', child, …)` */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      el.className = value;
    } else if (name === 'value' || name === 'checked') {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let counter = 0;
/** A unique id for label/field pairs. */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A labelled field with room for its error message below it. */
export function field(label, control, hint) {
  control.id ||= uid('f');
  const error = h('p', { class: 'field-error', id: `${control.id}-error`, role: 'alert', hidden: true });
  const hintEl = hint ? h('p', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  const described = [hintEl?.id, error.id].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', described);
  const wrapper = h('div', { class: 'field', 'data-field': control.name || '' },
    h('label', { for: control.id }, label), control, hintEl, error);
  return wrapper;
}

/** Shows an API error next to the field it is about, or in the form's own slot. */
export function showError(form, err, fieldFor = () => undefined) {
  clearErrors(form);
  const name = fieldFor(err);
  const wrapper = name ? form.querySelector(`[data-field="${name}"]`) : null;
  const slot = wrapper?.querySelector('.field-error') ?? form.querySelector('.form-error');
  fill(slot, message(err));
  slot.hidden = false;
  const control = wrapper?.querySelector('input, select, textarea, fieldset');
  if (control) {
    control.setAttribute('aria-invalid', 'true');
    control.focus();
  }
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll('.field-error, .form-error')) {
    slot.hidden = true;
    slot.replaceChildren();
  }
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
}

/** A readable sentence for an API error. */
export function message(err) {
  const detail = String(err?.detail ?? err?.message ?? err);
  // A leading field name (`max_retries`, `signature.header`) is written as the API spells it.
  const named = /^[a-z]+[._][a-z_.]+\b/.test(detail);
  const sentence = named ? detail : detail.charAt(0).toUpperCase() + detail.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

/** A status line (polite live region) next to an action. */
export function statusLine() {
  return h('span', { class: 'action-status', role: 'status', 'aria-live': 'polite' });
}

/** Runs an action from a button: disables it meanwhile, reports the result next to it. */
export async function act(button, status, run, done) {
  button.disabled = true;
  status.classList.remove('bad');
  fill(status, 'Working…');
  try {
    const result = await run();
    fill(status, done ? done(result) : 'Done.');
    return result;
  } catch (err) {
    status.classList.add('bad');
    fill(status, message(err));
    return undefined;
  } finally {
    button.disabled = false;
  }
}

/** A button that copies `text` and says so. */
export function copyButton(text, label = 'Copy') {
  const said = statusLine();
  const button = h('button', {
    type: 'button',
    class: 'small',
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(text);
        fill(said, 'Copied.');
      } catch {
        fill(said, 'Copy blocked by the browser: select the text and copy it.');
      }
    },
  }, label);
  return h('span', { class: 'copy' }, button, said);
}

/** A secret shown once, in full, with a copy button. */
export function secretOnce(title, secret, note) {
  return h('div', { class: 'secret-once', role: 'region', 'aria-label': title },
    h('h3', {}, title),
    h('p', {}, note),
    h('div', { class: 'secret-row' },
      h('code', { class: 'secret', 'data-secret': 'full' }, secret),
      copyButton(secret, 'Copy secret')));
}

/** A modal dialog; resolves when it closes. `build(close)` returns its body. */
export function dialog(title, build) {
  return new Promise((resolve) => {
    const titleId = uid('dialog-title');
    const box = h('dialog', { 'aria-labelledby': titleId, class: 'dialog' });
    const close = (value) => {
      if (box.open) box.close();
      resolve(value);
    };
    // A link inside it leads to a page: the dialog goes, even when the page is the one under it.
    box.addEventListener('click', (e) => {
      if (e.target.closest('a[href^="#/"]')) close();
    });
    box.addEventListener('close', () => {
      box.remove();
      resolve(undefined);
    });
    fill(box,
      h('div', { class: 'dialog-head' },
        h('h2', { id: titleId }, title),
        h('button', { type: 'button', class: 'quiet', 'aria-label': 'Close', onclick: () => close() }, '✕')),
      build(close));
    document.body.append(box);
    box.showModal();
  });
}

/**
 * A rotation dialog's body: `controls` above Rotate / Cancel; on submit,
 * `rotate()` returns the new secret's answer, shown once with `note`, and a
 * refusal is shown at `errorField`.
 */
export function rotationForm(close, controls, rotate, { title, note, errorField }) {
  const form = h('form', { novalidate: true },
    ...controls,
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Rotate secret'),
      h('button', { type: 'button', onclick: () => close() }, 'Cancel')));
  const body = h('div', {}, form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    try {
      const rotated = await rotate();
      fill(body,
        secretOnce(title, rotated.secret, note),
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => close() }, 'Done')));
      body.querySelector('button')?.focus();
    } catch (err) {
      showError(form, err, () => errorField);
    }
  });
  return body;
}

const badges = {
  active: 'good', delivered: 'good', processed: 'good',
  paused: 'warn', retrying: 'warn', pending: 'info', parked: 'warn', received: 'info', duplicate: 'info',
  disabled: 'bad', failed: 'bad',
};

/** A status word with a colour that is never the only cue. */
export function badge(status) {
  return h('span', { class: `badge ${badges[status] ?? 'info'}` }, status);
}

// Times are shown in the browser's time zone (named, so nobody takes them
// for UTC) with the UTC time on hover.
const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
});

/** `2026-12-02 09:06:33 UTC` */
export function utc(date) {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A time in the browser's time zone, with UTC on hover (title). */
export function when(iso) {
  if (!iso) return '–';
  const date = iso instanceof Date ? iso : new Date(iso);
  return h('time', { datetime: date.toISOString(), title: utc(date) }, dateTime.format(date));
}

export function percent(part, whole) {
  return whole ? `${((100 * part) / whole).toFixed(1)} %` : '–';
}

/** An `<input type="datetime-local">` value for a Date, in local time. */
export function localInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** RFC 3339 (UTC) for a datetime-local value, or undefined when empty. */
export function fromLocalInput(value) {
  return value ? new Date(value).toISOString() : undefined;
}

/** A page heading that takes focus, so a screen reader announces the new page. */
export function pageHeading(text) {
  return h('h1', { tabindex: '-1', class: 'page-title' }, text);
}

/** A table with a caption (visually hidden when `hideCaption`). */
export function table(caption, headers, rows, hideCaption = true) {
  return h('table', {},
    h('caption', { class: hideCaption ? 'visually-hidden' : '' }, caption),
    h('thead', {}, h('tr', {}, headers.map((text) => h('th', { scope: 'col' }, text)))),
    h('tbody', {}, rows));
}
