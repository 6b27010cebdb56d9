// The admin console in a real browser: `hookline dev` on a free port, a local
// receiver that can be told to fail, Debian's Chromium driven by
// playwright-core. Walks the setup guides of the HMS webhooks page end to end
// and leaves a screenshot of every page in target/console-screenshots/.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  adminApi, hmac, openBrowser, postSigned, shots, startPlatform, startReceiver, until,
} from './harness.mjs';

describe('the admin console', () => {
  let platform;
  let receiver;
  let browser;
  let page;
  let secret;
  let sourceSecret;
  let problems;
  let api;

  const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`) });
  const button = (name, scope = page) => scope.getByRole('button', { name, exact: true });
  const dialog = () => page.locator('dialog[open]');
  const section = (name) => page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name }).click();
  const badgeIn = (row, status) => row.locator('.badge', { hasText: new RegExp(`^${status}$`) });
  /** What the endpoint's page says next to `term` in its settings. */
  const fact = (term) => page.locator('dl.facts dt', { hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');
  const says = (locator, text) => until(`"${text}"`, async () => (await locator.textContent()).includes(text));

  /** Posts to the `crm` source as a provider would: HMS-signed with the source's secret. */
  const postInbound = async (body) => {
    const res = await postSigned(platform, 'crm', sourceSecret, body);
    assert.equal(res.status, 202, await res.text());
  };

  before(async () => {
    mkdirSync(shots, { recursive: true });
    [platform, receiver] = await Promise.all([startPlatform(), startReceiver()]);
    api = adminApi(platform);
    ({ browser, page, problems } = await openBrowser(platform));
  });

  after(async () => {
    await browser?.close();
    await platform?.stop();
    await receiver?.close();
  });

  it('asks for an API key, refuses a wrong one next to the field, keeps the right one in the tab only', async () => {
    await page.goto(`${platform.url}/console`);
    await page.getByLabel('API key').fill('not-a-key');
    await button('Open the console').click();
    await page.locator('.field-error', { hasText: 'not accepted' }).waitFor();
    await shot('sign-in');
    await page.getByLabel('API key').fill(platform.adminKey);
    await button('Open the console').click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    const stored = await page.evaluate(() => [sessionStorage.length, localStorage.length, document.cookie]);
    assert.deepEqual(stored, [1, 0, '']);
  });

  it('adds an endpoint from the catalog, shows its secret once, then only masked', async () => {
    await section('Outgoing webhooks');
    await page.getByText('No endpoints yet').waitFor();
    await button('Add endpoint').click();
    const form = dialog();
    await form.getByLabel('URL', { exact: true }).fill('http://10.1.2.3/hook');
    await form.getByLabel('Name').fill('Billing system');
    await form.getByLabel('Search the event catalog').fill('bill');
    assert.equal(await form.getByText('patient.registered', { exact: true }).isVisible(), false, 'the search narrows the catalog');
    await form.getByLabel('bill.paid').check();
    await form.getByLabel('Max retries').fill('1');
    await form.getByLabel('Timeout (seconds)').fill('5');
    await button('Add endpoint', form).click();
    const urlError = form.locator('[data-field="url"] .field-error');
    await urlError.waitFor();
    assert.match(await urlError.textContent(), /public addresses|https/, 'a private target is refused next to the URL');

    await form.getByLabel('URL', { exact: true }).fill(receiver.url);
    await button('Add endpoint', form).click();
    const shown = form.locator('[data-secret="full"]');
    await shown.waitFor();
    secret = await shown.textContent();
    assert.match(secret, /^whsec_[A-Za-z0-9+/=]{40,}$/);
    await button('Copy secret', form).click();
    await form.getByText('Copied.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await shot('add-endpoint-secret');
    await button('Done', form).click();

    const row = page.locator('tr[data-endpoint]');
    await badgeIn(row, 'active').waitFor();
    const masked = await row.locator('[data-secret="masked"]').textContent();
    assert.notEqual(masked, secret);
    assert.ok(masked.startsWith('whsec_') && masked.endsWith(secret.slice(-4)), masked);
    assert.ok(!(await page.content()).includes(secret), 'the full secret is gone from the page');
  });

  it('shows a published event delivered, signed with that secret', async () => {
    const published = await api('POST', '/v1/events', { type: 'bill.paid', data: { invoice: 'INV-1', amount: 1200 } });
    assert.equal(published.status, 202);
    await page.getByRole('link', { name: 'Delivery history' }).click();
    await page.getByRole('heading', { name: 'Delivery history: Billing system' }).waitFor();
    const row = page.locator('tr[data-delivery]').first();
    await badgeIn(row, 'delivered').waitFor();
    const got = receiver.received.at(-1);
    assert.equal(JSON.parse(got.body).id, published.body.id);
    const expected = `sha256=${hmac(secret, `${got.headers['x-hms-timestamp']}.${got.body}`)}`;
    assert.equal(got.headers['x-hms-signature'], expected, 'the receiver can verify with the secret it was shown');

    await row.getByRole('button', { name: /^Open delivery/ }).click();
    await dialog().getByRole('cell', { name: 'HTTP 200' }).waitFor();
    await dialog().getByText('INV-1').waitFor();
    await button('Close', dialog()).click();
  });

  it('shows a failed delivery with its attempts, and a retry from the UI delivers it', async () => {
    receiver.status = 500;
    await api('POST', '/v1/events', { type: 'bill.paid', data: { invoice: 'INV-2' } });
    await button('Apply').click();
    const row = page.locator('tr[data-delivery]').nth(1);
    await badgeIn(row, 'failed').waitFor();
    assert.equal(await row.getByRole('cell', { name: 'HTTP 500' }).count(), 1);

    await row.getByRole('button', { name: /^Open delivery/ }).click();
    const detail = dialog();
    await detail.getByText('retry scheduled').waitFor();
    assert.equal(await detail.getByRole('cell', { name: 'HTTP 500' }).count(), 2, 'the first try and one retry');
    await detail.getByText('the receiver is down for maintenance').first().waitFor();
    await shot('delivery-detail');
    await page.keyboard.press('Escape');
    await dialog().waitFor({ state: 'detached' });

    receiver.status = 200;
    const before = receiver.received.length;
    await button('Retry', row).click();
    await badgeIn(row, 'delivered').waitFor();
    assert.equal(receiver.received.length, before + 1);
    assert.equal(JSON.parse(receiver.received.at(-1).body).data.invoice, 'INV-2');
  });

  it('retries every failed delivery since a time', async () => {
    receiver.status = 503;
    await api('POST', '/v1/events', { type: 'bill.paid', data: { invoice: 'INV-3' } });
    await button('Apply').click();
    const row = page.locator('tr[data-delivery]').nth(2);
    await badgeIn(row, 'failed').waitFor();

    await page.getByLabel('Status').selectOption('failed');
    await button('Apply').click();
    await until('only the failed delivery listed', async () => (await page.locator('tr[data-delivery]').count()) === 1);

    receiver.status = 200;
    await button('Retry all failed').click();
    await page.getByText('Queued 1 delivery.').waitFor();
    await page.getByLabel('Status').selectOption('');
    await button('Apply').click();
    await until('three delivered deliveries', async () => (await page.locator('tr[data-delivery] .badge', { hasText: /^delivered$/ }).count()) === 3);
    await shot('delivery-history');
  });

  it('sends a test event, disables with a reason, enables, and rotates the secret', async () => {
    await section('Outgoing webhooks');
    const row = page.locator('tr[data-endpoint]');
    await row.getByText('%').waitFor();
    assert.equal(await row.locator('svg.chart.compact').count(), 1, 'a chart of the last 24 hours');

    await button('Send test event', row).click();
    await row.getByText(/Test event queued \(dlv_/).waitFor();
    await until('the test event at the receiver', () => receiver.received.some((r) => JSON.parse(r.body).type === 'endpoint.test'));

    await button('Disable', row).click();
    await dialog().getByLabel('Reason (optional)').fill('maintenance window');
    await button('Disable endpoint', dialog()).click();
    await badgeIn(row, 'disabled').waitFor();
    await row.getByText('maintenance window').waitFor();
    await button('Enable', row).click();
    await badgeIn(row, 'active').waitFor();

    await button('Rotate secret', row).click();
    await dialog().getByLabel('The old secret keeps signing for').selectOption('3600');
    await button('Rotate secret', dialog()).click();
    const fresh = await dialog().locator('[data-secret="full"]').textContent();
    assert.notEqual(fresh, secret);
    await button('Done', dialog()).click();
    await until('the new secret masked in the list', async () => (await row.locator('[data-secret="masked"]').textContent()).endsWith(fresh.slice(-4)));
    await shot('endpoints');
  });

  it('can be worked with the keyboard alone', async () => {
    await page.getByRole('heading', { name: 'Outgoing webhooks', level: 1 }).focus();
    let onAdd = false;
    for (let i = 0; i < 6 && !onAdd; i += 1) {
      await page.keyboard.press('Tab');
      onAdd = await page.evaluate(() => document.activeElement?.textContent === 'Add endpoint');
    }
    assert.ok(onAdd, 'Tab reaches the Add endpoint button');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'focus is visible');
    await page.keyboard.press('Enter');
    await dialog().getByLabel('URL', { exact: true }).waitFor();
    await page.keyboard.press('Escape');
    await dialog().waitFor({ state: 'detached' });
  });

  it("shows today's numbers and the deliveries per hour", async () => {
    await section('Overview');
    const delivered = page.locator('.tile', { hasText: 'Delivered' }).locator('.tile-value');
    await delivered.waitFor();
    assert.ok(Number(await delivered.textContent()) >= 4, 'three events and a test event delivered today');
    const chart = page.getByRole('img', { name: /^Deliveries per hour, last 24 hours/ });
    assert.match(await chart.getAttribute('aria-label'), /[1-9]\d* delivered/);
    assert.ok((await chart.locator('rect.bar.delivered').count()) >= 1);
    await shot('overview');
  });

  it('adds a source, shows its secret and receive URL once, and logs a signed webhook', async () => {
    await section('Incoming sources');
    await button('Add source').click();
    const form = dialog();
    await form.getByLabel('Slug').fill('Front Desk CRM');
    await form.getByLabel('Authentication').selectOption('hms');
    await form.getByLabel("…or JSON pointer to the provider's type").fill('/event');
    await button('Add source', form).click();
    await form.locator('[data-field="slug"] .field-error').waitFor();

    await form.getByLabel('Slug').fill('crm');
    await button('Add source', form).click();
    sourceSecret = await form.locator('[data-secret="full"]').textContent();
    assert.equal(await form.locator('[data-receive-url]').textContent(), `${platform.url}/api/v1/webhooks/crm`);
    await shot('add-source-secret');
    await button('Done', form).click();
    const row = page.locator('tr[data-source="crm"]');
    assert.ok((await row.locator('[data-secret="masked"]').textContent()).endsWith(sourceSecret.slice(-4)));
    await shot('sources');

    await postInbound('{"event":"contact.updated","contact":{"id":"c-9"}}');
    await row.getByRole('link', { name: 'Inbound log' }).click();
    await page.getByRole('heading', { name: 'Inbound log: crm' }).waitFor();
    const processed = page.locator('tr[data-inbound]', { hasText: 'crm.contact.updated' });
    await badgeIn(processed, 'processed').waitFor();
  });

  it('shows a webhook that failed processing and replays it from the UI', async () => {
    await postInbound('{"contact":{"id":"c-10"}}');
    await button('Apply').click();
    const failed = page.locator('tr[data-inbound]', { hasText: '/event' });
    await badgeIn(failed, 'failed').waitFor();
    await page.getByLabel('Status').selectOption('failed');
    await button('Apply').click();
    await until('only the failure listed', async () => (await page.locator('tr[data-inbound]').count()) === 1);

    // The provider's payload lacks the type; give the source a fixed one, then replay.
    const fixed = await api('PATCH', '/v1/sources/crm', { event_type_pointer: null, event_type: 'crm.contact.updated' });
    assert.equal(fixed.status, 200);
    const failedId = await page.locator('tr[data-inbound]').getAttribute('data-inbound');
    await button('Replay', page.locator('tr[data-inbound]')).click();
    await page.getByText(new RegExp(`Replayed ${failedId} as inb_`)).waitFor();
    await page.getByLabel('Status').selectOption('');
    await button('Apply').click();
    const replayed = page.locator('tr[data-inbound]', { hasText: `replay of ${failedId}` });
    await badgeIn(replayed, 'processed').waitFor();

    await button('Replay failed').click();
    await page.getByText('Replayed 1 webhook.').waitFor();
    await shot('inbound-log');
  });

  describe("an endpoint shaped to what its receiver already expects", () => {
    const portal = () => page.locator('tr[data-endpoint]', { hasText: 'Clinic portal' });
    let portalSecret;
    let endpointId;

    it('adds one with a body shape, an extra signature header, a retry schedule and a rate limit', async () => {
      await section('Outgoing webhooks');
      await button('Add endpoint').click();
      const form = dialog();
      await form.getByLabel('URL', { exact: true }).fill(`${receiver.origin}/hooks/c4hxp`);
      await form.getByLabel('Name').fill('Clinic portal');
      await form.getByLabel('bill.paid').check();
      await form.getByLabel('Body shape').selectOption('event-meta');
      await form.getByLabel('Extra signature header').fill('X-C4HXP-Signature');
      await form.getByLabel('Prefix').fill('sha256=');
      await form.getByText('Sent as X-C4HXP-Signature: sha256=<hex HMAC-SHA256 of the body>').waitFor();
      await form.getByLabel('Retry schedule (seconds)').fill('1, 2, 4');
      const retries = form.getByLabel('Max retries');
      assert.deepEqual([await retries.inputValue(), await retries.isDisabled()], ['3', true], 'a schedule sets the retry count');
      await form.getByLabel('Rate limit (per second)').fill('5');
      await shot('add-endpoint-receiver-options');
      await button('Add endpoint', form).click();
      portalSecret = await form.locator('[data-secret="full"]').textContent();
      await button('Done', form).click();

      await portal().getByRole('link', { name: 'Delivery history' }).click();
      await page.getByRole('heading', { name: 'Delivery history: Clinic portal' }).waitFor();
      endpointId = new URL(page.url()).hash.split('/').pop();
      await says(fact('Body shape'), 'Event with meta');
      await says(fact('Signature headers'), 'X-C4HXP-Signature: sha256=<hex HMAC-SHA256> of the body');
      await says(fact('Retries'), '3 on its own schedule, after 1 s, 2 s, 4 s');
      await says(fact('Rate limit'), 'At most 5 attempts start per second');
      await shot('endpoint-settings');
    });

    it("signs a delivery with the extra header and lists every signed header in the delivery's detail", async () => {
      const published = await api('POST', '/v1/events', { type: 'bill.paid', data: { invoice: 'INV-9', amount: 12.5 } });
      assert.equal(published.status, 202);
      await button('Apply').click();
      const row = page.locator('tr[data-delivery]');
      await badgeIn(row, 'delivered').waitFor();
      const got = receiver.received.findLast((r) => r.path === '/hooks/c4hxp');
      assert.equal(got.headers['x-c4hxp-signature'], `sha256=${hmac(portalSecret, got.body)}`);
      const body = JSON.parse(got.body);
      assert.deepEqual([body.event, body.data.invoice, body.meta.webhook_id], ['bill.paid', 'INV-9', await row.getAttribute('data-delivery')]);

      await row.getByRole('button', { name: /^Open delivery/ }).click();
      const signed = dialog().getByRole('cell', { name: /X-C4HXP-Signature/ });
      for (const header of ['X-HMS-Signature', 'webhook-signature', 'X-C4HXP-Signature']) await says(signed, header);
      await shot('delivery-signed-headers');
      await button('Close', dialog()).click();
    });

    it("edits them, shows each refused value's detail next to its field, and clears them", async () => {
      await button('Edit endpoint').click();
      const form = dialog();
      assert.equal(await form.getByLabel('Extra signature header').inputValue(), 'X-C4HXP-Signature');
      assert.equal(await form.getByLabel('bill.paid').isChecked(), true);
      await form.getByLabel('Extra signature header').fill('X-HMS-Signature');
      await button('Save changes', form).click();
      await says(form.locator('[data-field="signature.header"] .field-error'), 'is set by Hookline on every delivery');
      await form.getByLabel('Extra signature header').fill('X-C4HXP-Signature');
      await form.getByLabel('Retry schedule (seconds)').fill('5, 0');
      await button('Save changes', form).click();
      const refused = form.locator('[data-field="retry_schedule_seconds"] .field-error');
      await says(refused, 'must list 1 to 20 delays, each from 1 to 86400 seconds');
      assert.equal(await form.locator('[data-field="signature.header"] .field-error').isVisible(), false, 'the fixed field is clear');
      await shot('edit-endpoint-refused');

      await form.getByLabel('Retry schedule (seconds)').fill('2, 4');
      await form.getByLabel('Body shape').selectOption('data');
      await form.getByLabel('Encoding').selectOption('base64');
      await form.getByLabel('Rate limit (per second)').fill('');
      await button('Save changes', form).click();
      await dialog().waitFor({ state: 'detached' });
      await page.getByText('Saved. Deliveries use the new settings within a few seconds.').waitFor();
      await says(fact('Rate limit'), 'No limit');
      await says(fact('Body shape'), 'Data only');
      await says(fact('Signature headers'), 'X-C4HXP-Signature: sha256=<base64 HMAC-SHA256>');
      await says(fact('Retries'), '2 on its own schedule, after 2 s, 4 s');
      await shot('endpoint-edited');

      await button('Edit endpoint').click();
      await dialog().getByLabel('Extra signature header').fill('');
      await dialog().getByLabel('Retry schedule (seconds)').fill('');
      assert.equal(await dialog().getByLabel('Max retries').isEnabled(), true, 'without a schedule the count is the user\'s again');
      await button('Save changes', dialog()).click();
      await dialog().waitFor({ state: 'detached' });
      await says(fact('Retries'), 'Up to 2, exponential backoff with jitter');
      assert.equal(await fact('Signature headers').textContent(), 'The default signature headers');
      const stored = (await api('GET', `/v1/endpoints/${endpointId}`)).body;
      assert.deepEqual([stored.signature, stored.retry_schedule_seconds, stored.rate_limit_per_second, stored.envelope], [null, null, null, 'data']);

      // A delivery worker keeps an endpoint for a few seconds (ENDPOINT_CACHE_TTL):
      // publish until a delivery comes in the new shape.
      let n = 10;
      const plain = await until('a delivery in the new shape', async () => {
        n += 1;
        const invoice = `INV-${n}`;
        await api('POST', '/v1/events', { type: 'bill.paid', data: { invoice } });
        const got = await until(`${invoice} at the portal`, () => receiver.received.find((r) => r.path === '/hooks/c4hxp' && r.body.includes(`"${invoice}"`)));
        return !got.body.includes('"meta"') && got;
      });
      assert.deepEqual([plain.body, plain.headers['x-c4hxp-signature']], [`{"invoice":"INV-${n}"}`, undefined], 'the data alone, no extra header');
    });
  });

  it('loaded nothing the Content-Security-Policy refused and threw no errors', () => {
    assert.deepEqual(problems, []);
  });
});
