import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { exchangeFormat } from '../../connectors/sources/exchange/format.js';
import { decodeEntry, kongFormat } from '../../connectors/sources/kong/format.js';
import { normalizeBody } from '../../src/model/body.js';
import { DEFAULT_JSON_DEPTH, deeperThan, stringifyDeep } from '../../src/model/json-depth.js';
import { parseJsonExact } from '../../src/model/json-exact.js';
import type { Exchange } from '../../src/model/exchange.js';
import { formatKey } from '../../src/pipeline/keys.js';
import { REDACTED, redact, redactRaw } from '../../src/pipeline/redact.js';
import type { DecodedEntry } from '../../src/sources/types.js';
import { kongLog } from '../support/kong-log.js';

const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const deepObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
/** One Exchange line; `bodyJson` is spliced in as text, so it can be deeper than JSON.stringify goes. */
const line = (fields: { time?: unknown; headers?: unknown; query?: unknown; bodyJson?: string; id?: string }) => JSON.stringify({
  request: { id: fields.id ?? 'x1', time: fields.time ?? '2026-11-02T10:00:00Z', method: 'POST', path: '/things', headers: fields.headers ?? { 'content-type': 'application/json' }, query: fields.query ?? {}, body: '@BODY@' },
  response: { status: 201, headers: { 'content-type': 'application/json' }, body: null },
}).replace('"@BODY@"', fields.bodyJson ?? 'null');
const dead = (e: DecodedEntry | undefined) => (e && !e.ok ? e.diagnostic : null);

