/**
 * (j) The postgres sink: change records of one resource, already in the store, delivered into
 * PostgreSQL by the sink under reflex's Dispatcher, beside the floor (`pg` alone writing the same
 * rows with the same batch and transaction size). Each side runs in its own process, on its own
 * fresh database, and is checked afterwards: every change row, exactly the live keys, the offset.
 */
import { join } from 'node:path';
import { startPostgres } from '../testbed/postgres.js';
import { runJsonChild } from './json-child.js';
import { FLOOR_METHODS, type FloorMethod, type FloorResult } from './postgres-floor.js';
import type { ReflexSinkResult } from './postgres-reflex.js';
import { postgresSinkSettings } from './postgres-reflex.js';
import { dropDatabase, sinkTables, tableFacts, type TableFacts } from './postgres-tables.js';
import type { PgWorkload } from './postgres-workload.js';
import { PG_RESOURCE } from './postgres-workload.js';
import { mark, num, section, table, verdict, type Verdict } from './report.js';

export interface PgSectionOptions {
  tmp: string;
  out: (line?: string) => void;
  changes: number;
  keys: number;
  seed: number;
  target: number;
  /** Records each way of writing is tried on before the fastest writes them all as the floor. */
  trialRecords: number;
}

type Measured = { records: number; seconds: number; maxRssMiB: number };

