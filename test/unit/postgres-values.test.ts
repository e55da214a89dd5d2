import { describe, expect, it } from 'vitest';
import { classify, connectionLost, permanent } from '../../connectors/sinks/postgres/errors.js';
import { isPermanentFailure } from '../../src/sinks/connector.js';
import { catalogName, compatibleType, inferSqlType } from '../../connectors/sinks/postgres/column-types.js';
import { identifierProblem, qualified, quoteIdent } from '../../connectors/sinks/postgres/identifiers.js';
import { changeColumns, eventColumns, lastChangePerKey } from '../../connectors/sinks/postgres/rows.js';
import { jsonbText, sqlText, textArrayLiteral } from '../../connectors/sinks/postgres/sql-values.js';
import { compileColumns } from '../../connectors/sinks/postgres/typed-columns.js';

describe('postgres identifiers', () => {
  it('quotes every name, doubling embedded quotes, so a name never ends the identifier', () => {
    expect(quoteIdent('orders')).toBe('"orders"');
    expect(quoteIdent('a"; DROP TABLE x; --')).toBe('"a""; DROP TABLE x; --"');
    expect(qualified('re"flex', 'Événements')).toBe('"re""flex"."Événements"');
  });

  it('refuses names PostgreSQL would truncate (63 bytes, not characters) or cannot hold', () => {
    expect(identifierProblem('x'.repeat(63))).toBeNull();
    expect(identifierProblem('x'.repeat(64))).toMatch(/64 bytes long; PostgreSQL keeps only 63/);
    expect(identifierProblem('é'.repeat(32))).toMatch(/64 bytes long/);
    expect(identifierProblem('a\0b')).toMatch(/NUL/);
    expect(identifierProblem('')).toBe('is empty');
  });
});

describe('postgres column types', () => {
  const order = {
    type: 'object',
    properties: {
      id: { type: 'string' }, total: { type: 'number' }, count: { type: ['integer', 'null'] }, paid: { type: 'boolean' },
      at: { type: 'string', format: 'date-time' }, items: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' } } } },
      customer: { allOf: [{ type: 'object', properties: { name: { type: 'string' } } }] }, either: { type: ['string', 'integer'] },
    },
  };

  it('types a plain path from the state schema', () => {
    expect(inferSqlType(order, ['id'])).toBe('text');
    expect(inferSqlType(order, ['total'])).toBe('numeric');
    expect(inferSqlType(order, ['count'])).toBe('bigint');
    expect(inferSqlType(order, ['paid'])).toBe('boolean');
    expect(inferSqlType(order, ['at'])).toBe('timestamptz');
    expect(inferSqlType(order, ['items'])).toBe('jsonb');
    expect(inferSqlType(order, ['customer', 'name'])).toBe('text');
  });

  it('says nothing where the schema does not (the caller falls back to jsonb)', () => {
    expect(inferSqlType(order, ['missing'])).toBeNull();
    expect(inferSqlType(order, ['either'])).toBeNull();
    expect(inferSqlType(undefined, ['id'])).toBeNull();
    expect(inferSqlType(order, ['items', 'sku'])).toBe('jsonb'); // JSONata maps over the array
  });

  it('matches the catalog\'s type names, an unbounded varchar taking text', () => {
    expect(catalogName('timestamptz')).toBe('timestamp with time zone');
    expect(compatibleType('text', 'character varying')).toBe(true);
    expect(compatibleType('text', 'character varying(20)')).toBe(false);
    expect(compatibleType('jsonb', 'json')).toBe(false);
  });
});

describe('postgres typed columns', () => {
  const schema = { type: 'object', properties: { total: { type: 'number' }, n: { type: 'integer' }, at: { type: 'string', format: 'date-time' } } };

  it('compiles once, types from the schema or as told, and turns values into parameters of that type', async () => {
    const cols = compileColumns('orders', { total: 'total', n: 'n', at: 'at', lines: '$count(items)', flag: { expr: 'total > 10', type: 'boolean' }, label: { expr: 'n', type: 'text' } }, schema);
    expect(cols.map((c) => [c.name, c.type])).toEqual([['total', 'numeric'], ['n', 'bigint'], ['at', 'timestamptz'], ['lines', 'jsonb'], ['flag', 'boolean'], ['label', 'text']]);
    const state = { total: 12.5, n: 3, at: '2026-11-02T09:14:15Z', items: [1, 2] };
    expect(await Promise.all(cols.map((c) => c.value(state)))).toEqual(['12.5', 3, '2026-11-02T09:14:15Z', '2', true, '3']);
  });

  it('stores NULL for a value that does not fit its column instead of failing the batch', async () => {
    const cols = compileColumns('orders', { total: 'total', n: 'n', at: 'at' }, schema);
    expect(await Promise.all(cols.map((c) => c.value({ total: 'lots', n: 1.5, at: 'yesterday' })))).toEqual([null, null, null]);
    expect(await Promise.all(cols.map((c) => c.value({ n: '9223372036854775808' })))).toEqual([null, null, null]);
    expect(await cols[1]!.value({ n: '9223372036854775807' })).toBe('9223372036854775807');
  });

  it('refuses a syntax error, a fixed column name and a name PostgreSQL would truncate, pointing at the field', () => {
    expect(() => compileColumns('orders', { total: 'total +' }, schema)).toThrow(expect.objectContaining({ field: '/columns/orders/total', message: expect.stringMatching(/JSONata error/) }));
    expect(() => compileColumns('orders', { x: { expr: '(', type: 'text' } }, schema)).toThrow(expect.objectContaining({ field: '/columns/orders/x/expr' }));
    expect(() => compileColumns('orders', { state: 'total' }, schema)).toThrow(/one the resource table always has/);
    expect(() => compileColumns('a/b', { ['c'.repeat(64)]: 'total' }, schema)).toThrow(expect.objectContaining({ field: `/columns/a~1b/${'c'.repeat(64)}` }));
  });
});

