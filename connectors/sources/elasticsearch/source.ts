import { defineSource, parseDuration, pollLoop, type DecodedEntry, type SourceProgress } from '../../../src/sdk/index.js';
import { parseCheckpoint, SeenDocuments, type EsCheckpoint } from './checkpoint.js';
import { describeEsError, esClient, EsSourceError, isPitGone } from './client.js';
import { decodeHit, docKey, type Hit } from './hits.js';
import { ElasticsearchSourceConfig } from './schema.js';

/** Retries after a failure wait 1 s, doubling up to this. */
const MAX_BACKOFF_MS = 60_000;
/** Documents with the checkpoint's exact timestamp remembered in it; beyond that the dedupe window drops repeats. */
const MAX_AT_TS = 1_000;

/**
 * Reads gateway logs indexed in Elasticsearch (Filebeat, Logstash, Elastic Agent): each poll opens a
 * point in time on the index pattern (so indices created later are read), searches from the
 * checkpoint's timestamp minus `lookback`, sorted by timestamp and tiebreaker, and pages with
 * `search_after`. Each page commits with the checkpoint of its last document. A point in time that
 * expired is reopened and the search resumes from the checkpoint.
 */
export const elasticsearchSource = defineSource({
  type: 'elasticsearch',
  summary: 'reads gateway logs from Elasticsearch indices (history, then new documents), exactly once',
  config: ElasticsearchSourceConfig,
  name: { text: 'elasticsearch:<index>', of: (config) => `elasticsearch:${config.index}` },
  format: 'each document\'s `_source`',
  create(config, ctx) {
    const format = ctx.format!;
    const pollMs = parseDuration(config.pollInterval)!;
    const lookbackMs = parseDuration(config.lookback)!;
    const keepAlive = `${parseDuration(config.keepAlive)!}ms`;
    const startAt = config.startAt !== undefined ? Date.parse(config.startAt) : undefined;
    if (startAt !== undefined && !Number.isFinite(startAt)) throw new Error(`startAt: not an RFC 3339 time: ${config.startAt}`);
    const client = esClient(config);
    const where = { index: config.index, timestampField: config.timestampField };
    const seen = new SeenDocuments();
    const sort = [{ [config.timestampField]: { order: 'asc' as const, numeric_type: 'date' as const } }, { [config.tiebreaker]: { order: 'asc' as const } }];
    const progress = { documents: 0, last: undefined as EsCheckpoint | undefined, pitReopened: 0 };
    let started = false;
    /** Pages came full: more is waiting. */
    let behind = false;
    let loop: Promise<void> | undefined;

    const openPit = async () => (await client.openPointInTime({ index: config.index, keep_alive: keepAlive }, { signal: ctx.signal })).id;
    const closePit = (id: string) => client.closePointInTime({ id }).catch(() => undefined);

    function queryFrom(from: number | undefined) {
      const filter: unknown[] = [];
      if (from !== undefined) filter.push({ range: { [config.timestampField]: { gte: from, format: 'epoch_millis' } } });
      if (config.query) filter.push(config.query);
      return { bool: { filter } };
    }

    /** One search from the checkpoint (minus the lookback) to the newest document. */
    async function pass(): Promise<void> {
      // The store's checkpoint, not memory: after a failed commit memory ran ahead of it.
      let cp = parseCheckpoint(ctx.getCheckpoint());
      let from = cp ? cp.ts - lookbackMs : startAt;
      if (from !== undefined) seen.forgetBefore(from);
      for (const key of cp?.atTs ?? []) seen.add(key, cp!.ts);
      let pit = await openPit();
      let after: unknown[] | undefined;
      const search = () => client.search<unknown>({
        pit: { id: pit, keep_alive: keepAlive }, size: config.batchSize, sort, query: queryFrom(from) as never,
        track_total_hits: false, ...(after ? { search_after: after as never } : {}),
      }, { signal: ctx.signal });
      // The next page is fetched while this one is committed: Elasticsearch and the store work at once.
      let next: ReturnType<typeof search> | undefined;
      try {
        for (;;) {
          let res;
          try {
            res = await (next ?? search());
          } catch (err) {
            next = undefined;
            if (!isPitGone(err)) throw err;
            // Resume from what is committed, never from the start (nor the lookback again).
            cp = parseCheckpoint(ctx.getCheckpoint());
            from = cp?.ts ?? from;
            after = undefined;
            progress.pitReopened++;
            ctx.logger.info('point in time expired; reopening it and resuming from the checkpoint', { index: config.index, from: from !== undefined ? new Date(from).toISOString() : null });
            pit = await openPit();
            continue;
          }
          if (res.pit_id) pit = res.pit_id;
          if (res._shards.total === 0) throw new EsSourceError('no_matching_index', `no index matches ${config.index} (yet): reading it once one exists`);
          if (res._shards.failed > 0) throw Object.assign(new Error(res._shards.failures?.[0]?.reason?.reason ?? 'a shard failed'), { meta: { body: { error: res._shards.failures?.[0]?.reason } } });
          next = undefined;
          const hits = res.hits.hits as Hit[];
          if (hits.length === 0) break;
          behind = hits.length === config.batchSize;
          after = hits.at(-1)!.sort;
          if (behind) {
            next = search();
            next.catch(() => undefined); // awaited (and its error handled) at the top of the loop, unless the commit fails first
          }
          await commit(hits, cp);
          cp = parseCheckpoint(ctx.getCheckpoint()) ?? cp;
          if (!behind) break;
        }
      } finally {
        behind = false;
        void closePit(pit);
      }
    }

    /** One page: the documents not read yet, with the checkpoint of the last one (never moving back into the lookback). */
    async function commit(hits: Hit[], cp: EsCheckpoint | null): Promise<void> {
      const entries: DecodedEntry[] = [];
      const fresh: Array<[string, number]> = [];
      for (const hit of hits) {
        const key = docKey(hit);
        if (seen.has(key)) continue;
        entries.push(...decodeHit(format, hit));
        fresh.push([key, Number(hit.sort?.[0])]);
      }
      const last = hits.at(-1)!;
      const ts = Number(last.sort?.[0]);
      const atTs = hits.filter((h) => Number(h.sort?.[0]) === ts).map(docKey);
      if (cp && cp.ts === ts) atTs.unshift(...cp.atTs.filter((k) => !atTs.includes(k)));
      const next: EsCheckpoint | null = !cp || ts > cp.ts || (ts === cp.ts && atTs.length > cp.atTs.length)
        ? { v: 1, ts, sort: last.sort ?? [ts], atTs: atTs.slice(-MAX_AT_TS) } : cp;
      if (entries.length === 0 && next === cp) return;
      await ctx.ingest(entries, next ? { checkpoint: JSON.stringify(next) } : {});
      for (const [key, at] of fresh) seen.add(key, at);
      progress.documents += fresh.length;
      if (next) progress.last = next;
    }

    const poll = pollLoop({
      signal: ctx.signal, logger: ctx.logger, pollMs, maxBackoffMs: MAX_BACKOFF_MS, pass,
      describe: (err) => describeEsError(err, where), what: config.index, fields: { index: config.index },
    });

    function status(): SourceProgress {
      const catchingUp = behind && !poll.failing;
      const state = poll.failing ? 'degraded' : !started ? 'stopped' : catchingUp ? 'catching-up' : 'idle';
      const last = progress.last;
      return {
        state,
        position: last ? { timestamp: new Date(last.ts).toISOString(), tiebreaker: last.sort.slice(1) } : null,
        ...(last ? { positionTime: new Date(last.ts).toISOString() } : {}),
        lagSeconds: catchingUp && last ? Math.max(0, Math.round((Date.now() - last.ts) / 1000)) : 0,
        read: { documents: progress.documents },
        ...(poll.lastError ? { lastError: poll.lastError } : {}),
      };
    }

    return {
      async start() {
        started = true;
        loop = poll.run();
      },
      async stop() {
        await loop;
        started = false;
        await client.close();
      },
      status,
    };
  },
});