describe('one bad entry is its own dead letter, never the batch', () => {
  it('keeps a body nested thousands of levels deep as text (JSON body text and already parsed JSON alike)', () => {
    const log = kongLog({ id: 'deep', startedAt: 1_700_000_000_000, method: 'POST', path: '/v1/echo', status: 200, requestBody: deepObject(5000), responseBody: deepArray(20_000) });
    const [e] = kongFormat.decode(JSON.stringify(log));
    expect(e!.ok).toBe(true);
    if (!e!.ok) return;
    expect(e.exchange.request.body).toBe(deepObject(5000));
    expect(e.exchange.response.body).toBe(deepArray(20_000));
    // The Exchange line carries the body parsed: it becomes its JSON text.
    const [x] = exchangeFormat.decode(line({ bodyJson: deepObject(5000) }));
    expect(x!.ok && x!.exchange.request.body).toBe(deepObject(5000));
    // Within the limit, bodies stay parsed.
    expect(normalizeBody(deepArray(DEFAULT_JSON_DEPTH), 'application/json')).toBeInstanceOf(Array);
    expect(normalizeBody(deepArray(DEFAULT_JSON_DEPTH + 1), 'application/json')).toBe(deepArray(DEFAULT_JSON_DEPTH + 1));
    expect(normalizeBody(deepArray(40), 'application/json', 32)).toBe(deepArray(40));
  });

  it('serializes deep values without recursion exactly as JSON.stringify does', () => {
    const samples = [{ a: [1, 'x', null, true, { b: [] }], 'q"': { c: 1.5e-7 } }, [[], {}, [{}]], 'str', 0, null, { u: undefined, n: NaN }];
    for (const v of samples) expect(stringifyDeep(v)).toBe(JSON.stringify(v));
    expect(deeperThan(JSON.parse(deepArray(3)), 3)).toBeNull();
    expect(deeperThan([1, [2, { a: 3 }]], 3)).toBeNull();
    expect(deeperThan(JSON.parse(deepArray(4)), 3)).toEqual([0, 0, 0]);
    expect(deeperThan({ x: 1, y: [0, { z: [[]] }] }, 3)).toEqual(['y', 1, 'z']);
  });

  it('makes a Kong started_at that is no date (1e16) a dead letter naming the field', () => {
    const good = kongLog({ id: 'ok', startedAt: 1_700_000_000_000, method: 'GET', path: '/', status: 200 });
    const bad = kongLog({ id: 'bad', startedAt: 1e16, method: 'GET', path: '/', status: 200 });
    const [a, b] = kongFormat.decode(JSON.stringify([good, bad]));
    expect(a!.ok).toBe(true);
    expect(dead(b)).toMatchObject({ code: 'RX303', pointer: '/1/started_at' });
    expect(dead(b)!.message).toContain('0000-9999');
  });

  it('makes a header or query value that is an object a dead letter naming it, instead of converting it', () => {
    const log = kongLog({ id: 'h', startedAt: 1, method: 'GET', path: '/', status: 200 });
    ((log.request as Record<string, unknown>).headers as Record<string, unknown>)['x-odd'] = { toString: 1 };
    expect(dead(kongFormat.decode(JSON.stringify(log))[0])).toMatchObject({ code: 'RX303', pointer: '/request/headers/x-odd' });
    const q = kongLog({ id: 'q', startedAt: 1, method: 'GET', path: '/', status: 200 });
    (q.request as Record<string, unknown>).querystring = { tag: ['a', { toString: 1 }] };
    expect(dead(kongFormat.decode(JSON.stringify(q))[0])).toMatchObject({ code: 'RX303', pointer: '/request/querystring/tag/1' });
    expect(dead(exchangeFormat.decode(line({ headers: { accept: { valueOf: 2 } } }))[0])).toMatchObject({ code: 'RX303', pointer: '/request/headers/accept', line: 1 });
    expect(dead(exchangeFormat.decode(line({ query: { q: {} } }))[0])).toMatchObject({ code: 'RX303', pointer: '/request/query/q' });
  });

  it('keeps a header or query parameter named __proto__ as data', () => {
    const [e] = exchangeFormat.decode(line({ headers: { __proto__: 'x' } as never, query: JSON.parse('{"__proto__": ["a"]}') }));
    expect(e!.ok).toBe(true);
    if (!e!.ok) return;
    expect(Object.keys(e.exchange.request.query)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(e.exchange.request.query)).toBe(Object.prototype);
  });

  it('accepts only RFC 3339 date-times as an Exchange request.time (a real date, a time and an offset)', () => {
    for (const bad of ['0', '2020-02-30T00:00:00Z', '2021-02-29T00:00:00Z', '2020-01-01', '2020-01-01T25:00:00Z', '2020-01-01T00:00:00', 'Tue, 01 Jan 2020 00:00:00 GMT', '2016-12-31T23:59:60Z']) {
      expect(dead(exchangeFormat.decode(line({ time: bad }))[0]), bad).toMatchObject({ code: 'RX303', pointer: '/request/time' });
    }
    for (const [good, iso] of [['2020-02-29T23:00:00-01:30', '2020-03-01T00:30:00.000Z'], ['2026-11-02T10:00:00.123456789Z', '2026-11-02T10:00:00.123Z']] as const) {
      const [e] = exchangeFormat.decode(line({ time: good }));
      expect(e!.ok && e!.exchange.request.time, good).toBe(iso);
    }
  });

  it('turns any exception while reading an entry into its dead letter (RX300), with the entry pointer', () => {
    const log = kongLog({ id: 'throws', startedAt: 1, method: 'GET', path: '/', status: 200 });
    // A getter that throws stands for any unforeseen reader failure.
    Object.defineProperty(log.request as object, 'uri', { get() { throw new TypeError('boom'); }, enumerable: false });
    const e = decodeEntry(log, '/3', 7);
    expect(dead(e)).toMatchObject({ code: 'RX300', pointer: '/3', line: 7, message: 'cannot read log entry: boom' });
    expect(!e.ok && e.requestKey).toMatch(/^kong:raw:[0-9a-f]{32}$/);
  });
});

