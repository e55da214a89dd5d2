/**
 * (g) The file source catching up a backlog of gigabytes: a generated Kong file-log file (with one
 * malformed line and one line over `maxLineBytes` in the middle) read by `reflex serve`'s wiring
 * (`startReflex` with a `file` source, `follow: false`) in its own process; peak RSS and lines/s.
 * Baseline: the same file read with node:readline and JSON.parse per line, also in its own process.
 */
import { createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { generateKongLogs } from './generate.js';
import { runJsonChild } from './json-child.js';
import { num, section, table } from './report.js';

export interface FileBacklogOptions {
  tmp: string;
  out: (line?: string) => void;
  megabytes: number;
}

interface ChildResult { lines: number; seconds: number; maxRssMiB: number; records?: number; deadLetters?: number }

const BLOCK = 10_000;

export async function fileBacklogSection(options: FileBacklogOptions): Promise<void> {
  const { out } = options;
  out(section('(g) File source: a backlog of gigabytes in bounded memory'));
  const file = join(options.tmp, 'kong-file-log.ndjson');
  const lines = await writeBacklog(file, options.megabytes * 2 ** 20);
  const bytes = statSync(file).size;
  out(`    ${num(bytes / 2 ** 20)} MiB of Kong file-log NDJSON, ${num(lines)} lines (the shop mix, distinct request ids), one malformed line`);
  out(`    and one 16 MiB line (over the default maxLineBytes of 10 MiB) in the middle; store sync normal; BENCH_FILE_MB to change the size`);
  out(`    measured: reflex (startReflex with a file source, follow: false) reading it to the end in its own process, every line`);
  out(`    through decode, rules, CDC and the store; baseline: node:readline + JSON.parse per line, in its own process`);
  const reflex = await runChild('reflex', file, options.tmp);
  const baseline = await runChild('baseline', file, options.tmp);
  out(table([
    ['', 'lines/s', 'MiB/s', 'seconds', 'peak RSS', 'records', 'dead letters'],
    ['reflex file source', num(reflex.lines / reflex.seconds), num(bytes / 2 ** 20 / reflex.seconds, 1), reflex.seconds.toFixed(1), `${num(reflex.maxRssMiB)} MiB`, num(reflex.records ?? 0), num(reflex.deadLetters ?? 0)],
    ['readline + JSON.parse', num(baseline.lines / baseline.seconds), num(bytes / 2 ** 20 / baseline.seconds, 1), baseline.seconds.toFixed(1), `${num(baseline.maxRssMiB)} MiB`, '', ''],
  ]));
}

async function writeBacklog(file: string, targetBytes: number): Promise<number> {
  const stream = createWriteStream(file);
  let written = 0;
  let lines = 0;
  let oddOnesWritten = false;
  const write = async (text: string) => {
    if (!stream.write(text)) await once(stream, 'drain');
    written += Buffer.byteLength(text);
    lines++;
  };
  for (let block = 0; written < targetBytes; block++) {
    const { texts } = generateKongLogs({ count: BLOCK, seed: 1000 + block, startTime: Date.parse('2026-11-02T09:00:00.000Z') + block * 3_600_000 });
    for (const t of texts) await write(t + '\n');
    if (!oddOnesWritten && written >= targetBytes / 2) {
      await write('{"this line is": not JSON\n');
      await write(JSON.stringify({ pad: 'x'.repeat(16 * 2 ** 20) }) + '\n');
      oddOnesWritten = true;
    }
  }
  stream.end();
  await once(stream, 'finish');
  return lines;
}

function runChild(mode: 'reflex' | 'baseline', file: string, tmp: string): Promise<ChildResult> {
  return runJsonChild<ChildResult>('file-backlog-child', [mode, file, tmp]);
}
