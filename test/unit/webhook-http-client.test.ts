import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointClient } from '../../connectors/sinks/webhook/http-client.js';

/** What each kind of answer becomes, against a real server on loopback. */
describe('webhook HTTP client outcomes', () => {
  let server: Server;
  let base: string;
  const client = new EndpointClient({ allowPrivateAddresses: true, timeoutMs: 300, maxResponseBytes: 5, connections: 2 });
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ok') return res.writeHead(200).end('fine, thanks');
      if (req.url === '/busy') return res.writeHead(503, { 'retry-after': '7' }).end();
      if (req.url === '/moved') return res.writeHead(302, { location: '/ok' }).end();
      // /slow: never answers within the timeout.
      setTimeout(() => res.writeHead(200).end(), 2000).unref();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await client.close();
    server.closeAllConnections();
    server.close();
  });

  it('tells delivered, failed with a status (with Retry-After), timed out and unreachable apart', async () => {
    expect(await client.post(new URL(`${base}/ok`), {}, '{}')).toMatchObject({ kind: 'delivered', status: 200, responseBody: 'fine,' });
    expect(await client.post(new URL(`${base}/busy`), {}, '{}')).toMatchObject({ kind: 'failed-status', status: 503, retryAfter: '7' });
    expect(await client.post(new URL(`${base}/moved`), {}, '{}')).toMatchObject({ kind: 'failed-status', status: 302, retryAfter: null });
    expect(await client.post(new URL(`${base}/slow`), {}, '{}')).toMatchObject({ kind: 'timeout' });
    const down = await client.post(new URL('http://127.0.0.1:1/x'), {}, '{}');
    expect(down.kind).toBe('network-error');
    expect(down.kind === 'network-error' && down.error).toContain('ECONNREFUSED');
  });
});
