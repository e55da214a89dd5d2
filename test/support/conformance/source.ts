import { afterEach, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../../connectors/index.js';
import { validateConnectorBlock } from '../../../src/config/connector-config.js';
import { silentLogger } from '../../../src/logger.js';
import type { Registry } from '../../../src/registry.js';
import type { HttpAnswer, Source, SourceConnector } from '../../../src/sources/connector.js';
import { sourceContext } from '../../../src/sources/host.js';
import { BackpressureError, type DecodedEntry } from '../../../src/sources/types.js';
import type { BatchResult } from '../../../src/store/types.js';
import { eventually, expectConfigRefused, sleep, type BadConfig } from './config.js';

/** A running instance as the harness sees it: its settings (after defaults), the source, and its HTTP routes. */
export interface SourceInstance {
  settings: Record<string, unknown>;
  source: Source;
  /** POST handlers the source registered on reflex's HTTP server, by path. */
  http: Map<string, (body: string, headers: Record<string, string | string[] | undefined>) => Promise<HttpAnswer>>;
}

/** What a connector's test tells the suite: how to configure it and how to hand it data. */
export interface SourceHarness {
  connector: SourceConnector<any>;
  /** A valid block without `type`; fresh input each call (a new file, a new topic). */
  config(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /**
   * Puts one valid log entry per request id where the source reads it, in this order. A pulling
   * source resolves true once the input is written; a receiving source resolves with whether the
   * source acknowledged it (2xx, gRPC OK), and the suite sends again what was not acknowledged, as a
   * gateway does.
   */
  send(instance: SourceInstance, ids: string[]): Promise<boolean>;
  /** Blocks the source must refuse at start, naming reflex.yaml and the line. */
  badConfigs: BadConfig[];
  /** How long the source may take to pick up input (a poll interval, a consumer group join). */
  pickupMs?: number;
  registry?: Registry;
}

/** What the suite's store does with the next commit. */
type StoreMode = { kind: 'ok' } | { kind: 'down' } | { kind: 'backpressure'; retryAfterSeconds: number };

/**
 * The host's side of a source over a store that records what a transaction would: entries and the
 * checkpoint together, or neither.
 */
class RecordingStore {
  ids: string[] = [];
  checkpoint: string | null = null;
  attempts = 0;
  refused = 0;
  mode: StoreMode = { kind: 'ok' };

  async commit(entries: DecodedEntry[], checkpoint: string | undefined): Promise<BatchResult> {
    this.attempts++;
    if (this.mode.kind === 'down') {
      this.refused++;
      throw new Error('SQLITE_IOERR: disk I/O error');
    }
    if (this.mode.kind === 'backpressure') {
      this.refused++;
      throw new BackpressureError('sink behind', this.mode.retryAfterSeconds);
    }
    for (const e of entries) this.ids.push(e.ok ? e.exchange.request.id : `dead letter: ${e.diagnostic.message}`);
    if (checkpoint !== undefined) this.checkpoint = checkpoint;
    return { accepted: entries.length, duplicates: 0, records: 0, deadLetters: 0, unmatched: 0, appended: new Map() };
  }
}

/**
 * The checks every source connector passes: it acknowledges input (checkpoint, consumer offset,
 * 2xx) only together with the store's commit, so a failed commit loses nothing; it waits out
 * backpressure without loss or repeats; it resumes after a restart from where it was; nothing is
 * ingested once stop() resolved; and a bad config block is refused naming reflex.yaml and its line.
 */
export function sourceConformance(name: string, harness: SourceHarness): void {
  const registry = harness.registry ?? builtinRegistry();
  const pickupMs = harness.pickupMs ?? 15_000;
  const running: Array<{ instance: SourceInstance; stopping: AbortController }> = [];
  let seq = 0;
  const ids = (n: number) => Array.from({ length: n }, () => `${name}-conformance-${Date.now()}-${++seq}`);

  async function start(block: Record<string, unknown>, store: RecordingStore): Promise<SourceInstance> {
    const connector = harness.connector;
    const settings = validateConnectorBlock('source', { type: connector.type, ...block }, connector, registry);
    const http: SourceInstance['http'] = new Map();
    const { context, stopping } = sourceContext({
      name: connector.instanceName(settings),
      logger: silentLogger,
      format: connector.takesFormat ? registry.formats.get(settings.format as string)! : null,
      decodeOptions: {},
      http: { post: (path, handler) => void http.set(path, handler) },
      commit: (entries, checkpoint) => store.commit(entries, checkpoint),
      getCheckpoint: () => store.checkpoint,
    });
    const instance: SourceInstance = { settings, source: connector.create(settings, context), http };
    running.push({ instance, stopping });
    await instance.source.start();
    return instance;
  }

  /** Stops as the host does: the context is aborted first (ending a wait for backpressure), then stop(). */
  async function stop(instance: SourceInstance): Promise<void> {
    const at = running.findIndex((r) => r.instance === instance);
    const [{ stopping }] = running.splice(at, 1);
    stopping.abort();
    await instance.source.stop();
  }

  /** Sends until acknowledged, as a gateway retries what it got no 2xx for. */
  async function deliver(instance: SourceInstance, batch: string[]): Promise<void> {
    for (let tries = 0; !(await harness.send(instance, batch).catch(() => false)); tries++) {
      if (tries > 200) throw new Error('the source never acknowledged the batch');
      await sleep(50);
    }
  }

  afterEach(async () => {
    for (const r of [...running].reverse()) await stop(r.instance);
  });

  describe(`${name}: source conformance`, () => {
    it('acknowledges input only with the store\'s commit: while the store fails nothing is checkpointed, and the same entries come again', async () => {
      const store = new RecordingStore();
      const instance = await start(await harness.config(), store);
      store.mode = { kind: 'down' };
      const batch = ids(3);
      const sent = deliver(instance, batch);
      await eventually('a refused commit', () => store.refused, (n) => n >= 2, pickupMs);
      expect(store.ids).toEqual([]);
      expect(store.checkpoint).toBeNull();
      store.mode = { kind: 'ok' };
      await sent;
      await eventually('the entries', () => store.ids, (got) => got.length >= batch.length, pickupMs);
      await sleep(200);
      expect(store.ids).toEqual(batch);
    });

    it('waits out backpressure, then ingests every entry once, in order', async () => {
      const store = new RecordingStore();
      const instance = await start(await harness.config(), store);
      store.mode = { kind: 'backpressure', retryAfterSeconds: 0.05 };
      const batch = ids(4);
      const sent = deliver(instance, batch);
      await eventually('refused attempts', () => store.refused, (n) => n >= 3, pickupMs);
      expect(store.ids).toEqual([]);
      store.mode = { kind: 'ok' };
      await sent;
      await eventually('the entries', () => store.ids, (got) => got.length >= batch.length, pickupMs);
      await sleep(200);
      expect(store.ids).toEqual(batch);
    });

    it('resumes after a restart from where it stopped: nothing lost, nothing repeated', async () => {
      const store = new RecordingStore();
      const block = await harness.config();
      const first = ids(3);
      const second = ids(3);
      let instance = await start(block, store);
      await deliver(instance, first);
      await eventually('the first entries', () => store.ids, (got) => got.length >= first.length, pickupMs);
      await stop(instance);
      instance = await start(block, store);
      await deliver(instance, second);
      await eventually('the second entries', () => store.ids, (got) => got.length >= first.length + second.length, pickupMs);
      await sleep(500);
      expect(store.ids).toEqual([...first, ...second]);
    });

    it('reports its status (GET /sources, /readyz) as JSON with a known state, not degraded while it reads', async () => {
      const store = new RecordingStore();
      const instance = await start(await harness.config(), store);
      const batch = ids(2);
      await deliver(instance, batch);
      await eventually('the entries', () => store.ids, (got) => got.length >= batch.length, pickupMs);
      const status = instance.source.status?.() ?? { state: 'running' };
      expect(['running', 'catching-up', 'idle']).toContain(status.state);
      expect(JSON.parse(JSON.stringify(status))).toEqual(status);
    });

    it('ingests nothing once stop() resolved; stop() ends a wait for backpressure at once', async () => {
      const store = new RecordingStore();
      const instance = await start(await harness.config(), store);
      store.mode = { kind: 'backpressure', retryAfterSeconds: 60 };
      const waiting = harness.send(instance, ids(2)).catch(() => false);
      await eventually('a refused attempt', () => store.refused, (n) => n >= 1, pickupMs);
      const t0 = Date.now();
      await stop(instance);
      expect(Date.now() - t0).toBeLessThan(5_000);
      await waiting;
      store.mode = { kind: 'ok' };
      const attempts = store.attempts;
      await harness.send(instance, ids(2)).catch(() => false);
      await sleep(Math.min(pickupMs, 2_000));
      expect(store.ids).toEqual([]);
      expect(store.attempts).toBe(attempts);
    });

    for (const bad of harness.badConfigs) {
      it(`refuses a bad config block naming reflex.yaml and its line: ${bad.what}`, async () => {
        await expectConfigRefused('sources', harness.connector.type, bad, registry);
      });
    }
  });
}
