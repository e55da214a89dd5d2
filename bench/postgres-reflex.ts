/**
 * (j) reflex's side: the postgres sink created from its connector, as reflex.yaml would create it,
 * driven by the real Dispatcher over the filled store, timed from the dispatcher's start until the
 * sink's offset for the changelog is the stream's last offset.
 */
import { join } from 'node:path';
import { builtinRegistry } from '../connectors/index.js';
import { validateConnectorBlock } from '../src/config/connector-config.js';
import { Dispatcher } from '../src/dispatch/dispatcher.js';
import { createLogger } from '../src/logger.js';
import type { Sink, SinkConnector } from '../src/sinks/connector.js';
import { loadSpecSet } from '../src/spec/compile.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { sinkOwner } from '../src/store/subscriptions.js';
import { PG_STREAM } from './postgres-workload.js';
import { ROOT } from './root.js';

/** The spec whose `orders` resource the workload's changelog belongs to (the sink learns its streams from it). */
const SPEC = join(ROOT, 'examples/shop/openapi.yaml');
/** How often the timer looks at the sink's progress. */
const POLL_MS = 10;
/** A sink that delivers nothing for this long has stalled: the run fails with the dispatcher's last error. */
const STALL_MS = 60_000;

export interface ReflexSinkResult {
  records: number;
  seconds: number;
  batchSize: number;
  /** The sink's own offset for the changelog at the end (Sink.positions), null when the sink keeps none. */
  sinkOffset: number | null;
}

/** The postgres connector with its defaults for a database, as a `sinks:` block with only `url` would give it. */
export function postgresSinkSettings(url: string) {
  const registry = builtinRegistry();
  const connector = registry.sinks.get('postgres') as SinkConnector | undefined;
  if (!connector) throw new Error('no sink connector of type postgres is registered in connectors/index.ts');
  const settings = validateConnectorBlock('sink', { type: 'postgres', url, streams: [PG_STREAM] }, connector, registry);
  return { connector, settings, name: connector.instanceName(settings), batchSize: connector.batchSize?.(settings) ?? 500 };
}

async function createSink(url: string): Promise<{ sink: Sink; name: string; batchSize: number }> {
  const { connector, settings, name, batchSize } = postgresSinkSettings(url);
  const specs = await loadSpecSet([SPEC]);
  const sink = connector.create(settings, { name, logger: createLogger({ level: 'error' }), service: undefined, streams: specs.streams });
  if (!('deliver' in sink)) throw new Error('the postgres sink is expected to be delivered by the host\'s dispatcher');
  await sink.open?.();
  return { sink, name, batchSize };
}

/** Lets the sink create its tables in the database at `url` (what the floor then writes into), and closes it. */
export async function prepareTables(url: string): Promise<void> {
  const { sink } = await createSink(url);
  await sink.close();
}

/** Delivers the store's changelog into the database at `url` through the sink; opening it (DDL) is not timed. */
export async function runReflexSink(url: string, storePath: string): Promise<ReflexSinkResult> {
  const store = new SqliteStore({ path: storePath, retentionMs: 0, dedupeWindowMs: 0, synchronous: 'normal' });
  const last = store.lastOffset(PG_STREAM);
  const { sink, name, batchSize } = await createSink(url);
  // The timer below watches the dispatcher's cursor: it has to start from nothing delivered.
  const delivered = store.subscriptions.cursor(sinkOwner(name), PG_STREAM) ?? 0;
  if (delivered > 0) {
    await sink.close();
    store.close();
    throw new Error(`${storePath} was already delivered by sink '${name}' up to offset ${delivered}: fill a new store`);
  }
  const dispatcher = new Dispatcher(store, sink, createLogger({ level: 'error' }), { name, streams: [PG_STREAM], batchSize });
  try {
    const started = performance.now();
    dispatcher.start();
    // The cursor is committed right after deliver() resolved, i.e. after the batch's transaction committed.
    let at = 0;
    let movedAt = performance.now();
    while (at < last) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const now = store.subscriptions.cursor(dispatcher.owner, PG_STREAM) ?? 0;
      if (now > at) [at, movedAt] = [now, performance.now()];
      const error = dispatcher.health().error;
      if (error?.permanent || performance.now() - movedAt > STALL_MS) {
        throw new Error(`the postgres sink stopped at offset ${at} of ${last}: ${error?.message ?? `nothing delivered for ${STALL_MS / 1000} s`}`);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const sinkOffset = sink.positions ? ((await sink.positions([PG_STREAM])).get(PG_STREAM) ?? 0) : null;
    return { records: last, seconds, batchSize, sinkOffset };
  } finally {
    await dispatcher.stop();
    store.close();
  }
}
