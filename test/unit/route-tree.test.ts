import { describe, expect, it } from 'vitest';
import { buildRouter, convert, splitPath, type RouteEntry } from '../../src/spec/route-tree.js';
import type { CompiledOperation, PathParam } from '../../src/spec/types.js';
import { loadSpecSet } from '../../src/spec/compile.js';
import { F } from './spec-helpers.js';

function op(method: string, path: string, params: PathParam[] = [], id = `${method} ${path}`): CompiledOperation {
  return {
    id,
    method,
    path,
    params,
    resource: null,
    rules: [],
    cdc: { op: 'none', state: null },
    source: 'urn:test',
    specFile: 'test.yaml',
    location: { file: 'test.yaml', pointer: '' },
  };
}

function router(entries: Array<[CompiledOperation, string[]?]>) {
  const r = buildRouter(entries.map(([operation, basePaths]): RouteEntry => ({ operation, basePaths: basePaths ?? [''] })));
  return (method: string, path: string) => {
    const m = r.match(method, path);
    return m ? { id: m.operation.id, params: m.params } : null;
  };
}

describe('route tree', () => {
  const match = router([
    [op('GET', '/orders')],
    [op('GET', '/orders/search')],
    [op('GET', '/orders/{orderId}', [{ name: 'orderId', type: 'integer' }])],
    [op('GET', '/orders/{slug}', [{ name: 'slug', type: 'string' }])],
    [op('DELETE', '/orders/{orderId}', [{ name: 'orderId', type: 'integer' }])],
    [op('GET', '/orders/{orderId}/lines/{line}', [{ name: 'orderId', type: 'integer' }, { name: 'line', type: 'number' }])],
    [op('PUT', '/flags/{on}', [{ name: 'on', type: 'boolean' }])],
    [op('GET', '/files/{name}.json', [{ name: 'name', type: 'string' }])],
    [op('GET', '/files/{name}', [{ name: 'name', type: 'string' }])],
    [op('GET', '/reports/v{version}-{part}.csv', [{ name: 'version', type: 'integer' }, { name: 'part', type: 'string' }])],
    [op('GET', '/')],
  ]);

  it('matches literal paths, and the root', () => {
    expect(match('GET', '/orders')).toEqual({ id: 'GET /orders', params: {} });
    expect(match('GET', '/')).toEqual({ id: 'GET /', params: {} });
  });

  it('prefers a literal segment over a template', () => {
    expect(match('GET', '/orders/search')).toEqual({ id: 'GET /orders/search', params: {} });
  });

  it('backtracks from a literal branch that fails deeper', () => {
    const m = router([
      [op('GET', '/orders/search/{term}/history', [{ name: 'term', type: 'string' }])],
      [op('GET', '/orders/{slug}/lines', [{ name: 'slug', type: 'string' }])],
    ]);
    expect(m('GET', '/orders/search/abc/history')).toEqual({ id: 'GET /orders/search/{term}/history', params: { term: 'abc' } });
    // `search` then `lines` goes down the literal branch, finds no `history`, and comes back
    expect(m('GET', '/orders/search/lines')).toEqual({ id: 'GET /orders/{slug}/lines', params: { slug: 'search' } });
    expect(match('GET', '/orders/7/lines/2.5')).toEqual({ id: 'GET /orders/{orderId}/lines/{line}', params: { orderId: 7, line: 2.5 } });
    expect(match('DELETE', '/orders/search')).toBeNull(); // `search` is not an integer
  });

  it('backtracks from a literal branch that has no operation for the method', () => {
    const m = router([[op('GET', '/orders/search')], [op('DELETE', '/orders/{id}', [{ name: 'id', type: 'string' }])]]);
    expect(m('DELETE', '/orders/search')).toEqual({ id: 'DELETE /orders/{id}', params: { id: 'search' } });
  });

  it('converts path parameters to their schema types', () => {
    expect(match('GET', '/orders/42')).toEqual({ id: 'GET /orders/{orderId}', params: { orderId: 42 } });
    expect(match('GET', '/orders/-3')).toEqual({ id: 'GET /orders/{orderId}', params: { orderId: -3 } });
    expect(match('PUT', '/flags/true')).toEqual({ id: 'PUT /flags/{on}', params: { on: true } });
    expect(match('PUT', '/flags/false')).toEqual({ id: 'PUT /flags/{on}', params: { on: false } });
  });

  it('lets a segment that does not convert fall through to other templates', () => {
    expect(match('GET', '/orders/abc')).toEqual({ id: 'GET /orders/{slug}', params: { slug: 'abc' } });
    expect(match('GET', '/orders/4.5')).toEqual({ id: 'GET /orders/{slug}', params: { slug: '4.5' } });
    expect(match('DELETE', '/orders/abc')).toBeNull();
    expect(match('PUT', '/flags/yes')).toBeNull();
    expect(match('GET', '/orders/7/lines/x')).toBeNull();
  });

  it('handles parameters with literal prefixes and suffixes inside one segment', () => {
    expect(match('GET', '/files/report.json')).toEqual({ id: 'GET /files/{name}.json', params: { name: 'report' } });
    expect(match('GET', '/files/report.csv')).toEqual({ id: 'GET /files/{name}', params: { name: 'report.csv' } });
    expect(match('GET', '/files/.json')).toEqual({ id: 'GET /files/{name}', params: { name: '.json' } });
    expect(match('GET', '/reports/v2-summary.csv')).toEqual({ id: 'GET /reports/v{version}-{part}.csv', params: { version: 2, part: 'summary' } });
    expect(match('GET', '/reports/vX-summary.csv')).toBeNull();
  });

  it('percent-decodes segments before comparing and converting', () => {
    expect(match('GET', '/%6Frders/%34%32')).toEqual({ id: 'GET /orders/{orderId}', params: { orderId: 42 } });
    expect(match('GET', '/files/a%2Fb.json')).toEqual({ id: 'GET /files/{name}.json', params: { name: 'a/b' } });
    expect(match('GET', '/orders/caf%C3%A9')).toEqual({ id: 'GET /orders/{slug}', params: { slug: 'café' } });
    // malformed escapes are compared as written instead of throwing
    expect(match('GET', '/orders/%E0%A4%A')).toEqual({ id: 'GET /orders/{slug}', params: { slug: '%E0%A4%A' } });
  });

  it('ignores trailing slashes, and a query string or fragment', () => {
    expect(match('GET', '/orders/')).toEqual({ id: 'GET /orders', params: {} });
    expect(match('GET', '/orders/42/')).toEqual({ id: 'GET /orders/{orderId}', params: { orderId: 42 } });
    expect(match('GET', '/orders/42?expand=lines')).toEqual({ id: 'GET /orders/{orderId}', params: { orderId: 42 } });
  });

  it('compares methods case-insensitively', () => {
    expect(match('get', '/orders')).toEqual({ id: 'GET /orders', params: {} });
    expect(match('Delete', '/orders/1')).toEqual({ id: 'DELETE /orders/{orderId}', params: { orderId: 1 } });
  });

  it('returns null when nothing matches', () => {
    expect(match('POST', '/orders')).toBeNull();
    expect(match('GET', '/customers')).toBeNull();
    expect(match('GET', '/orders/1/2')).toBeNull();
  });

  it('strips server base paths, trying each base path of the operation', () => {
    const m = router([
      [op('GET', '/orders', [], 'v1'), ['/v1', '/api/v1']],
      [op('GET', '/orders', [], 'v2'), ['/v2']],
      [op('GET', '/health', [], 'root'), ['']],
    ]);
    expect(m('GET', '/v1/orders')?.id).toBe('v1');
    expect(m('GET', '/api/v1/orders/')?.id).toBe('v1');
    expect(m('GET', '/v2/orders')?.id).toBe('v2');
    expect(m('GET', '/orders')).toBeNull();
    expect(m('GET', '/v1/health')).toBeNull();
    expect(m('GET', '/health')?.id).toBe('root');
  });

  it('keeps the exact digits of integers beyond 2^53', () => {
    expect(convert('9007199254740993', 'integer')).toBe('9007199254740993');
    expect(convert('12', 'integer')).toBe(12);
    expect(convert('1e3', 'number')).toBe(1000);
    for (const bad of ['', '-', '1.', '.5', '0x10', 'Infinity', ' 1', '1 ']) expect(convert(bad, 'number')).toBeUndefined();
    for (const bad of ['', '-', '1.0', '+1', '1e3']) expect(convert(bad, 'integer')).toBeUndefined();
  });

  it('splits paths into decoded, non-empty segments', () => {
    expect(splitPath('/a//b/%20c/')).toEqual(['a', 'b', ' c']);
    expect(splitPath('')).toEqual([]);
  });
});

describe('router built from specs', () => {
  it("strips each spec's server base paths (variables substituted) before matching", async () => {
    const set = await loadSpecSet([`${F}/shop.yaml`, `${F}/billing.json`]);
    const m = (method: string, path: string) => {
      const r = set.router.match(method, path);
      return r ? [r.operation.id, r.params] : null;
    };
    expect(m('GET', '/v1/orders/42')).toEqual(['getOrder', { orderId: 42 }]);
    expect(m('GET', '/v1/orders/search')).toEqual(['searchOrders', {}]);
    expect(m('PUT', '/v1/customers/a%20b')).toEqual(['saveCustomer', { customerId: 'a b' }]);
    expect(m('POST', '/api/v2/invoices/INV-1')).toEqual(['POST /invoices/{invoiceId}', { invoiceId: 'INV-1' }]);
    expect(m('POST', '/legacy/invoices/INV-1')).toEqual(['POST /invoices/{invoiceId}', { invoiceId: 'INV-1' }]);
    expect(m('GET', '/orders/42')).toBeNull();
    expect(m('GET', '/v1/invoices/INV-1')).toBeNull();
  });
});
