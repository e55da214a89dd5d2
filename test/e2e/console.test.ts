import { createServer, get, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium } from '../../testbed/chromium.js';
import { ROOT, startReflexProcess, type ReflexProcess } from '../support/reflex-process.js';

/**
 * The web console in a real browser (Debian's chromium through playwright-core), against the
 * compiled CLI: the shop session ingested with a spec fault, the dead letters retried from the page
 * after the fix, the live tail, and the playground. Screenshots of every page land in
 * test-output/console/ (gitignored); docs/console-*.png are copies of two of them.
 */
const SHOTS = join(ROOT, 'test-output/console');
const SHOP_SPEC = readFileSync(`${ROOT}examples/shop/openapi.yaml`, 'utf8');
const session = readFileSync(`${ROOT}examples/shop/kong-session.ndjson`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as KongEntry);
// OrderPlaced's data casts the currency to a number: every createOrder exchange fails at runtime (RX403).
const FAULT = '"total": response.body.total, "currency"';
const BROKEN_SPEC = SHOP_SPEC.replace(FAULT, '"total": $number(response.body.currency), "currency"');

interface KongEntry { request: { id: string; uri: string; method: string; headers: Record<string, string> }; response: { body: string; headers: Record<string, string> }; started_at: number }

/** A new createOrder log entry (new request id and order id), from the session's first one. */
function newOrder(orderId: string, requestId: string): KongEntry {
  const entry = structuredClone(session.find((e) => e.request.method === 'POST' && e.request.uri === '/shop/v1/orders' && e.response.body.includes('"id"'))!);
  entry.request.id = requestId;
  entry.response.headers['x-kong-request-id'] = requestId;
  entry.response.body = entry.response.body.replace(/"id":\s*"ord_\d+"/, `"id": "${orderId}"`);
  entry.started_at += 3_600_000;
  return entry;
}

/** node:http, not fetch: fetch sets Host itself, and sends `cache-control: no-cache` with a conditional request (no 304 then). */
function getStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => get(url, { headers }, (res) => (res.resume(), resolve(res.statusCode!))).on('error', reject));
}

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