describe('integers beyond 2^53', () => {
  it('keep their exact digits when a body is parsed (as strings), so keys never collide', () => {
    const a = normalizeBody('{"id": 9007199254740993, "n": 12, "s": "9007199254740993", "f": 1.5, "neg": -9007199254740995, "safe": 1234567890123456}', 'application/json') as Record<string, unknown>;
    expect(a).toEqual({ id: '9007199254740993', n: 12, s: '9007199254740993', f: 1.5, neg: '-9007199254740995', safe: 1234567890123456 });
    const b = normalizeBody('{"id": 9007199254740992}', 'application/json') as Record<string, unknown>;
    expect(formatKey(a.id)).not.toBe(formatKey(b.id));
    expect(parseJsonExact('{"k": "a\\"9007199254740993", "v": [9007199254740993e0, 90071992547409931]}')).toEqual({ k: 'a"9007199254740993', v: [9007199254740992, '90071992547409931'] });
  });

  it('as a parsed JSON number (digits already lost) cannot become a key: RX409', () => {
    expect(() => formatKey(9007199254740992)).toThrow(expect.objectContaining({ code: 'RX409' }));
    expect(formatKey(9007199254740991)).toBe('9007199254740991');
  });
});

describe('redaction', () => {
  it('applies a path through arrays at any level', () => {
    const ex = {
      request: { headers: {}, body: [{ card: { number: '4242', cvc: '1' } }, { card: [{ number: '5555' }] }, { other: 1 }] },
      response: { headers: {}, body: null },
    } as unknown as Exchange;
    redact(ex, [['request', 'body', 'card', 'number']]);
    expect(ex.request.body).toEqual([{ card: { number: REDACTED, cvc: '1' } }, { card: [{ number: REDACTED }] }, { other: 1 }]);
  });

  it('redacts the raw entry a dead letter keeps: credential headers in any case and shape, spec paths into body text', () => {
    const raw = {
      request: { headers: { Authorization: 'Bearer s3cret', Cookie: 'sid=1', accept: 'x' }, body: '{"card":{"number":"4242"}}', requestHeaders: { 'X-Api-Key': 'k' } },
      response: { headers: { 'Set-Cookie': 'sid=2' } },
      deep: JSON.parse(deepArray(5000)),
    };
    const paths = [['request', 'headers', 'authorization'], ['request', 'headers', 'cookie'], ['request', 'headers', 'x-api-key'], ['response', 'headers', 'set-cookie'], ['request', 'body', 'card', 'number']];
    const out = redactRaw(raw, paths, 16) as any;
    expect(out.request.headers).toEqual({ Authorization: REDACTED, Cookie: REDACTED, accept: 'x' });
    expect(out.request.requestHeaders).toEqual({ 'X-Api-Key': REDACTED });
    expect(out.response.headers['Set-Cookie']).toBe(REDACTED);
    expect(JSON.parse(out.request.body)).toEqual({ card: { number: REDACTED } });
    expect(() => JSON.stringify(out)).not.toThrow();
    expect(raw.request.headers.Authorization).toBe('Bearer s3cret'); // a copy
  });
});

describe('limits.jsonDepth', () => {
  it('is read from reflex.yaml (default 256, 16-1000) and bounds what the formats parse', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reflex-limits-'));
    try {
      const file = join(dir, 'reflex.yaml');
      writeFileSync(file, 'limits:\n  jsonDepth: 32\n');
      expect(loadConfig(file, {}).limits.jsonDepth).toBe(32);
      writeFileSync(file, 'store: { sync: full }\n');
      expect(loadConfig(file, {}).limits.jsonDepth).toBe(256);
      writeFileSync(file, 'limits:\n  jsonDepth: 100000\n');
      expect(() => loadConfig(file, {})).toThrow(/limits\/jsonDepth|jsonDepth/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const log = kongLog({ id: 'd', startedAt: 1, method: 'POST', path: '/', status: 200, responseBody: deepArray(40) });
    const [shallow] = kongFormat.decode(JSON.stringify(log), { maxDepth: 32 });
    expect(shallow!.ok && shallow!.exchange.response.body).toBe(deepArray(40));
    const [roomy] = kongFormat.decode(JSON.stringify(log), { maxDepth: 64 });
    expect(roomy!.ok && roomy!.exchange.response.body).toBeInstanceOf(Array);
  });
});
