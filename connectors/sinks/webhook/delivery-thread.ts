/**
 * Webhook deliveries on their own thread: signing (Standard Webhooks) and the undici clients (one
 * keep-alive pool per endpoint) run on this thread's event loop, so a request's many async steps
 * neither wait for the main thread's SQLite work (fan-out, recorded outcomes, ingest) nor take its
 * time. The main thread's side: delivery-thread-client.ts; the messages: delivery-wire.ts.
 */
import { parentPort } from 'node:worker_threads';
import { POST_FIELDS, type ThreadReply, type ThreadRequest } from './delivery-wire.js';
import { EndpointClient } from './http-client.js';
import type { PostResult } from './outcome.js';
import { signedHeaders } from './signing.js';

const port = parentPort!;
const clients = new Map<number, EndpointClient>();
// Outcomes that arrive in the same turn of this loop cross in one message.
let results: unknown[] = [];
let closed: number[] = [];
let flushQueued = false;

function flushSoon(): void {
  if (flushQueued) return;
  flushQueued = true;
  setImmediate(() => {
    flushQueued = false;
    port.postMessage({ results, closed } satisfies ThreadReply);
    results = [];
    closed = [];
  });
}

function answer(id: number, r: PostResult): void {
  switch (r.kind) {
    case 'delivered':
      results.push(id, r.kind, r.status, r.latencyMs, r.responseBody, null);
      break;
    case 'failed-status':
      results.push(id, r.kind, r.status, r.latencyMs, r.responseBody, r.retryAfter);
      break;
    case 'timeout':
      results.push(id, r.kind, null, r.latencyMs, null, null);
      break;
    case 'network-error':
    case 'address-refused':
      results.push(id, r.kind, null, r.latencyMs, r.error, null);
      break;
  }
  flushSoon();
}

// A URL per endpoint string, parsed once.
const urls = new Map<string, URL>();
function urlOf(href: string): URL {
  let url = urls.get(href);
  if (!url) {
    if (urls.size > 4096) urls.clear();
    urls.set(href, (url = new URL(href)));
  }
  return url;
}

port.on('message', (request: ThreadRequest) => {
  for (const { client, options } of request.opens) clients.set(client, new EndpointClient(options));
  const posts = request.posts;
  for (let i = 0; i < posts.length; i += POST_FIELDS) {
    const id = posts[i] as number;
    const client = clients.get(posts[i + 1] as number);
    const body = posts[i + 3] as string;
    if (!client) {
      answer(id, { kind: 'network-error', error: "the endpoint's HTTP client is closed", latencyMs: 0 });
      continue;
    }
    const eventId = posts[i + 4] as string | null;
    const headers = eventId === null
      ? (posts[i + 6] as Record<string, string>)
      : signedHeaders({ eventId, timestampSeconds: posts[i + 5] as number, secrets: posts[i + 6] as string[] }, body);
    void client.post(urlOf(posts[i + 2] as string), headers, body).then((r) => answer(id, r));
  }
  for (const id of request.closes) {
    const client = clients.get(id);
    clients.delete(id);
    void (client?.close() ?? Promise.resolve()).catch(() => undefined).then(() => {
      closed.push(id);
      flushSoon();
    });
  }
});
