import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SourceMap } from '../../src/spec/locate.js';

const F = 'test/fixtures/specs';

function mapOf(file: string): SourceMap {
  const sources = new SourceMap(`${F}/${file}`);
  sources.add(resolve(F, file), readFileSync(`${F}/${file}`, 'utf8'));
  return sources;
}

describe('SourceMap.locate', () => {
  const locate = mapOf('locate.yaml');

  it('points at a value, 1-based', () => {
    expect(locate.locate('/plain')).toEqual({ file: `${F}/locate.yaml`, pointer: '/plain', line: 1, column: 8 });
  });

  it('points at the key on request', () => {
    expect(locate.locate('/list/1/b', { key: true })).toMatchObject({ line: 27, column: 7 });
    expect(locate.locate('/list/1/b')).toMatchObject({ line: 27, column: 10 });
  });

  it('maps an offset into plain and quoted one-line scalars, escapes included', () => {
    expect(locate.locate('/plain', { offset: 9 })).toMatchObject({ line: 1, column: 17 });
    // 'it''s response.x': the doubled quote is one character of the value
    expect(locate.locate('/single', { offset: 5 })).toMatchObject({ line: 2, column: 16 });
    // "a\tb \u00e9 response.y": escapes are wider in the source than in the value
    expect(locate.locate('/double', { offset: 6 })).toMatchObject({ line: 3, column: 22 });
  });

  it('maps an offset into a literal block, line by line', () => {
    expect(locate.locate('/literal', { offset: 28 })).toMatchObject({ line: 11, column: 5 });
  });

  it("falls back to the value's start for folded and multi-line scalars", () => {
    expect(locate.locate('/folded', { offset: 3 })).toMatchObject({ line: 4, column: 9 });
    expect(locate.locate('/multiline', { offset: 3 })).toMatchObject({ line: 7, column: 12 });
  });

  it('follows aliases and merge keys', () => {
    expect(locate.locate('/alias/inherited')).toMatchObject({ line: 13, column: 14 });
    expect(locate.locate('/merged/inherited')).toMatchObject({ line: 13, column: 14 });
    expect(locate.locate('/merged/own')).toMatchObject({ line: 16, column: 8 });
  });

  it('prefers a key written next to $ref, else follows the $ref', () => {
    expect(locate.locate('/ref/summary')).toEqual({ file: `${F}/locate.yaml`, pointer: '/ref/summary', line: 20, column: 12 });
    expect(locate.locate('/ref/deep')).toEqual({ file: `${F}/locate.yaml`, pointer: '/target/deep', line: 22, column: 9 });
  });

  it('follows a $ref into another file and reports the pointer inside it', () => {
    expect(locate.locate('/external/properties/sku')).toEqual({
      file: `${F}/shop-components.yaml`,
      pointer: '/schemas/Item/properties/sku',
      line: 16,
      column: 12,
    });
  });

  it('stops at the deepest existing node for a pointer the files do not have', () => {
    expect(locate.locate('/target/missing/deeper')).toEqual({ file: `${F}/locate.yaml`, pointer: '/target', line: 22, column: 3 });
  });

  it('follows chains of $refs in a real spec: path item, then schema allOf', () => {
    const shop = mapOf('shop.yaml');
    expect(shop.locate('/paths/~1customers~1{customerId}/put/x-reflex-events/1/stream')).toEqual({
      file: `${F}/shop-components.yaml`,
      pointer: '/paths/customer/put/x-reflex-events/1/stream',
      line: 55,
      column: 19,
    });
    expect(shop.locate('/paths/~1customers~1{customerId}/put/x-reflex-events', { key: true })).toMatchObject({ line: 51, column: 7 });
    expect(shop.locate('/paths/~1orders/post/responses/201/content/application~1json/schema/allOf/1/properties/total')).toEqual({
      file: `${F}/shop-components.yaml`,
      pointer: '/schemas/Order/allOf/1/properties/total',
      line: 24,
      column: 18,
    });
  });

  it('reads JSON with the same parser: positions inside escaped JSON strings', () => {
    const billing = mapOf('billing.json');
    const pointer = '/paths/~1invoices~1{invoiceId}/post/x-reflex-events/0/when';
    expect(billing.locate(pointer)).toMatchObject({ line: 20, column: 62 });
    // the `POST` after `\"`: offset 45 in the value is 46 characters into the source string
    expect(billing.locate(pointer, { offset: 45 })).toMatchObject({ line: 20, column: 109 });
  });
});
