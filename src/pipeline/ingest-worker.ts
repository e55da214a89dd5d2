/**
 * An ingest worker thread: decodes payloads and runs route matching, rules and CDC intents on them
 * (the work that needs no store), so that the main thread only deduplicates and commits. Loads the
 * same spec files and formats as the main thread; answers each job with a PreparedBatch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadSpecSet } from '../spec/compile.js';
import type { RefPolicy } from '../spec/ref-files.js';
import { PayloadError, type LogFormat } from '../sources/types.js';
import type { EntryOutcome } from '../store/types.js';
import { timedOutcomeOf, type EntryLimits } from './entry-outcome.js';
import { BucketCounts, RULE_SECONDS_BUCKETS } from '../metrics/bucket-counts.js';
import { dedupeKeyOf, requestKeyOf } from './ingest.js';
import { toWirePrepared } from './prepared.js';
import { utf8 } from '../sources/utf8.js';
import type { WorkerJob, WorkerReply } from './worker-pool.js';

export interface WorkerSetup {
  specFiles: string[];
  specRefs: RefPolicy | undefined;
  /** Format name -> the module that exports it (LogFormat.module). */
  formats: Record<string, string>;
  limits: EntryLimits;
}

const setup = workerData as WorkerSetup;
const port = parentPort!;
const specs = await loadSpecSet(setup.specFiles, setup.specRefs);
const formats = new Map<string, LogFormat>();
for (const [name, url] of Object.entries(setup.formats)) formats.set(name, await importFormat(name, url));

const ruleTimes = new BucketCounts(RULE_SECONDS_BUCKETS);

let tail: Promise<unknown> = Promise.resolve();
port.on('message', (job: WorkerJob) => {
  // One job at a time, in the order they came: a rule that went async does not let another start.
  tail = tail.then(() => run(job)).then((reply) => port.postMessage(reply));
});
port.postMessage({ ready: true });

async function run(job: WorkerJob): Promise<WorkerReply> {
  try {
    const format = formats.get(job.format);
    if (!format) throw new Error(`format '${job.format}' was not loaded in the ingest worker`);
    const payload = typeof job.payload === 'string' ? job.payload : utf8(job.payload);
    const entries = format.decode(payload, { maxDepth: setup.limits.jsonDepth });
    const outcomes: EntryOutcome[] = [];
    for (const entry of entries) {
      const requestKey = entry.ok ? requestKeyOf(entry.exchange) : entry.requestKey;
      const dedupeKey = entry.ok ? dedupeKeyOf(entry.exchange, requestKey) : requestKey;
      const outcome = timedOutcomeOf(entry, requestKey, dedupeKey, job.source, specs, setup.limits, ruleTimes);
      outcomes.push(outcome instanceof Promise ? await outcome : outcome);
    }
    // The rule times go back with the batch: the main thread's registry counts them (none runs here).
    const times = ruleTimes.take();
    return { id: job.id, ok: true, ...toWirePrepared({ received: entries.length, outcomes, ...(times ? { ruleTimes: times } : {}) }) };
  } catch (err) {
    if (err instanceof PayloadError) return { id: job.id, ok: false, message: err.message, payload: { line: err.line, column: err.column } };
    return { id: job.id, ok: false, message: (err as Error)?.message ?? String(err) };
  }
}

async function importFormat(name: string, url: string): Promise<LogFormat> {
  const module = (await import(url)) as Record<string, unknown>;
  const format = Object.values(module).find((v): v is LogFormat => isFormat(v) && v.name === name);
  if (!format) throw new Error(`${url} exports no log format named '${name}'`);
  return format;
}

function isFormat(v: unknown): v is LogFormat {
  return typeof v === 'object' && v !== null && typeof (v as LogFormat).name === 'string' && typeof (v as LogFormat).decode === 'function';
}
