// Incoming sources: the list, adding one (secret and receive URL shown once),
// editing one and rotating its secret (source-form.js), and a source's
// inbound log with replays of one or of every failed one.

import { all, get, post } from './api.js';
import {
  act, badge, clearErrors, copyButton, dialog, field, fill, fromLocalInput, h, localInput, message, pageHeading,
  secretOnce, showError, statusLine, table, when,
} from './dom.js';
import { AUTH_TYPES, becomes, editSource, rotateSourceSecret, sourceField } from './source-form.js';

/** The public URL providers post to, on the host serving this console. */
export function receiveUrl(source) {
  return new URL(source.receive_path.replace(/^\//, ''), document.baseURI).href.replace(/#.*$/, '');
}

async function addSource(reload) {
  await dialog('Add source', (close) => {
    const slug = h('input', { type: 'text', name: 'slug', required: true, pattern: '[a-z0-9-]{2,64}', autocomplete: 'off' });
    const name = h('input', { type: 'text', name: 'name', class: 'wide', maxlength: 128 });
    const auth = h('select', { name: 'auth_type' }, AUTH_TYPES.map(([v, label]) => h('option', { value: v }, label)));
    const eventType = h('input', { type: 'text', name: 'event_type', placeholder: 'crm.contact.updated' });
    const pointer = h('input', { type: 'text', name: 'event_type_pointer', placeholder: '/event' });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Add source');
    const form = h('form', { novalidate: true },
      field('Slug', slug, 'Lowercase letters, digits and -; it becomes part of the receive URL.'),
      field('Name', name, 'Optional.'),
      field('Authentication', auth),
      h('div', { class: 'row' },
        field('Event type', eventType, 'Every webhook becomes this event…'),
        field('…or JSON pointer to the provider\'s type', pointer, 'Published as {slug}.{value}. Leave both empty for {slug}.received.')),
      h('p', { class: 'form-error', role: 'alert', hidden: true }),
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', onclick: () => close() }, 'Cancel')));
    const body = h('div', {}, form);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const input = { slug: slug.value.trim(), auth_type: auth.value };
      if (name.value.trim()) input.name = name.value.trim();
      if (eventType.value.trim()) input.event_type = eventType.value.trim();
      if (pointer.value.trim()) input.event_type_pointer = pointer.value.trim();
      submit.disabled = true;
      try {
        const created = await post('v1/sources', input);
        const url = receiveUrl(created);
        fill(body,
          h('p', {}, 'The source ', h('strong', {}, created.slug), ' was added. Configure the provider with:'),
          h('div', { class: 'secret-once', role: 'region', 'aria-label': 'Receive URL' },
            h('h3', {}, 'Receive URL'),
            h('div', { class: 'secret-row' }, h('code', { 'data-receive-url': '' }, url), copyButton(url, 'Copy URL'))),
          created.auth_type === 'none'
            ? h('p', { class: 'notice warn' }, 'This source accepts unauthenticated requests.')
            : secretOnce('Secret', created.secret, 'The provider signs with it. Copy it now: it will be masked from now on.'),
          h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => close() }, 'Done')));
        body.querySelector('button')?.focus();
      } catch (err) {
        showError(form, err, sourceField);
      } finally {
        submit.disabled = false;
      }
    });
    return body;
  });
  await reload();
}

/** A source's row; edits and rotations report in `outcome`, which outlives the row. */
function sourceRow(s, reload, outcome) {
  const report = (text, bad) => {
    outcome.classList.toggle('bad', Boolean(bad));
    fill(outcome, text);
  };
  const edit = h('button', { type: 'button', class: 'small', 'aria-label': `Edit ${s.slug}` }, 'Edit');
  edit.addEventListener('click', async () => {
    report('');
    try {
      const saved = await editSource(s);
      if (saved && saved !== s) {
        await reload();
        // The receive function keeps a source for a few seconds.
        report(`Saved ${s.slug}. Webhooks follow the new settings within seconds.`);
      }
    } catch (err) {
      report(message(err), true);
    }
  });
  const rotate = h('button', { type: 'button', class: 'small', 'aria-label': `Rotate the secret of ${s.slug}` }, 'Rotate secret');
  rotate.addEventListener('click', () => rotateSourceSecret(s).then(reload).catch((err) => report(message(err), true)));
  return h('tr', { 'data-source': s.slug },
    h('td', {}, h('a', { href: `#/sources/${s.slug}`, class: 'strong' }, s.slug),
      s.name && s.name !== s.slug ? h('p', { class: 'muted small-text' }, s.name) : null,
      s.enabled ? null : h('p', {}, badge('disabled'))),
    h('td', {}, h('code', {}, s.auth_type),
      s.secret ? h('p', { class: 'muted small-text' }, 'Secret ', h('code', { 'data-secret': 'masked' }, s.secret)) : null,
      h('p', { class: 'muted small-text' }, `Tolerance ${s.tolerance_seconds} s`),
      h('p', { class: 'muted small-text' }, 'Dedupe ', s.dedupe_key ? h('code', {}, s.dedupe_key) : 'by the provider\'s id or body',
        ` for ${s.dedupe_window_seconds} s`)),
    h('td', {}, h('code', { class: 'url' }, receiveUrl(s)), ' ', copyButton(receiveUrl(s), 'Copy')),
    h('td', {}, h('code', {}, becomes(s))),
    h('td', {}, h('div', { class: 'row-actions' },
      h('a', { href: `#/sources/${s.slug}`, class: 'button small' }, 'Inbound log'), edit, rotate)));
}

