import { open, stat } from 'node:fs/promises';
import type { SourceConnector } from '../../../src/sources/connector.js';
import { BackpressureError, type DecodedEntry } from '../../../src/sources/types.js';
import { decodeLine, unstorableLine } from './line-entries.js';
import { readLines, type Batch, type FilePosition } from './line-reader.js';

interface FileSourceConfig {
  path: string;
  format: string;
  /** Keep reading as the file grows (like `tail -f`). */
  follow?: boolean;
  pollMs?: number;
  /** Lines per committed batch. */
  batchLines?: number;
  /** A longer line is a dead letter; also the size of the read buffer, which bounds memory. */
  maxLineBytes?: number;
  name?: string;
}

const DEFAULT_MAX_LINE_BYTES = 10 * 1024 * 1024;

/**
 * Reads a log file line by line (Kong's file-log writes NDJSON) from its checkpoint, committed with
 * each batch, so a restart neither skips nor repeats. The checkpoint is `<byte offset>:<line number>`
 * (older ones hold the offset alone). A file that shrank was rotated or truncated: reading starts
 * again at 0. A line that cannot be read becomes a dead letter naming the file and line.
 */
export const fileSource: SourceConnector<FileSourceConfig> = {
  type: 'file',
  summary: 'reads NDJSON gateway logs from a file, following it as it grows',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['path', 'format'],
    properties: {
      name: { type: 'string', description: 'instance name (default: file:<path>)' },
      path: { type: 'string', description: 'the log file' },
      format: { type: 'string', description: 'log format of each line (kong, exchange, ...)' },
      follow: { type: 'boolean', default: true, description: 'keep reading as the file grows' },
      pollMs: { type: 'integer', minimum: 50, default: 1000, description: 'how often to look for new lines' },
      batchLines: { type: 'integer', minimum: 1, default: 500, description: 'lines per committed batch' },
      maxLineBytes: {
        type: 'integer',
        minimum: 1024,
        default: DEFAULT_MAX_LINE_BYTES,
        description: 'a longer line is a dead letter (RX304) and is skipped unread; memory use stays about this size whatever the backlog',
      },
    },
  },
  instanceName: (config) => config.name ?? `file:${config.path}`,
  create(config, ctx) {
    const found = ctx.formats.get(config.format);
    if (!found) throw new Error(`unknown format '${config.format}' (known: ${[...ctx.formats.keys()].join(', ')})`);
    const format = found;
    const batchLines = config.batchLines ?? 500;
    const maxLineBytes = config.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    let stopped = false;
    let timer: NodeJS.Timeout | null = null;
    let running: Promise<void> | null = null;
    let position = parseCheckpoint(ctx.getCheckpoint());

    async function readNew(): Promise<void> {
      const info = await stat(config.path).catch(() => null);
      if (!info) return;
      if (info.size < position.offset) {
        ctx.logger.info('file shrank (rotated or truncated); reading from the start', { path: config.path });
        position = { offset: 0, line: 0 };
      }
      if (info.size === position.offset) return;
      const fh = await open(config.path, 'r');
      try {
        for await (const batch of readLines(fh, position, info.size, { maxLineBytes, batchLines, stopped: () => stopped })) {
          await commit(batch);
          position = batch.next;
        }
      } finally {
        await fh.close();
      }
    }

    async function commit(batch: Batch): Promise<void> {
      const perLine = batch.items.map((item) => decodeLine(format, config.path, item, maxLineBytes));
      try {
        await ctx.ingest(perLine.flat(), checkpointOf(batch.next));
        return;
      } catch (err) {
        if (err instanceof BackpressureError) throw err;
        if (batch.items.length === 1 && perLine[0]!.length === 0) throw err;
        ctx.logger.warn('a batch could not be stored; storing its lines one by one', { path: config.path, error: (err as Error).message });
      }
      // One line per transaction, so the line the store refuses costs only itself. If even its dead
      // letter cannot be stored, the store itself is failing: stop here and try again on the next poll.
      for (let i = 0; i < batch.items.length; i++) {
        const item = batch.items[i]!;
        const checkpoint = checkpointOf({ offset: item.next, line: item.line });
        try {
          await ctx.ingest(perLine[i]!, checkpoint);
        } catch (err) {
          if (err instanceof BackpressureError) throw err;
          const dead: DecodedEntry = unstorableLine(config.path, item, err);
          await ctx.ingest([dead], checkpoint);
        }
      }
    }

    // A full sink backlog is not a failure: the same lines are read again on the next poll.
    function reportFailure(err: Error) {
      if (err instanceof BackpressureError) ctx.logger.info('waiting for a sink to catch up', { path: config.path, reason: err.message });
      else ctx.logger.error('reading failed', { path: config.path, error: err.message });
    }

    function schedule() {
      if (stopped || config.follow === false) return;
      timer = setTimeout(() => {
        running = readNew()
          .catch(reportFailure)
          .finally(schedule);
      }, config.pollMs ?? 1000);
    }

    return {
      async start() {
        if (position.offset > 0) ctx.logger.info('resuming file', { path: config.path, byteOffset: position.offset, line: position.line });
        running = readNew()
          .catch(reportFailure)
          .finally(schedule);
        // Without follow, the file is a one-shot import: it is read completely before start resolves.
        if (config.follow === false) await running;
      },
      async stop() {
        stopped = true;
        if (timer) clearTimeout(timer);
        await running;
      },
    };
  },
};

function checkpointOf(p: FilePosition): string {
  return p.line === null ? String(p.offset) : `${p.offset}:${p.line}`;
}

function parseCheckpoint(value: string | null): FilePosition {
  const m = /^(\d+)(?::(\d+))?$/.exec(value ?? '');
  if (!m) return { offset: 0, line: 0 };
  return { offset: Number(m[1]), line: m[2] === undefined ? null : Number(m[2]) };
}
