import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  /** The status this receiver answered. */
  status: number;
  at: number;
}

export type Answer = { status: number; delayMs?: number; body?: string; headers?: Record<string, string> };

/** A real HTTP server on loopback that records every POST and answers as `answer` says. */
export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Bodies (parsed) of requests answered with 2xx, in arrival order. */
  delivered(): any[];
  answer: (request: { body: string; headers: IncomingHttpHeaders; n: number }) => Answer;
  close(): Promise<void>;
}

export async function startReceiver(answer: Receiver['answer'] = () => ({ status: 204 }), port = 0): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let n = 0;
  const receiver = {} as Receiver;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const a = receiver.answer({ body, headers: req.headers, n: n++ });
      const reply = () => {
        requests.push({ headers: req.headers, body, status: a.status, at: Date.now() });
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? '');
      };
      if (a.delayMs) setTimeout(reply, a.delayMs);
      else reply();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  Object.assign(receiver, {
    url: `http://127.0.0.1:${actual}/hook`,
    port: actual,
    requests,
    answer,
    delivered: () => requests.filter((r) => r.status >= 200 && r.status < 300).map((r) => JSON.parse(r.body)),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  });
  return receiver;
}

/** Polls `check` until it returns true (or throws its last failure after `timeoutMs`). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
