/**
 * Webhook receivers for the benchmark, in their own process: `count` node:http servers on loopback
 * that read each body and answer 204, as a fast receiver would. Announces the URLs, comma-joined.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceAndWait } from './child-lifetime.js';

const count = Number(process.argv[2] ?? 1);
const servers: Server[] = [];
for (let i = 0; i < count; i++) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(204);
      res.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  servers.push(server);
}
await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
const urls = servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`).join(',');
announceAndWait(urls, () => Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined));
