import { describe, expect, it } from 'vitest';
import { groupByTemplate, suggestTemplate } from '../../console/src/path-template.js';

describe('the console\'s suggested path template for unmatched routes', () => {
  it('turns identifier segments into parameters named after the collection before them', () => {
    expect(suggestTemplate('/orders/123')).toBe('/orders/{orderId}');
    expect(suggestTemplate('/v1/customers/cus_1001/orders/ord_5001')).toBe('/v1/customers/{customerId}/orders/{orderId}');
    expect(suggestTemplate('/categories/42/items/7f9c2ba4-e88f-4a51-9d3c-6a8b3f1e2d10')).toBe('/categories/{categoryId}/items/{itemId}');
    expect(suggestTemplate('/addresses/0a1b2c3d4e5f6a7b')).toBe('/addresses/{addressId}');
  });

  it('keeps words, versions and a trailing slash as they are, and never repeats a parameter name', () => {
    expect(suggestTemplate('/shop/v1/healthcheck')).toBe('/shop/v1/healthcheck');
    expect(suggestTemplate('/orders/')).toBe('/orders/');
    expect(suggestTemplate('/123/456')).toBe('/{id}/{id2}');
    expect(suggestTemplate('/orders/123?expand=items')).toBe('/orders/{orderId}');
  });

  it('groups paths that differ only in identifiers under one template, the most seen first', () => {
    const rows = [
      { method: 'GET', path: '/orders/123', count: 2 },
      { method: 'GET', path: '/healthz', count: 1 },
      { method: 'GET', path: '/orders/456', count: 5 },
      { method: 'DELETE', path: '/orders/456', count: 1 },
    ];
    const groups = groupByTemplate(rows, (r) => r.method, (r) => r.path);
    expect(groups.map((g) => [g.method, g.template, g.items.length])).toEqual([
      ['GET', '/orders/{orderId}', 2],
      ['GET', '/healthz', 1],
      ['DELETE', '/orders/{orderId}', 1],
    ]);
  });
});
