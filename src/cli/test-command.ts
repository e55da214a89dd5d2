import { readFileSync } from 'node:fs';
import { formatDiagnostic } from '../model/diagnostic.js';
import { Ingestor } from '../pipeline/ingest.js';
import type { Registry } from '../registry.js';
import { bodylessRuleWarnings } from '../spec/bodyless-rules.js';
import { loadSpecSet } from '../spec/compile.js';
import type { RefPolicy } from '../spec/ref-files.js';
import { parseNdjson } from '../sources/json-payload.js';
import { PayloadError } from '../sources/types.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { CdcApplier } from '../cdc/applier.js';
import { silentLogger } from '../logger.js';
import type { CliIO } from './main.js';
import { diffRecords } from './record-diff.js';
import { explainEntries } from './explain.js';

export interface TestOptions {
  specs: string[];
  logs: string;
  format: string;
  expect?: string;
  /** A request id: explain what each step makes of that entry instead of printing records. */
  explain?: string;
  /** Where the specs' $refs may read besides their own folder tree (`--allow-refs`). */
  refs?: RefPolicy;
}

/**
 * `reflex test`: runs the logs through the same pipeline as `serve`, on an in-memory store, and
 * prints one `{stream, key, value}` object a line. The whole file is one batch.
 */
export async function runTest(options: TestOptions, registry: Registry, io: CliIO): Promise<number> {
  const format = registry.formats.get(options.format);
  if (!format) throw new Error(`unknown --format '${options.format}' (known: ${[...registry.formats.keys()].join(', ')})`);
  const specs = await loadSpecSet(options.specs, options.refs);
  for (const w of specs.warnings) io.err(formatDiagnostic(w));
  for (const w of bodylessRuleWarnings(specs, [format])) io.err(formatDiagnostic(w));

  let entries;
  try {
    entries = format.decode(readFileSync(options.logs, 'utf8'));
  } catch (err) {
    if (err instanceof PayloadError) {
      io.err(`${options.logs}${err.line ? `:${err.line}:${err.column ?? 1}` : ''} - error ${err.code}: ${err.message}`);
      return 1;
    }
    throw err;
  }

  if (options.explain !== undefined) {
    if (await explainEntries(entries, options.explain, specs, io.out)) return 0;
    io.err(`reflex: no entry with request id '${options.explain}' in ${options.logs} (${entries.length} entries)`);
    return 1;
  }

  const store = new SqliteStore({ path: ':memory:', retentionMs: 0, dedupeWindowMs: Number.MAX_SAFE_INTEGER, synchronous: 'normal' });
  try {
    const cdc = new CdcApplier(store, { reorderWindowMs: Number.MAX_SAFE_INTEGER, logger: silentLogger });
    const result = await new Ingestor(store, specs, cdc).ingest(entries, { source: `test:${options.logs}`, collect: true });
    // The whole input is one reorder window: changes apply in request-time order after the batch.
    const changes = cdc.applyDue(true, true);
    for (const s of changes.skipped) io.err(`change not applied: ${s.intent.resource}/${s.intent.key} (request ${s.intent.requestId}): ${s.reason}`);
    const committed = [...(result.committed ?? []), ...(changes.committed ?? [])];
    // Through JSON, as the store keeps them (expression results may carry evaluator-internal fields).
    const actual = committed.map((r) => JSON.parse(JSON.stringify({ stream: r.stream, key: r.key, value: r.value })) as unknown);
    for (const dl of store.deadLetters(0, Number.MAX_SAFE_INTEGER)) io.err(`dead letter: ${formatDiagnostic(dl.diagnostic)}`);
    for (const u of store.unmatched()) {
      io.err(`unmatched: ${u.count} × ${u.lastMethod} ${u.lastPath} (${u.label})`);
      if (u.hint) io.err(`  tried: ${u.hint}`);
    }
    io.err(`${entries.length} entries: ${result.records} events, ${changes.records} change records (${changes.late} late), ${result.deadLetters} dead letters, ${result.unmatched} unmatched, ${result.duplicates} duplicates`);

    if (!options.expect) {
      for (const r of actual) io.out(JSON.stringify(r));
      return 0;
    }
    const expected = parseNdjson(readFileSync(options.expect, 'utf8')).map((l) => l.value);
    const differences = diffRecords(expected, actual);
    if (differences.length === 0) {
      io.err(`ok: ${actual.length} records match ${options.expect}`);
      return 0;
    }
    for (const line of differences) io.out(line);
    io.err(`${options.expect}: ${differences.length} difference(s)`);
    return 1;
  } finally {
    store.close();
  }
}