describe('postgres values', () => {
  it('replaces U+0000 in text, which PostgreSQL cannot store', () => {
    expect(sqlText('a\0b\0')).toBe('a\uFFFDb\uFFFD');
    expect(sqlText('plain')).toBe('plain');
  });

  it('writes jsonb text without \\u0000 or lone surrogates, keeping an escaped backslash-u as it is', () => {
    expect(JSON.parse(jsonbText({ 'k\0': 'v\0', s: '\\u0000', lone: '\udc00x', pair: '🎉' })!)).toEqual({ 'k\uFFFD': 'v\uFFFD', s: '\\u0000', lone: '\uFFFDx', pair: '🎉' });
    expect(jsonbText({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}');
    expect(jsonbText(undefined)).toBeNull();
    expect(jsonbText(null)).toBe('null');
  });

  it('writes text[] literals PostgreSQL reads back element for element', () => {
    expect(textArrayLiteral(['/a', 'b"c', 'd\\e', '{x,y}', ''])).toBe('{"/a","b\\"c","d\\\\e","{x,y}",""}');
  });
});

describe('postgres rows', () => {
  const event = { specversion: '1.0', id: 'e1', source: '/s', type: 't', subject: 'k', time: '2026-11-02T09:14:15.120Z', datacontenttype: 'application/json', data: { a: 1 }, reflexstream: 'orders', reflexoperation: 'op', reflexrequestid: 'r', traceparent: '00-x' };

  it('maps an event to its columns; reflexstream is the stream, other attributes go to extensions', () => {
    const c = eventColumns([{ stream: 'orders', offset: 4, key: 'k', value: event }]);
    expect(c).toEqual({
      offset: [4], id: ['e1'], specversion: ['1.0'], type: ['t'], source: ['/s'], subject: ['k'], time: ['2026-11-02T09:14:15.120Z'], datacontenttype: ['application/json'],
      data: ['{"a":1}'], reflexoperation: ['op'], reflexrequestid: ['r'], extensions: ['{"traceparent":"00-x"}'],
    });
    expect(eventColumns([{ stream: 'other', offset: 1, key: 'k', value: { ...event, traceparent: undefined } }]).extensions).toEqual(['{"reflexstream":"orders"}']);
  });

  it('maps a change record to its columns', () => {
    const c = changeColumns([{ stream: 'orders.changelog', offset: 2, key: 'o1', value: { op: 'u', key: 'o1', before: { s: 1 }, after: { s: 2 }, changed: ['/s'], ts_ms: 1.7e12, source: { gateway: 'kong' } } }]);
    expect(c).toEqual({ offset: [2], key: ['o1'], op: ['u'], before: ['{"s":1}'], after: ['{"s":2}'], changed: ['{"/s"}'], tsMs: [1.7e12], source: ['{"gateway":"kong"}'] });
  });

  it('keeps only the last change per key of a batch, in the order of those last changes', () => {
    const rec = (offset: number, key: string, op: string) => ({ stream: 's.changelog', offset, key, value: { op, key, after: op === 'd' ? null : { offset } } });
    const last = lastChangePerKey([rec(1, 'a', 'c'), rec(2, 'b', 'c'), rec(3, 'a', 'u'), rec(4, 'b', 'd'), rec(5, 'c', 'c'), rec(6, 'a', 'd'), rec(7, 'a', 'c')]);
    expect(last.map((l) => [l.key, l.offset, l.change.op])).toEqual([['b', 4, 'd'], ['c', 5, 'c'], ['a', 7, 'c']]);
  });
});

describe('postgres error classification', () => {
  const server = (code: string) => Object.assign(new Error(code), { code, severity: 'ERROR' });

  it('retries what can heal, marks what cannot, and re-creates a dropped table once', () => {
    for (const code of ['40001', '40P01', '57P01', '57P03', '08006', '53300', '57014']) expect(classify(server(code)), code).toBe('transient');
    for (const code of ['42501', '53100', '22P02', '23502', '42703']) expect(classify(server(code)), code).toBe('permanent');
    expect(classify(server('42P01'))).toBe('missing-table');
    // A socket error has a code but no severity: not a SQLSTATE.
    expect(classify(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBe('transient');
    expect(classify(new Error('Connection terminated unexpectedly'))).toBe('transient');
    expect(connectionLost(server('57P01'))).toBe(true);
    expect(connectionLost(server('42501'))).toBe(false);
  });

  it('names the table in a permanent failure and marks it for the dispatcher', () => {
    const err = permanent(server('42501'), '"reflex"."events"');
    expect(err.message).toBe('"reflex"."events": 42501 (SQLSTATE 42501)');
    expect(isPermanentFailure(err)).toBe(true);
  });
});