export async function postgresSection(options: PgSectionOptions): Promise<Verdict> {
  const { out } = options;
  out(section('(j) postgres sink: change records into PostgreSQL'));
  const server = await startPostgres();
  try {
    out(`    PostgreSQL ${server.version} at ${server.url}${server.reused ? ' (the one npm run testbed started)' : ' (a throwaway cluster: fsync, synchronous_commit and full_page_writes off)'}, on this machine: its CPU counts against every row`);
    const store = join(options.tmp, 'postgres-store.db');
    const input = await runJsonChild<PgWorkload>('postgres-child', ['fill', store, String(options.changes), String(options.keys), String(options.seed)]);
    const { batchSize, settings, name } = postgresSinkSettings(server.url);
    const tables = sinkTables(name, settings);
    out(`    input: ${num(input.changes)} change records of \`${PG_RESOURCE}\` over ${num(input.keys)} keys (${num(input.ops.c)} c, ${num(input.ops.u)} u, ${num(input.ops.d)} d; ${num(input.liveKeys)} keys live at the end),`);
    out(`    ${num(input.averageBytes)} bytes of JSON each (order states of a few hundred bytes, before and after), appended straight into a SqliteStore with the`);
    out(`    event log's append API (${input.seconds.toFixed(1)} s): this section measures the sink, not ingest (that is (b) to (d)); BENCH_PG_CHANGES to change the count (keys: a tenth of it)`);
    out(`    batch: ${num(batchSize)} records per deliver() and per transaction (the sink's default batchSize); each side on its own new database, dropped after its checks`);
    out(`    measured: the postgres sink (connector defaults) under reflex's Dispatcher over that store, in its own process, from the dispatcher's start`);
    out(`    until the sink's offset is the stream's last (its open(), the DDL, not timed)`);
    out(`    floor: pg alone, in its own process, reading the same batches from the same store and writing the same rows into the tables the sink's open()`);
    out(`    created: the changes rows, one upsert or delete per key and batch, the offsets row, one transaction per batch; the fastest of`);
    out(`    ${FLOOR_METHODS.join(', ')} (multi-row INSERT, INSERT ... SELECT FROM unnest($n::type[]), COPY into changes + merge from there) on the first ${num(Math.min(options.trialRecords, input.changes))} records`);

    const onFreshDatabase = async <T extends Measured>(args: (url: string) => string[]): Promise<{ result: T; facts: TableFacts }> => {
      const url = await server.createDatabase();
      try {
        const result = await runJsonChild<T>('postgres-child', args(url));
        return { result, facts: await tableFacts(url, tables) };
      } finally {
        await dropDatabase(server.url, url);
      }
    };
    const trials: Array<[FloorMethod, FloorResult & Measured]> = [];
    for (const method of FLOOR_METHODS) {
      const { result } = await onFreshDatabase<FloorResult & Measured>((url) => ['floor', url, store, method, String(options.trialRecords)]);
      trials.push([method, result]);
    }
    const [best] = trials.reduce((a, b) => (rate(b[1]) > rate(a[1]) ? b : a));
    out(table([['trial', 'records/s', 'records', 'seconds'], ...trials.map(([m, r]) => [`pg alone, ${m}${m === best ? ' (fastest)' : ''}`, num(rate(r)), num(r.records), r.seconds.toFixed(1)])]));

    const floor = await onFreshDatabase<FloorResult & Measured>((url) => ['floor', url, store, best]);
    const reflex = await onFreshDatabase<ReflexSinkResult & Measured>((url) => ['reflex', url, store]);
    const read = await runJsonChild<FloorResult & Measured>('postgres-child', ['read', store, String(batchSize)]);
    out(table([
      ['', 'records/s', 'seconds', 'peak RSS', 'changes rows', `${PG_RESOURCE} rows`, 'offset', 'database'],
      row('reflex postgres sink', reflex.result, reflex.facts),
      row(`pg alone (${best}): the floor`, floor.result, floor.facts),
      row('store reads alone, nothing written', read),
    ]));

    const problems = [...check('reflex', reflex.facts, input), ...check('floor', floor.facts, input)];
    if (reflex.facts.resourceChecksum !== floor.facts.resourceChecksum) problems.push(`the ${PG_RESOURCE} tables differ between reflex and the floor (checksum)`);
    if (reflex.facts.changesChecksum !== floor.facts.changesChecksum) problems.push('the changes tables differ between reflex and the floor (checksum)');
    if (reflex.result.sinkOffset !== null && reflex.result.sinkOffset !== input.lastOffset) problems.push(`the sink's positions() says ${reflex.result.sinkOffset}, not ${input.lastOffset}`);
    out(problems.length === 0
      ? `    checked: both sides hold ${num(input.changes)} changes rows, exactly the ${num(input.liveKeys)} live keys, offset ${num(input.lastOffset)}, and the same rows (checksums)`
      : `    check failed: ${problems.join('; ')}`);
    const ratio = rate(reflex.result) / rate(floor.result);
    const v = verdict('(j) postgres sink / pg alone', ratio >= options.target && problems.length === 0, `${ratio.toFixed(2)} (target >= ${options.target})`);
    out(`    ratio to the floor: ${ratio.toFixed(2)}  target >= ${options.target}  ${mark(v)}`);
    return v;
  } finally {
    await server.stop();
  }
}

const rate = (r: { records: number; seconds: number }) => r.records / r.seconds;
const mib = (bytes: number) => `${num(bytes / 2 ** 20)} MiB`;

function row(name: string, r: Measured, facts?: TableFacts): string[] {
  return [name, num(rate(r)), r.seconds.toFixed(1), mib(r.maxRssMiB * 2 ** 20),
    facts ? num(facts.changes) : '', facts ? num(facts.resourceRows) : '', facts?.offset === null || !facts ? '' : num(facts.offset), facts ? mib(facts.databaseBytes) : ''];
}

function check(side: string, f: TableFacts, input: PgWorkload): string[] {
  const out: string[] = [];
  if (f.changes !== input.changes) out.push(`${side}: ${num(f.changes)} changes rows, not ${num(input.changes)}`);
  if (f.resourceRows !== input.liveKeys) out.push(`${side}: ${num(f.resourceRows)} ${PG_RESOURCE} rows, not the ${num(input.liveKeys)} live keys`);
  if (f.offset !== input.lastOffset) out.push(`${side}: offsets row ${f.offset ?? 'missing'}, not ${num(input.lastOffset)}`);
  return out;
}
