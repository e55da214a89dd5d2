import type { Worker } from 'node:worker_threads';
import { startThread, type Logger, type StoredRecord } from '../../../src/sdk/index.js';
import type { ProducerSettings } from './producer.js';
// Type-only, and it also makes every build that compiles this file compile the thread's entry.
import type { ThreadReply, ThreadRequest } from './producer-thread.js';


/**
 * The main thread's side of the producer thread (producer-thread.ts): batches of stored JSON text go
 * over (strings are copied, never parsed here), one answer comes back per send. The thread starts at
 * the first send; when it dies, the sends in flight reject (the dispatcher offers them again) and
 * the next send starts a new one.
 */
export class ProducerThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  constructor(private readonly settings: ProducerSettings, private readonly logger: Logger) {}

  send(batches: StoredRecord[][]): Promise<void> {
    return this.request({ id: 0, op: 'send', batches });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    await this.request({ id: 0, op: 'close' }).catch(() => undefined);
    this.worker = null;
    await worker.terminate();
  }

  private request(request: ThreadRequest): Promise<void> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ ...request, id });
    });
  }

  private start(): Worker {
    const worker = startThread(import.meta.url, 'producer-thread', { settings: this.settings });
    this.worker = worker;
    worker.on('message', (reply: ThreadReply) => {
      if ('log' in reply) {
        this.logger[reply.log.level](reply.log.message, reply.log.fields);
        return;
      }
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (reply.ok) waiter?.resolve();
      else waiter?.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
    });
    const died = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    worker.on('error', (err) => {
      this.logger.error('the Kafka producer thread failed; starting a new one for the next batch', { error: err.message });
      died(err);
    });
    worker.on('exit', (code) => died(new Error(`the Kafka producer thread exited (code ${code})`)));
    return worker;
  }
}