export async function sourcesPage(view) {
  const outcome = statusLine();
  const list = h('div', { class: 'card' }, h('p', { class: 'muted' }, 'Loading sources…'));
  const reload = async () => {
    const sources = await all('v1/sources');
    if (!sources.length) {
      fill(list, h('p', {}, 'No sources yet. Add one for each provider that sends you webhooks.'));
      return;
    }
    fill(list, table('Sources', ['Source', 'Authentication', 'Receive URL', 'Becomes', 'Actions'], sources.map((s) => sourceRow(s, reload, outcome))));
  };
  const addButton = h('button', { type: 'button', class: 'primary' }, 'Add source');
  const addStatus = statusLine();
  addButton.addEventListener('click', () => addSource(reload).catch((err) => fill(addStatus, message(err))));
  fill(view,
    h('div', { class: 'page-head' }, pageHeading('Incoming sources'), h('div', {}, addButton, addStatus)),
    h('p', { class: 'muted' }, 'Providers post to a source\'s receive URL; each verified webhook becomes an internal event.'),
    h('p', { class: 'outcome' }, outcome),
    list);
  await reload();
}

/** A link to the page of the event a webhook became. */
function eventLink(id) {
  return id ? h('a', { href: `#/events/${id}`, class: 'mono', 'aria-label': `Event ${id}` }, id) : null;
}

async function openInbound(id, replay) {
  const r = await get(`v1/inbound/${id}`);
  await dialog(`Inbound webhook ${r.id}`, () => {
    const said = statusLine();
    const again = h('button', { type: 'button', class: 'primary' }, 'Replay');
    again.addEventListener('click', () => act(again, said, () => replay(r.id), (x) => `Replayed as ${x.id}.`));
    return h('div', { class: 'detail' },
      h('dl', { class: 'facts' },
        h('dt', {}, 'Status'), h('dd', {}, badge(r.status)),
        h('dt', {}, 'Received'), h('dd', {}, when(r.received_at)),
        h('dt', {}, 'Correlation id'), h('dd', {}, h('code', {}, r.correlation_id)),
        r.event_type ? [h('dt', {}, 'Became'), h('dd', {}, h('code', {}, r.event_type), ' ', eventLink(r.event_id))] : null,
        r.failure_reason ? [h('dt', {}, 'Failure'), h('dd', { class: 'bad-text' }, r.failure_reason)] : null,
        r.replay_of ? [h('dt', {}, 'Replay of'), h('dd', {}, h('code', {}, r.replay_of))] : null,
        r.duplicate_of ? [h('dt', {}, 'Duplicate of'), h('dd', {}, h('code', {}, r.duplicate_of))] : null),
      h('h3', {}, 'Headers'),
      table('Headers', ['Name', 'Value'], Object.entries(r.headers).map(([k, v]) => h('tr', {}, h('td', {}, h('code', {}, k)), h('td', {}, v)))),
      h('h3', {}, 'Body (masked)'),
      h('pre', { class: 'body' }, r.body),
      h('div', { class: 'actions' }, again, said));
  });
}

