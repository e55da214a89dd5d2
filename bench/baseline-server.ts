/**
 * The HTTP baseline: a bare node:http server that reads each body, JSON.parses it and answers 200.
 * It is what any Node ingest endpoint costs at least, so reflex's rate is reported as a share of it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceAndWait } from './child-lifetime.js';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let answer: string;
    try {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      answer = JSON.stringify({ received: Array.isArray(parsed) ? parsed.length : 1 });
      res.writeHead(200, { 'content-type': 'application/json' });
    } catch (err) {
      answer = JSON.stringify({ error: (err as Error).message });
      res.writeHead(400, { 'content-type': 'application/json' });
    }
    res.end(answer);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  announceAndWait(`http://127.0.0.1:${port}`, () => new Promise((resolve) => server.close(() => resolve())));
});
