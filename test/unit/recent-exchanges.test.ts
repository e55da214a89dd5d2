import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kongFormat } from '../../connectors/sources/kong/format.js';
import { RecentExchanges } from '../../src/pipeline/recent-exchanges.js';
import { loadSpecSet } from '../../src/spec/compile.js';

const lines = readFileSync('examples/shop/kong-session.ndjson', 'utf8').trim().split('\n');
const ids = (held: RecentExchanges, specs: Awaited<ReturnType<typeof loadSpecSet>>) => held.list(specs, 100).map((r) => r.exchange.request.id.slice(-2));

describe('the exchanges held for the console', () => {
  it('keeps the last batches only, by count and by payload bytes, and reads a payload sent to a worker from its own copy', async () => {
    const specs = await loadSpecSet(['examples/shop/openapi.yaml']);
    const held = new RecentExchanges({ batches: 2, bytes: 1_000_000, entries: 100 });
    held.addEntries('a', kongFormat.decode(lines[0]!));
    const bytes = new TextEncoder().encode(lines[1]!);
    held.addPayload('b', kongFormat, bytes, {});
    // What a transfer to a worker thread does to the caller's buffer.
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    held.addPayload('c', kongFormat, `[${lines[2]},${lines[3]}]`, {});
    expect(ids(held, specs)).toEqual(['04', '03', '02']);
    expect(held.find(specs, '7c1e9a024f0b4d2e9a4b1c8e5f6a7b02')?.source).toBe('b');

    const small = new RecentExchanges({ batches: 10, bytes: lines[5]!.length + lines[6]!.length, entries: 100 });
    for (const i of [4, 5, 6]) small.addPayload('s', kongFormat, lines[i]!, {});
    expect(ids(small, specs)).toEqual(['07', '06']);

    // Decoded batches are bounded by exchanges: a large one keeps its last ones only.
    const few = new RecentExchanges({ batches: 10, bytes: 1_000_000, entries: 3 });
    few.addEntries('a', kongFormat.decode(`[${lines[0]},${lines[1]}]`));
    few.addEntries('b', kongFormat.decode(`[${lines[2]},${lines[3]}]`));
    expect(ids(few, specs)).toEqual(['04', '03']);
    few.addEntries('c', kongFormat.decode(`[${lines.slice(4, 9).join(',')}]`));
    expect(ids(few, specs)).toEqual(['09', '08', '07']);
  });

  it('answers a copy, redacted and matched, so that neither the console nor ingest sees the other\'s changes', async () => {
    const specs = await loadSpecSet(['examples/shop/openapi.yaml']);
    const held = new RecentExchanges();
    const entries = kongFormat.decode(lines[4]!);
    held.addEntries('a', entries);
    const [first] = held.list(specs, 1);
    expect(first!.exchange.request.headers.authorization).toBe('[redacted]');
    expect(first!.exchange.operation).toEqual({ id: 'createOrder', method: 'POST', path: '/orders' });
    expect(entries[0]!.ok && entries[0]!.exchange.operation).toBeNull();
    expect(held.find(specs, 'unknown')).toBeNull();
  });
});
