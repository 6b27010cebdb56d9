// The operator's view in a real browser, set to India Standard Time (UTC+5:30)
// so local and UTC times differ: the event log and an event's page (did it
// reach everyone, and if not, why?), a source's settings and the rotation of
// its secret, and the overview's incoming figures beside the outgoing ones.
// Screenshots go to target/console-screenshots/.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  adminApi, openBrowser, postSigned, shots, startPlatform, startReceiver, until,
} from './harness.mjs';

const ZONE = 'Asia/Kolkata';

describe("the operator's view", () => {
  let platform;
  let receiver;
  let browser;
  let page;
  let problems;
  let api;
  let billEvent;
  let patientEvent;

  const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  const button = (name, scope = page) => scope.getByRole('button', { name, exact: true });
  const dialog = () => page.locator('dialog[open]');
  const section = (name) => page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name }).click();
  const badgeIn = (row, status) => row.locator('.badge', { hasText: new RegExp(`^${status}$`) });
  const fact = (term) => page.locator('dl.facts dt', { hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');
  const says = (locator, text) => until(`"${text}"`, async () => (await locator.textContent()).includes(text));

  const endpoint = async (name, pathName, retryPolicy) => {
    const created = await api('POST', '/v1/endpoints', {
      name, url: `${receiver.origin}${pathName}`, event_types: ['bill.*'], retry_policy: retryPolicy,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body.id;
  };
  const publish = async (type, data) => {
    const published = await api('POST', '/v1/events', { type, data });
    assert.equal(published.status, 202, JSON.stringify(published.body));
    return (await api('GET', `/v1/events/${published.body.id}`)).body;
  };

  before(async () => {
    mkdirSync(shots, { recursive: true });
    [platform, receiver] = await Promise.all([startPlatform(), startReceiver()]);
    api = adminApi(platform);
    ({ browser, page, problems } = await openBrowser(platform, { timezoneId: ZONE, locale: 'en-GB' }));
    await page.goto(`${platform.url}/console`);
    await page.getByLabel('API key').fill(platform.adminKey);
    await button('Open the console').click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  });

  after(async () => {
    await browser?.close();
    await platform?.stop();
    await receiver?.close();
  });

  it('shows an event published to three endpoints reaching two, and the failing one with its answer', async () => {
    receiver.statusByPath.set('/hooks/ledger', 500);
    await endpoint('Billing', '/hooks/billing', 'exponential');
    await endpoint('Reports', '/hooks/reports', 'exponential');
    const ledger = await endpoint('Ledger', '/hooks/ledger', 'none');
    billEvent = await publish('bill.paid', { invoice: 'INV-77', amount: 4200 });

    await section('Events');
    await page.getByLabel('Event id or correlation id').fill(billEvent.id);
    await button('Find').click();
    await page.getByRole('heading', { name: `Event ${billEvent.id}`, level: 1 }).waitFor();
    const rows = page.locator('tr[data-delivery]');
    await says(page.locator('.verdict'), 'Delivered to 2 of 3 endpoints; 1 failed.');
    assert.equal(await rows.count(), 3, 'one delivery per endpoint');
    assert.equal(await badgeIn(rows, 'delivered').count(), 2);
    const failed = page.locator(`tr[data-endpoint="${ledger}"]`);
    await badgeIn(failed, 'failed').waitFor();
    assert.equal(await failed.locator('.url').textContent(), `${receiver.origin}/hooks/ledger`);
    await failed.getByText('Ledger', { exact: true }).waitFor();
    assert.equal(await failed.getByRole('cell', { name: 'HTTP 500' }).count(), 1, 'its last answer');
    await page.getByText('INV-77').waitFor();
    await shot('event-page');

    await failed.getByRole('button', { name: /^Open delivery/ }).click();
    await dialog().getByText('the receiver is down for maintenance').waitFor();
    assert.equal(await dialog().getByRole('cell', { name: 'HTTP 500' }).count(), 1, 'one attempt, no retries');
    await shot('event-failed-delivery');
    await button('Close', dialog()).click();

    await failed.getByRole('link', { name: ledger }).click();
    await page.getByRole('heading', { name: 'Delivery history: Ledger' }).waitFor();
    await page.locator('tr[data-delivery]').getByRole('button', { name: /^Open delivery/ }).click();
    await dialog().getByRole('link', { name: billEvent.id }).click();
    await page.getByRole('heading', { name: `Event ${billEvent.id}`, level: 1 }).waitFor();
    await dialog().waitFor({ state: 'detached' });
  });

  it('lists events newest first, narrows them by type, and finds them by correlation id', async () => {
    patientEvent = await publish('patient.registered', { patient: 'P-1' });
    await section('Events');
    const rows = page.locator('tr[data-event]');
    await until('the newest event listed first', async () => (await rows.first().getAttribute('data-event')) === patientEvent.id);
    // The failed delivery published a delivery.exhausted event in between.
    const listed = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.event));
    assert.ok(listed.indexOf(billEvent.id) > 0, `newest first: ${listed}`);

    await page.getByLabel('Type', { exact: true }).fill('bill.*');
    await button('Apply').click();
    await until('only the bill event', async () => (await rows.count()) === 1 && (await rows.getAttribute('data-event')) === billEvent.id);
    assert.match(page.url(), /#\/events\?type=bill\.\*$/, 'the filter is in the address');
    await button('Clear').click();
    await until('every event again', async () => (await rows.count()) === listed.length);

    // The time filters take the browser's local time.
    const inIndia = (ms) => new Intl.DateTimeFormat('sv-SE', { timeZone: ZONE, dateStyle: 'short', timeStyle: 'short' })
      .format(new Date(Date.now() + ms)).replace(' ', 'T');
    await page.getByLabel('Created since').fill(inIndia(-3600_000));
    await page.getByLabel('Created before').fill(inIndia(3600_000));
    await button('Apply').click();
    assert.match(page.url(), /since=.*until=/);
    await until('every event within the hour', async () => (await rows.count()) === listed.length);
    await page.getByLabel('Created since').fill(inIndia(1800_000));
    await button('Apply').click();
    await page.getByText('No events match.').waitFor();
    await button('Clear').click();
    await until('every event again', async () => (await rows.count()) === listed.length);

    await page.getByLabel('Event id or correlation id').fill(patientEvent.correlation_id);
    await button('Find').click();
    await until('the event with that correlation id', async () => (await rows.count()) === 1 && (await rows.getAttribute('data-event')) === patientEvent.id);
    assert.equal(await page.getByLabel('Correlation id', { exact: true }).inputValue(), patientEvent.correlation_id);
    await shot('events');

    await page.getByLabel('Event id or correlation id').fill('evt_01m8txc1e8tknx086nf3p6g4jc');
    await button('Find').click();
    await page.getByRole('heading', { name: 'Event not found', level: 1 }).waitFor();
    await page.getByText('This tenant has no event evt_01m8txc1e8tknx086nf3p6g4jc').waitFor();
  });

  it("shows times in the browser's time zone, with UTC on hover", async () => {
    await section('Events');
    await page.getByRole('link', { name: `Event ${billEvent.id}` }).click();
    const created = fact('Created').locator('time');
    const at = new Date(billEvent.created_at);
    const utc = `${at.toISOString().slice(0, 10)} ${at.toISOString().slice(11, 19)} UTC`;
    assert.equal(await created.getAttribute('title'), utc);
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(at);
    const shown = await created.textContent();
    assert.ok(shown.includes(local) && /IST|GMT\+5:30/.test(shown), `${shown} is ${local} India time, named`);
    assert.ok(!shown.includes(at.toISOString().slice(11, 19)), 'not the UTC time');

    await section('Overview');
    // Chromium names India's zone by its older alias, Asia/Calcutta.
    await page.getByText(/^Hours in Asia\/(Kolkata|Calcutta)$/).waitFor();
    const midnight = page.locator('p', { hasText: 'Since midnight' }).locator('time');
    assert.match(await midnight.textContent(), /00:00:00 (IST|GMT\+5:30)/);
    assert.match(await midnight.getAttribute('title'), /18:30:00 UTC$/, 'midnight in India is 18:30 UTC');
  });

  it('edits a source, refusing a bad value next to its field, and saves every setting', async () => {
    const created = await api('POST', '/v1/sources', { slug: 'crm', auth_type: 'hms', secret: 'first-secret', event_type_pointer: '/event' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await section('Incoming sources');
    const row = page.locator('tr[data-source="crm"]');
    await page.getByRole('button', { name: 'Edit crm' }).click();
    const form = dialog();
    assert.equal(await form.getByLabel('Authentication').inputValue(), 'hms');
    assert.equal(await form.getByLabel("The provider's own type").isChecked(), true);
    assert.equal(await form.getByLabel('Event type', { exact: true }).isDisabled(), true, 'only the chosen mapping is editable');
    await form.getByLabel('Name').fill('Front desk CRM');
    await form.getByLabel('Timestamp tolerance (seconds)').fill('0');
    await button('Save changes', form).click();
    await says(form.locator('[data-field="tolerance_seconds"] .field-error'), 'tolerance_seconds must be between 1 and 3600');
    await shot('edit-source-refused');

    await form.getByLabel('Timestamp tolerance (seconds)').fill('600');
    await form.getByLabel('Dedupe key').fill('X-Request-Id');
    await form.getByLabel('Dedupe window (seconds)').fill('3600');
    await form.getByLabel('One fixed event type').check();
    await form.getByLabel('Event type', { exact: true }).fill('crm.contact.updated');
    await form.getByLabel(/^Enabled/).uncheck();
    await shot('edit-source');
    await button('Save changes', form).click();
    await dialog().waitFor({ state: 'detached' });
    await page.getByText('Saved crm. Webhooks follow the new settings within seconds.').waitFor();
    await badgeIn(row, 'disabled').waitFor();
    for (const text of ['Front desk CRM', 'crm.contact.updated', 'Tolerance 600 s', 'X-Request-Id for 3600 s']) await says(row, text);
    const stored = (await api('GET', '/v1/sources/crm')).body;
    assert.deepEqual(
      [stored.name, stored.tolerance_seconds, stored.dedupe_key, stored.dedupe_window_seconds, stored.event_type, stored.event_type_pointer, stored.enabled],
      ['Front desk CRM', 600, 'X-Request-Id', 3600, 'crm.contact.updated', null, false],
    );

    await page.getByRole('button', { name: 'Edit crm' }).click();
    await dialog().getByLabel(/^Enabled/).check();
    await button('Save changes', dialog()).click();
    await dialog().waitFor({ state: 'detached' });
    await until('the source enabled again', async () => (await badgeIn(row, 'disabled').count()) === 0);
    await shot('sources-edited');
  });

  it("rotates a source's secret, shows the new one once, and from then on only it verifies", async () => {
    const row = page.locator('tr[data-source="crm"]');
    await page.getByRole('button', { name: 'Rotate the secret of crm' }).click();
    await button('Rotate secret', dialog()).click();
    const fresh = await dialog().locator('[data-secret="full"]').textContent();
    assert.match(fresh, /^whsec_/);
    await shot('rotate-source-secret');
    await button('Done', dialog()).click();
    await until('the new secret masked in the list', async () => (await row.locator('[data-secret="masked"]').textContent()).endsWith(fresh.slice(-4)));
    assert.ok(!(await page.content()).includes(fresh), 'the full secret is gone from the page');

    const signedWithNew = await postSigned(platform, 'crm', fresh, '{"contact":"c-1"}');
    assert.equal(signedWithNew.status, 202, await signedWithNew.text());
    // The receive function may hold the old secret for a few seconds.
    await until('the old secret refused', async () => (await postSigned(platform, 'crm', 'first-secret', '{"contact":"c-2"}')).status === 401);
  });

  it('links an inbound webhook to the event it became, and the event back to it', async () => {
    await section('Incoming sources');
    await page.locator('tr[data-source="crm"]').getByRole('link', { name: 'Inbound log' }).click();
    const processed = page.locator('tr[data-inbound]', { has: page.locator('.badge', { hasText: /^processed$/ }) }).first();
    const inboundId = await processed.getAttribute('data-inbound');
    await processed.getByRole('link', { name: /^Event evt_/ }).click();
    await page.getByRole('heading', { name: /^Event evt_/, level: 1 }).waitFor();
    await says(fact('Type'), 'crm.contact.updated');
    await says(fact('Came from'), `The inbound webhook ${inboundId} of the source crm processed`);
    await fact('Came from').getByRole('link', { name: 'crm' }).click();
    await page.getByRole('heading', { name: 'Inbound log: crm' }).waitFor();
  });

  it('shows incoming figures beside outgoing ones on the overview', async () => {
    const feed = await api('POST', '/v1/sources', { slug: 'feed', auth_type: 'none', event_type_pointer: '/kind' });
    assert.equal(feed.status, 201, JSON.stringify(feed.body));
    const send = (body) => fetch(`${platform.url}/api/v1/webhooks/feed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal((await send('{"kind":"ping","n":1}')).status, 202);
    assert.equal((await send('{"kind":"ping","n":1}')).status, 200, 'a duplicate');
    assert.equal((await send('{"n":2}')).status, 202, 'no kind: it will fail');

    // The overview counts since midnight in the browser's zone.
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE }).format(new Date());
    const since = new Date(`${today}T00:00:00+05:30`).toISOString();
    const stats = await until('inbound processing to finish', async () => {
      const s = (await api('GET', `/v1/stats?since=${since}`)).body;
      return s.inbound.pending === 0 && s.inbound.failed >= 1 && s;
    });
    assert.ok(stats.inbound.duplicate >= 1 && stats.inbound.processed >= 1, JSON.stringify(stats.inbound));

    await section('Overview');
    const tile = (side, label) => page.locator(`[data-side="${side}"] .tile`, { has: page.locator('.tile-label', { hasText: new RegExp(`^${label}$`) }) }).locator('.tile-value');
    await says(tile('incoming', 'Received'), String(stats.inbound.received));
    for (const [label, value] of [['Processed', stats.inbound.processed], ['Failed', stats.inbound.failed], ['Duplicates', stats.inbound.duplicate]]) {
      assert.equal(await tile('incoming', label).textContent(), String(value), label);
    }
    assert.equal(await tile('incoming', 'Sources').textContent(), '2 enabled');
    assert.equal(await tile('outgoing', 'Delivered').textContent(), String(stats.deliveries.delivered));
    assert.equal(await tile('outgoing', 'Failed').textContent(), String(stats.deliveries.failed));
    const [outgoing, incoming] = await Promise.all(['outgoing', 'incoming'].map((side) => page.locator(`[data-side="${side}"]`).boundingBox()));
    assert.ok(incoming.x > outgoing.x && Math.abs(incoming.y - outgoing.y) < 2, 'side by side');
    await shot('overview-inbound');
  });

  it('changes a source to a signed authentication once it has a secret', async () => {
    await section('Incoming sources');
    const row = page.locator('tr[data-source="feed"]');
    await page.getByRole('button', { name: 'Edit feed' }).click();
    await dialog().getByLabel('Authentication').selectOption('hms');
    await button('Save changes', dialog()).click();
    await says(dialog().locator('[data-field="auth_type"] .field-error'), 'This source has no secret: rotate-secret first');
    await button('Cancel', dialog()).click();

    await page.getByRole('button', { name: 'Rotate the secret of feed' }).click();
    await button('Rotate secret', dialog()).click();
    const secret = await dialog().locator('[data-secret="full"]').textContent();
    await button('Done', dialog()).click();
    await page.getByRole('button', { name: 'Edit feed' }).click();
    await dialog().getByLabel('Authentication').selectOption('hms');
    await button('Save changes', dialog()).click();
    await dialog().waitFor({ state: 'detached' });
    await says(row.locator('td').nth(1), 'hms');
    // The receive function may hold the unauthenticated source for a few seconds.
    await until('an unsigned request refused', async () => (
      await fetch(`${platform.url}/api/v1/webhooks/feed`, { method: 'POST', body: '{"kind":"unsigned"}' })).status === 401);
    const signed = await postSigned(platform, 'feed', secret, '{"kind":"signed"}');
    assert.equal(signed.status, 202, await signed.text());
  });

  it('loaded nothing the Content-Security-Policy refused and threw no errors', () => {
    assert.deepEqual(problems, []);
  });
});
