import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

/**
 * Takes the reply over as a Server-Sent Events stream of `stream`'s tail: the headers (no caching,
 * no proxy buffering) and the opening comment with EventSource's reconnect delay.
 */
export function openEventStream(reply: FastifyReply, stream: string): ServerResponse {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': reflex tail of ' + stream + '\nretry: 2000\n\n');
  return res;
}
