/**
 * The Kafka sink's producer on its own thread: encoding, compression and the kafkajs client run on
 * this thread's event loop, so ingest's work on the main thread neither delays a send's many async
 * steps nor pays for them. Requests and replies: see ProducerThread (producer-client.ts).
 */
// First: it must replace kafkajs's record encoder before producer.js loads kafkajs.
import { recordEncoderInstalled } from './install-record-encoder.js';
import { parentPort, workerData } from 'node:worker_threads';
import type { Logger } from '../../../src/sdk/index.js';
import type { StoredRecord } from '../../../src/sdk/index.js';
import { TopicProducer, type ProducerSettings } from './producer.js';

export type ThreadRequest = { id: number; op: 'send'; batches: StoredRecord[][] } | { id: number; op: 'close' };
export type ThreadReply =
  | { id: number; ok: true }
  | { id: number; ok: false; error: { name: string; message: string } }
  | { log: { level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields: Record<string, unknown> } };

const port = parentPort!;

/** Log lines go to the main thread's logger, with this logger's bindings. */
function forwardingLogger(bindings: Record<string, unknown>): Logger {
  const line = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) => {
    // Only plain data crosses threads: anything else (an Error in a field) as its text.
    const plain = JSON.parse(JSON.stringify({ ...bindings, ...fields }, (_k, v: unknown) => (v instanceof Error ? v.message : v))) as Record<string, unknown>;
    port.postMessage({ log: { level, message, fields: plain } } satisfies ThreadReply);
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), child: (more) => forwardingLogger({ ...bindings, ...more }) };
}

if (!recordEncoderInstalled) port.postMessage({ log: { level: 'warn', message: 'kafkajs was loaded before the fast record encoder could replace its own; records are encoded by kafkajs', fields: {} } } satisfies ThreadReply);
const producer = new TopicProducer((workerData as { settings: ProducerSettings }).settings, forwardingLogger({}));

port.on('message', (request: ThreadRequest) => {
  const work = request.op === 'send' ? producer.send(request.batches) : producer.close();
  work.then(
    () => port.postMessage({ id: request.id, ok: true } satisfies ThreadReply),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      port.postMessage({ id: request.id, ok: false, error: { name: e.name, message: e.message } } satisfies ThreadReply);
    },
  );
});
