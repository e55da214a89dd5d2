import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/model/diagnostic.js';
import type { Exchange } from '../../src/model/exchange.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import type { CompiledOperation, CompiledSpecSet } from '../../src/spec/types.js';
import { F, linesOf } from './spec-helpers.js';

const op = (set: CompiledSpecSet, id: string): CompiledOperation => {
  const found = set.operations.find((o) => o.id === id);
  if (!found) throw new Error(`no operation ${id}`);
  return found;
};

const exchange = (status: number, body: unknown): Exchange => ({
  request: { id: 'r1', time: '2024-01-01T00:00:00Z', method: 'POST', scheme: 'https', host: 'x', path: '/', query: {}, headers: {}, body: null, route: null, params: {} },
  response: { status, headers: {}, body, latencyMs: 1 },
  client: { ip: null, consumer: null },
  gateway: { kind: 'http', service: null, route: null, node: null },
  operation: null,
});

describe('loadSpecSet', () => {
  it('compiles a 3.1 YAML and a 3.0 JSON spec together', async () => {
    const set = await loadSpecSet([`${F}/shop.yaml`, `${F}/billing.json`]);
    expect(set.files).toEqual([`${F}/shop.yaml`, `${F}/billing.json`]);
    expect(set.operations.map((o) => o.id)).toEqual([
      'listOrders', 'createOrder', 'searchOrders', 'getOrder', 'deleteOrder', 'updateOrder', 'saveCustomer', 'GET /health',
      'POST /invoices/{invoiceId}', 'getFile',
    ]);
    expect(set.warnings).toEqual([]);
  });

  it('applies the documented defaults', async () => {
    const set = await loadSpecSet([`${F}/shop.yaml`, `${F}/billing.json`]);
    const [placed] = op(set, 'createOrder').rules;
    expect(placed).toMatchObject({ type: 'OrderPlaced', eventType: 'com.shop.OrderPlaced', index: 0, stream: 'orders', key: null });
    const [saved, audited] = op(set, 'saveCustomer').rules;
    // default when and data
    expect(audited!.when.source).toBe('response.status < 400');
    expect(audited!.when.evaluate(exchange(200, {}))).toBe(true);
    expect(audited!.when.evaluate(exchange(404, {}))).toBe(false);
    expect(saved!.data.source).toBe('response.body');
    expect(await saved!.data.evaluate(exchange(200, { id: 'c1' }))).toEqual({ id: 'c1' });
    // explicit stream and key
    expect(audited).toMatchObject({ stream: 'audit', eventType: 'com.shop.CustomerAudited' });
    expect(audited!.key?.source).toBe('request.params.customerId');
    // no resource: the `events` stream; no typePrefix: the bare type
    expect(op(set, 'GET /health').rules[0]).toMatchObject({ stream: 'events', eventType: 'com.shop.HealthChecked' });
    expect(op(set, 'POST /invoices/{invoiceId}').rules[0]).toMatchObject({ eventType: 'InvoicePaid', stream: 'invoices' });
  });

  it('uses the resource key, or the per-path override', async () => {
    const set = await loadSpecSet([`${F}/shop.yaml`]);
    expect(op(set, 'createOrder').resource).toMatchObject({ name: 'orders', cdc: true });
    expect(op(set, 'createOrder').resource?.key.source).toBe('response.body.id');
    expect(op(set, 'getOrder').resource?.key.source).toBe('request.params.orderId');
    expect(op(set, 'saveCustomer').resource).toMatchObject({ name: 'customers', cdc: false });
    expect(op(set, 'GET /health').resource).toBeNull();
  });

  it('takes the CloudEvents source from x-reflex, else the first server URL, else the title', async () => {
    const set = await loadSpecSet([`${F}/shop.yaml`, `${F}/billing.json`, `${F}/minimal.yaml`]);
    expect(op(set, 'createOrder').source).toBe('https://api.shop.example/v1');
    // server variables take their defaults
    expect(op(set, 'getFile').source).toBe('https://billing.example/api/v2');
    expect(op(set, 'POST /pets').source).toBe('urn:reflex:pet-store-eu');
  });

  it('defaults x-reflex-cdc.op by method and keeps an explicit op and state', async () => {
    const set = await loadSpecSet([`${F}/minimal.yaml`, `${F}/shop.yaml`]);
    const ops = Object.fromEntries(set.operations.filter((o) => o.path === '/pets').map((o) => [o.method, o.cdc.op]));
    expect(ops).toEqual({ GET: 'read', POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete', HEAD: 'none', OPTIONS: 'none' });
    expect(op(set, 'POST /pets').cdc.state).toBeNull();
    expect(op(set, 'updateOrder').cdc.op).toBe('update');
    expect(op(set, 'updateOrder').cdc.state?.source).toBe('response.body');
  });

  it('lists the streams: resource events, changelogs, explicit names and `events`', async () => {
    const set = await loadSpecSet([`${F}/shop.yaml`, `${F}/billing.json`, `${F}/minimal.yaml`]);
    expect(set.streams.map((s) => [s.name, s.kind, s.resource, s.specFile])).toEqual([
      ['orders', 'events', 'orders', `${F}/shop.yaml`],
      ['orders.changelog', 'changelog', 'orders', `${F}/shop.yaml`],
      ['customers', 'events', 'customers', `${F}/shop.yaml`],
      ['audit', 'events', null, `${F}/shop.yaml`],
      ['events', 'events', null, `${F}/shop.yaml`],
      ['invoices', 'events', 'invoices', `${F}/billing.json`],
      ['pets', 'events', 'pets', `${F}/minimal.yaml`],
      ['pets.changelog', 'changelog', 'pets', `${F}/minimal.yaml`],
    ]);
  });

  it('records typed path parameters and where each rule is written', async () => {
    const set = await loadSpecSet([`${F}/shop.yaml`]);
    expect(op(set, 'getOrder').params).toEqual([{ name: 'orderId', type: 'integer' }]);
    expect(op(set, 'saveCustomer').rules[1]!.location).toEqual({
      file: `${F}/shop-components.yaml`,
      pointer: '/paths/customer/put/x-reflex-events/1',
      line: 54,
      column: 11,
    });
    expect(op(set, 'saveCustomer').location).toMatchObject({ file: `${F}/shop-components.yaml`, line: 40 });
    expect(op(set, 'saveCustomer').specFile).toBe(`${F}/shop.yaml`);
  });

  it('adds the spec redact paths to the credential headers, header names in lower case', async () => {
    const set = await loadSpecSet([`${F}/shop.yaml`]);
    expect(set.redact).toEqual([
      ['request', 'headers', 'authorization'],
      ['request', 'headers', 'proxy-authorization'],
      ['request', 'headers', 'cookie'],
      ['request', 'headers', 'x-api-key'],
      ['response', 'headers', 'set-cookie'],
      ['request', 'body', 'card', 'number'],
      ['request', 'headers', 'x-secret'],
    ]);
  });

  it('returns warnings without failing', async () => {
    const set = await loadSpecSet([`${F}/minimal.yaml`]);
    expect(set.warnings.map((w) => `${w.file}:${w.line}:${w.column} ${w.code}`)).toEqual([`${F}/minimal.yaml:7:5 RX151`]);
  });
});

describe('clashes across spec files', () => {
  const A = `${F}/errors/clash-a.yaml`;
  const B = `${F}/errors/clash-b.json`;

  it('names both locations for operationIds and streams, and rejects events sent to a changelog', async () => {
    expect(await linesOf('errors/clash-a.yaml', 'errors/clash-b.json')).toEqual([
      `${A}:17:19 - error RX113: events cannot be written to 'orders.changelog': it is the changelog of resource 'orders'. Change records go there automatically; pick another stream name for the events. (at /paths/~1orders/post/x-reflex-events/1/stream)`,
      `${B}:5:20 - error RX112: stream 'orders' is already produced by ${A}:6:5 (/x-reflex/resources/orders). A stream may be produced by only one spec file: rename the resource or set \`stream:\` on the events. (at /x-reflex/resources/orders)`,
      `${B}:11:24 - error RX111: operationId 'createOrder' is already used at ${A}:11:20 (/paths/~1orders/post/operationId). Every operation needs its own operationId. (at /paths/~1legacy~1orders/post/operationId)`,
      `${B}:23:24 - error RX111: operationId 'listLegacyOrders' is already used at ${B}:16:24 (/paths/~1legacy~1orders/get/operationId). Every operation needs its own operationId. (at /paths/~1legacy~1orders~1{id}/get/operationId)`,
    ]);
  });

  it('treats operations without operationId as `METHOD /path`', async () => {
    const lines = await linesOf('minimal.yaml', 'errors/no-ids.yaml');
    expect(lines).toContain(
      `${F}/errors/no-ids.yaml:6:7 - error RX111: operation GET /pets is already used at ${F}/minimal.yaml:11:10 (/paths/~1pets/get). Every operation needs its own operationId. (at /paths/~1pets/get)`,
    );
  });

  it('reads a file named twice once', async () => {
    expect(await linesOf('minimal.yaml', 'minimal.yaml', `../../../${F}/minimal.yaml`)).toEqual([
      `${F}/minimal.yaml:7:5 - warning RX151: resource 'toys' is not used by any path. Refer to it with x-reflex-resource: toys on a path item or operation. (at /x-reflex/resources/toys)`,
    ]);
  });

  it('warns about an operation that can never match because another has the same method and template', async () => {
    const set = await loadSpecSet([`${F}/errors/shadow.yaml`]);
    expect(set.warnings.map(formatDiagnostic)).toEqual([
      `${F}/errors/shadow.yaml:10:7 - warning RX152: operation 'getItemById' can never match: GET /items/{itemId} is routed to operation 'getItem' (${F}/errors/shadow.yaml:6:7). Two operations share a method and path template after the server base path; give one of them another path. (at /paths/~1items~1{itemId}/get)`,
    ]);
    expect(set.router.match('GET', '/items/1')?.operation.id).toBe('getItem');
  });
});