describe('the web console at /console, in a real browser', () => {
  let dir: string;
  let spec: string;
  let config: string;
  /** A webhook receiver that answers 500 to everything, counting the requests. */
  let receiver: Server;
  let hooked = 0;
  let reflex: ReflexProcess;
  let browser: Browser;
  let page: Page;
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const open = async (route: string) => {
    await page.goto(`${reflex.url}/console/#/${route}`);
    await page.locator('main h1').first().waitFor();
  };

  beforeAll(async () => {
    const executablePath = ensureChromium();
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'reflex-console-'));
    spec = join(dir, 'openapi.yaml');
    expect(BROKEN_SPEC).not.toBe(SHOP_SPEC);
    writeFileSync(spec, BROKEN_SPEC);
    // The webhook endpoint is on loopback; one attempt only, so that a failed event is dead at once (the page's retry sends it again).
    // A generous rule budget: on a loaded machine a rule's first run can pass the default 50 ms (RX411 instead of the fault's RX403).
    config = join(dir, 'reflex.yaml');
    writeFileSync(config, 'webhooks: { allowPrivateAddresses: true, retrySchedule: [0s] }\nlimits: { ruleTimeout: 5s }\n');
    receiver = createServer((req, res) => (req.resume(), hooked++, res.writeHead(500).end('down for the test')));
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    reflex = await startReflexProcess(['--spec', spec, '--data', dir, '--config', config]);
    // As root (CI) chromium's sandbox cannot start; the page is our own.
    browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await reflex?.stop();
    receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the app behind the API guard, with content types and revalidation', async () => {
    const index = await fetch(`${reflex.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const script = await fetch(`${reflex.url}/console/main.js`);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(await getStatus(`${reflex.url}/console/main.js`, { 'if-none-match': script.headers.get('etag')! })).toBe(304);
    // Without server.apiAuth, only loopback Host names are answered (DNS rebinding).
    expect(await getStatus(`${reflex.url}/console/`, { host: 'evil.example' })).toBe(403);
  });

  it('shows dead letters with the diagnostic, its file:line and JSON pointer', async () => {
    const res = await post(`${reflex.url}/ingest/kong`, session);
    expect(await res.json()).toMatchObject({ received: 15, deadLetters: 2, unmatched: 1 });
    await open('dead-letters');
    const rows = page.locator('#dead-letter-list tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    await expect.poll(() => rows.first().innerText()).toMatch(/RX403[\s\S]*Unable to cast value to a number/);
    expect(await rows.first().locator('.where').innerText()).toMatch(/openapi\.yaml:\d+:\d+ at \/paths\/~1orders\/post\/x-reflex-events\/0/);
    await shot('dead-letters');
  });

  it('retrying a dead letter from the page removes it once the spec is fixed and reflex restarted on the same data', async () => {
    // Still broken: the retry fails again, the page says why, and the dead letter stays.
    await open('dead-letters');
    await page.getByRole('button', { name: /^Retry dead letter/ }).first().click();
    await expect.poll(() => page.locator('main .status[role=status]').innerText()).toMatch(/failed again: RX403/);
    expect(await page.locator('#dead-letter-list tbody tr').count()).toBe(2);
    // A spec with an error is refused by the page's reload, with its diagnostic; the old rules stay.
    writeFileSync(spec, BROKEN_SPEC.replace('when: response.status == 201 && size(', 'when: response.status == 201 && sise('));
    await page.getByRole('button', { name: 'Reload specs' }).click();
    await expect.poll(() => page.locator('main .status[role=status]').innerText()).toMatch(/RX121 .*unknown CEL function 'sise'.* at .*openapi\.yaml:\d+:\d+/);

    await reflex.stop();
    writeFileSync(spec, SHOP_SPEC);
    reflex = await startReflexProcess(['--spec', spec, '--data', dir, '--config', config]);
    await open('dead-letters');
    const rows = page.locator('#dead-letter-list tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    await page.getByRole('button', { name: /^Retry dead letter/ }).first().click();
    await expect.poll(() => page.locator('main .status[role=status]').innerText()).toMatch(/processed: \d+ records?/);
    await expect.poll(() => rows.count()).toBe(1);
    await page.getByRole('button', { name: 'Retry all' }).click();
    await page.locator('#no-dead-letters').waitFor();
    expect(await (await fetch(`${reflex.url}/dead-letters`)).json()).toEqual([]);
  });

  it('shows the orders stream with its events', async () => {
    await open('streams/orders');
    const rows = page.locator('#records tr');
    await expect.poll(async () => (await rows.allInnerTexts()).join('\n')).toMatch(/com\.shop\.OrderPlaced\s+ord_5001/);
    expect((await rows.allInnerTexts()).join('\n')).toMatch(/com\.shop\.OrderPlaced\s+ord_5002/);
  });

  it('the live tail shows a new event within a second of ingest; the event opens with its exchange, redacted', async () => {
    const { port } = receiver.address() as { port: number };
    const created = await post(`${reflex.url}/webhooks`, { url: `http://127.0.0.1:${port}/orders`, streams: ['orders'], description: 'the test receiver' });
    expect(created.status).toBe(201);
    await open('streams/orders');
    await expect.poll(() => page.locator('#tail-state').innerText()).toBe('live');
    const started = Date.now();
    const res = await post(`${reflex.url}/ingest/kong`, [newOrder('ord_7001', 'c0ffee00000000000000000000007001')]);
    expect(res.status).toBe(200);
    const row = page.locator('#records tr.fresh', { hasText: 'ord_7001' });
    await row.waitFor({ timeout: Math.max(1, 1000 - (Date.now() - started)) });
    expect(Date.now() - started).toBeLessThan(1000);

    await row.getByRole('button').click();
    const detail = page.locator('#record-detail');
    await expect.poll(() => detail.innerText()).toMatch(/"reflexrequestid": "c0ffee00000000000000000000007001"/);
    await expect.poll(() => detail.innerText()).toMatch(/"authorization": "\[redacted\]"/);
    expect(await detail.innerText()).toMatch(/"id": "createOrder"/);
    await shot('stream');
  });

  it('the playground shows the event of an edited rule, and an error with its position for a broken one', async () => {
    await open('playground');
    const option = page.locator('#pg-exchange option', { hasText: 'c0ffee00000000000000000000007001' });
    await page.locator('#pg-exchange').selectOption(await option.getAttribute('value'));
    expect(await page.locator('#pg-rule').inputValue()).toBe('createOrder#0');
    await page.locator('#pg-data').fill('{"orderId": response.body.id, "doubled": response.body.total * 2}');
    await expect.poll(() => page.locator('#pg-result').innerText()).toMatch(/"doubled": 179\.4/);
    expect(await page.locator('#pg-verdict').innerText()).toMatch(/when is true/);
    expect(await page.locator('#pg-result').innerText()).toMatch(/"subject": "ord_7001"/);
    await shot('playground');

    await page.locator('#pg-when').fill('response.status == 201 &&');
    await expect.poll(() => page.locator('#pg-errors').innerText()).toMatch(/^when 1:\d+ RX1\d\d: when: invalid CEL/);
    expect(await page.locator('#pg-when').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#pg-when-error').innerText()).toMatch(/^line 1, column \d+:/);
    await shot('playground-error');

    await page.locator('#pg-when').fill('response.status == 404');
    await expect.poll(() => page.locator('#pg-verdict').innerText()).toMatch(/when is false/);
  });

  it('overview, resources, unmatched and webhooks pages show what reflex has', async () => {
    await open('overview');
    await expect.poll(() => page.locator('main').innerText()).toMatch(/orders\s+events\s+\d+/);
    // Two polls at least, so that the sparklines have a rate.
    await page.waitForTimeout(4500);
    expect(await page.locator('svg.sparkline').count()).toBeGreaterThan(3);
    await shot('overview');

    await open('resources/orders/ord_7001');
    await expect.poll(() => page.locator('#resource-result').innerText()).toMatch(/version 1[\s\S]*Change history[\s\S]*offset \d+: created at .* by createOrder/);
    await shot('resources');

    await open('unmatched');
    await expect.poll(() => page.locator('code.suggested').allInnerTexts()).toContain('get /shop/v1/healthcheck');
    await shot('unmatched');

    // The endpoint got ord_7001's event and answered 500: the page shows the attempt, and its retry sends it again now.
    await open('webhooks');
    await page.locator('main a', { hasText: '/orders' }).click();
    await expect.poll(() => page.locator('main table').last().innerText()).toMatch(/500\s+\d+ ms/);
    expect(hooked).toBe(1);
    await page.getByRole('button', { name: /^Send event .* again$/ }).first().click();
    await expect.poll(() => page.locator('main .status[role=status]').innerText()).toMatch(/queued again/);
    await expect.poll(() => hooked, { timeout: 5000 }).toBe(2);
    await shot('webhooks');

    // Keyboard: the skip link moves focus to the page and stays on it; after it come the pages, which follow Enter.
    await page.locator('a.skip').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('main');
    expect(await page.locator('main h1').innerText()).toBe('Webhooks');
    await page.locator('a.skip').focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('main h1').innerText()).toBe('Streams');
    expect(await page.locator('nav a[aria-current=page]').innerText()).toBe('Streams');
  });
});
