import type { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import { startThread } from '../sdk/thread.js';
import { BackpressureError, PayloadError, type LogFormat } from '../sources/types.js';
import { fromWirePrepared, type PreparedBatch, type WirePrepared } from './prepared.js';
import type { WorkerSetup } from './ingest-worker.js';

export interface WorkerJob {
  id: number;
  format: string;
  /** Text, or UTF-8 bytes the worker decodes. */
  payload: string | Uint8Array;
  /** The source's name, kept with dead letters. */
  source: string;
}

export type WorkerReply =
  | ({ id: number; ok: true } & WirePrepared)
  | { id: number; ok: false; message: string; /** Set when the payload itself is malformed (400). */ payload?: { line: number | undefined; column: number | undefined } };

interface Thread {
  worker: Worker;
  jobs: Map<number, { resolve: (p: PreparedBatch) => void; reject: (err: unknown) => void }>;
}

/** A worker that died is replaced, but not more often than this (a crash on start would spin). */
const RESTART_PAUSE_MS = 1_000;

/**
 * `ingest.workers` threads that decode payloads and run the rules on them, each with its own copy
 * of the specs and formats; the main thread keeps the store. A worker that dies takes only the
 * batches it was processing with it: they are answered with an error (nothing of them was stored,
 * so the gateway sends them again) and the worker is replaced.
 */
export class IngestWorkers {
  private readonly threads: Thread[] = [];
  private nextId = 0;
  private stopped = false;

  private constructor(
    private readonly setup: WorkerSetup,
    private readonly logger: Logger,
  ) {}

  /** Starts `size` workers and waits until each has loaded the specs (a spec that fails to load fails this). */
  static async start(size: number, setup: WorkerSetup, logger: Logger): Promise<IngestWorkers> {
    const pool = new IngestWorkers(setup, logger);
    try {
      await Promise.all(Array.from({ length: size }, () => pool.spawn()));
    } catch (err) {
      await pool.stop();
      throw err;
    }
    return pool;
  }

  /** Formats the workers can decode (those that said where they can be imported from). */
  has(format: string): boolean {
    return format in this.setup.formats;
  }

  /** Decodes and processes a payload on the least busy worker. Rejects with PayloadError when it is malformed. */
  process(format: string, payload: string | Uint8Array, source: string): Promise<PreparedBatch> {
    if (this.stopped) return Promise.reject(stoppingError());
    const thread = this.threads.reduce<Thread | undefined>((best, t) => (!best || t.jobs.size < best.jobs.size ? t : best), undefined);
    if (!thread) return Promise.reject(new Error('no ingest worker is running (each one that started has died); nothing of this batch was stored, send it again'));
    const id = ++this.nextId;
    return new Promise<PreparedBatch>((resolve, reject) => {
      thread.jobs.set(id, { resolve, reject });
      thread.worker.postMessage({ id, format, payload, source } satisfies WorkerJob, ownBuffer(payload));
    });
  }

  /**
   * Takes no more jobs, lets those in flight finish (their batches commit as they were processed),
   * then ends the threads: a pool replaced by one with reloaded specs.
   */
  async retire(): Promise<void> {
    this.stopped = true;
    while (this.threads.some((t) => t.jobs.size > 0)) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(this.threads.splice(0).map((t) => t.worker.terminate()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const threads = this.threads.splice(0);
    for (const t of threads) for (const job of t.jobs.values()) job.reject(stoppingError());
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private spawn(): Promise<void> {
    const worker = startThread(import.meta.url, 'ingest-worker', this.setup);
    const thread: Thread = { worker, jobs: new Map() };
    return new Promise<void>((ready, failed) => {
      let started = false;
      worker.on('message', (m: WorkerReply | { ready: true }) => {
        if ('ready' in m) {
          started = true;
          this.threads.push(thread);
          ready();
          return;
        }
        const job = thread.jobs.get(m.id);
        if (!job) return;
        thread.jobs.delete(m.id);
        if (m.ok) job.resolve(fromWirePrepared(m));
        else job.reject(m.payload ? new PayloadError(m.message, m.payload.line, m.payload.column) : new Error(m.message));
      });
      let error: Error | null = null;
      worker.on('error', (err) => (error = err));
      worker.on('exit', (code) => {
        if (!started) {
          failed(error ?? new Error(`an ingest worker exited with code ${code} before it was ready`));
          return;
        }
        const index = this.threads.indexOf(thread);
        if (index >= 0) this.threads.splice(index, 1);
        const reason = error ? error.message : `exit code ${code}`;
        for (const job of thread.jobs.values()) {
          job.reject(new Error(`the ingest worker processing this batch stopped (${reason}); nothing of it was stored, send it again`));
        }
        thread.jobs.clear();
        if (this.stopped) return;
        this.logger.error('an ingest worker stopped; starting another', { reason });
        setTimeout(() => {
          if (!this.stopped) this.spawn().catch((err: Error) => this.logger.error('an ingest worker could not be started', { error: err.message }));
        }, RESTART_PAUSE_MS).unref();
      });
    });
  }
}

/** The formats an ingest worker can import: those that say where they live (LogFormat.module). */
export function workerFormats(formats: ReadonlyMap<string, LogFormat>): Record<string, string> {
  return Object.fromEntries([...formats].flatMap(([name, f]) => (f.module ? [[name, f.module]] : [])));
}

/**
 * Bytes that are alone in their ArrayBuffer move to the worker instead of being copied (a 250 kB
 * batch's copy cost the main thread as much as decoding it); the caller handed them over
 * (SourceContext.ingestPayload). A view into a shared pool is copied.
 */
function ownBuffer(payload: string | Uint8Array): ArrayBuffer[] {
  if (typeof payload === 'string' || !(payload.buffer instanceof ArrayBuffer)) return [];
  return payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength ? [payload.buffer] : [];
}

function stoppingError(): BackpressureError {
  return new BackpressureError('reflex is stopping; nothing of this batch was stored, send it again', 1);
}
