import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointClient } from '../../connectors/sinks/webhook/http-client.js';
import { RequestDeadlines } from '../../connectors/sinks/webhook/request-deadlines.js';

describe('request deadlines', () => {
  it('abort the requests still running at their deadline, oldest first, and never the finished ones', () => {
    let now = 0;
    const deadlines = new RequestDeadlines(100, () => now);
    const a = deadlines.start();
    now = 30;
    const b = deadlines.start();
    now = 60;
    const c = deadlines.start();
    const aborted: string[] = [];
    a.once('abort', () => aborted.push('a'));
    b.once('abort', () => aborted.push('b'));
    c.once('abort', () => aborted.push('c'));
    deadlines.finish(b);
    now = 130;
    (deadlines as unknown as { fire(): void }).fire();
    expect(aborted).toEqual(['a']);
    expect([a.aborted, b.aborted, c.aborted]).toEqual([true, false, false]);
    now = 160;
    (deadlines as unknown as { fire(): void }).fire();
    expect(aborted).toEqual(['a', 'c']);
    deadlines.close();
  });

  it('forget a listener that was removed', () => {
    const deadlines = new RequestDeadlines(100, () => 0);
    const s = deadlines.start();
    let calls = 0;
    const listener = () => calls++;
    s.on('abort', listener);
    s.removeListener('abort', listener);
    s.abort();
    expect(calls).toBe(0);
    expect(s.aborted).toBe(true);
    deadlines.close();
  });
});

/** The deadline covers the whole request: a receiver that sends its headers and then drips its body times out too. */
describe('webhook HTTP client deadline', () => {
  let server: Server;
  let base: string;
  const client = new EndpointClient({ allowPrivateAddresses: true, timeoutMs: 400, maxResponseBytes: 1000, connections: 2 });
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(200);
      const drip = setInterval(() => res.write('.'), 100);
      res.on('close', () => clearInterval(drip));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await client.close();
    server.closeAllConnections();
    server.close();
  });

  it('times out a response whose body never ends, though bytes keep coming', async () => {
    const result = await client.post(new URL(`${base}/drip`), {}, '{}');
    expect(result).toMatchObject({ kind: 'timeout' });
    expect(result.latencyMs).toBeGreaterThanOrEqual(390);
  });
});