export async function inboundPage(view, { alive, params: [slug] }) {
  const source = await get(`v1/sources/${slug}`);
  const status = h('select', { name: 'status' },
    ['', 'received', 'processed', 'failed', 'duplicate'].map((s) => h('option', { value: s }, s || 'Any status')));
  const filters = h('form', { class: 'filters', 'aria-label': 'Filter the inbound log' }, field('Status', status), h('button', { type: 'submit' }, 'Apply'));
  const list = h('div', { class: 'card' });
  const more = h('div', { class: 'actions' });
  let cursor = null;
  let body = null;
  let pending = 0;

  const replay = async (id) => {
    const r = await post(`v1/inbound/${id}/replay`);
    await load(false);
    return r;
  };

  // Row actions report here: a replay reloads the log, replacing the row.
  const outcome = statusLine();
  const renderRow = (r) => {
    const said = statusLine();
    const again = h('button', { type: 'button', class: 'small', disabled: r.status === 'received' }, 'Replay');
    again.addEventListener('click', () => act(again, outcome, () => replay(r.id), (x) => `Replayed ${r.id} as ${x.id}.`));
    const open = h('button', { type: 'button', class: 'link', 'aria-label': `Open inbound webhook ${r.id}` }, r.id);
    open.addEventListener('click', () => openInbound(r.id, replay).catch((err) => fill(said, message(err))));
    if (r.status === 'received') pending += 1;
    return h('tr', { 'data-inbound': r.id },
      h('td', {}, open, r.replay_of ? h('p', { class: 'muted small-text' }, `replay of ${r.replay_of}`) : null),
      h('td', {}, when(r.received_at)),
      h('td', {}, badge(r.status)),
      h('td', {}, r.event_type ? h('code', {}, r.event_type) : '–', r.event_id ? h('p', { class: 'small-text' }, eventLink(r.event_id)) : null),
      h('td', {}, r.failure_reason ? h('span', { class: 'bad-text' }, r.failure_reason) : h('code', { class: 'muted' }, r.correlation_id)),
      h('td', {}, h('div', { class: 'row-actions' }, again, said)));
  };

  // Newest first reads best in a log; the API lists oldest first, so the
  // loaded page is reversed.
  async function load(append) {
    if (!append) pending = 0;
    const page = await get('v1/inbound', { source: slug, status: status.value, limit: 100, cursor: append ? cursor : undefined });
    const rows = page.data.map(renderRow).reverse();
    if (!append || !body) {
      if (!rows.length) {
        body = null;
        fill(list, h('p', {}, 'Nothing received that matches.'));
      } else {
        const t = table('Inbound webhooks', ['Webhook', 'Received', 'Status', 'Became', 'Failure or correlation id', 'Actions'], rows);
        body = t.tBodies[0];
        fill(list, t);
      }
    } else {
      body.prepend(...rows);
    }
    cursor = page.next_cursor;
    fill(more, cursor ? h('button', { type: 'button', onclick: () => load(true) }, 'Load more') : null);
    refreshSoon();
  }

  // The log is re-read every few seconds (sooner while webhooks are being
  // processed), but not while focus is in it or a dialog is open: a reload
  // would take the focus away.
  let refreshes = 0;
  let timer;
  function refreshSoon() {
    clearTimeout(timer);
    if (refreshes >= 600) return;
    refreshes += 1;
    timer = setTimeout(() => {
      if (!alive()) return;
      const busy = list.contains(document.activeElement) || document.querySelector('dialog[open]') || document.hidden;
      if (busy) refreshSoon();
      else load(false).catch(() => refreshSoon());
    }, pending ? 2000 : 5000);
  }

  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    load(false).catch((err) => fill(list, h('p', { class: 'notice bad', role: 'alert' }, message(err))));
  });

  const replaySince = h('input', { type: 'datetime-local', name: 'replay_since', value: localInput(new Date(Date.now() - 24 * 3600 * 1000)) });
  const replayFailed = h('button', { type: 'submit' }, 'Replay failed');
  const replayStatus = statusLine();
  const bulk = h('form', { class: 'filters', 'aria-label': 'Replay failed webhooks' },
    field('Replay every failed webhook since', replaySince), replayFailed, replayStatus);
  bulk.addEventListener('submit', (e) => {
    e.preventDefault();
    act(replayFailed, replayStatus, async () => {
      const r = await post('v1/inbound/replay', { source: slug, failed_only: true, since: fromLocalInput(replaySince.value) });
      await load(false);
      return r;
    }, (r) => `Replayed ${r.replayed} ${r.replayed === 1 ? 'webhook' : 'webhooks'}.`);
  });

  fill(view,
    h('p', { class: 'crumbs' }, h('a', { href: '#/sources' }, '← Incoming sources')),
    h('div', { class: 'page-head' }, pageHeading(`Inbound log: ${source.slug}`)),
    h('p', {}, 'Receive URL ', h('code', {}, receiveUrl(source)), ' ', copyButton(receiveUrl(source), 'Copy')),
    h('div', { class: 'toolbar' }, filters, bulk),
    h('p', { class: 'outcome' }, outcome),
    list, more);
  await load(false);
}
