import { open, stat } from 'node:fs/promises';
import { Default, defineSource, FilePath, isAbort, sourceError, Type, type DecodedEntry, type SourceError, type SourceProgress } from '../../../src/sdk/index.js';
import { decodeLine, unstorableLine } from './line-entries.js';
import { readLines, type Batch, type FilePosition } from './line-reader.js';

const DEFAULT_MAX_LINE_BYTES = 10 * 1024 * 1024;

const FileSourceConfig = Type.Object({
  path: FilePath({ description: 'the log file' }),
  follow: Default(Type.Boolean({ description: 'keep reading as the file grows' }), true),
  pollMs: Default(Type.Integer({ minimum: 50, description: 'how often to look for new lines' }), 1000),
  batchLines: Default(Type.Integer({ minimum: 1, description: 'lines per committed batch' }), 500),
  maxLineBytes: Default(Type.Integer({
    minimum: 1024,
    description: 'a longer line is a dead letter (RX304) and is skipped unread; memory use stays about this size whatever the backlog',
  }), DEFAULT_MAX_LINE_BYTES),
}, { additionalProperties: false });

/**
 * Reads a log file line by line (Kong's file-log writes NDJSON) from its checkpoint, committed with
 * each batch, so a restart neither skips nor repeats. The checkpoint is `<byte offset>:<line number>`
 * (older ones hold the offset alone). A file that shrank was rotated or truncated: reading starts
 * again at 0. A line that cannot be read becomes a dead letter naming the file and line.
 */
export const fileSource = defineSource({
  type: 'file',
  summary: 'reads NDJSON gateway logs from a file, following it as it grows',
  config: FileSourceConfig,
  name: { text: 'file:<path>', of: (config) => `file:${config.path}` },
  format: 'each line',
  create(config, ctx) {
    const format = ctx.format!;
    const { batchLines, maxLineBytes } = config;
    let stopped = false;
    let timer: NodeJS.Timeout | null = null;
    let running: Promise<void> | null = null;
    let position = parseCheckpoint(ctx.getCheckpoint());
    // For status(): the file's size at the last look, what this pass reads, the time of the last entry read.
    let size: number | null = null;
    let reading = false;
    let finished = false;
    let bytesRead = 0;
    let positionTime: string | undefined;
    let lastError: SourceError | undefined;
    let failing = false;

    async function readNew(): Promise<void> {
      // A file not there yet is waited for; any other failure (no permission ...) degrades the source.
      const info = await stat(config.path).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      // Degraded until a read succeeds: clearing it before would show the source idle while it retries.
      if (!info) {
        failing = false;
        return;
      }
      size = info.size;
      if (info.size < position.offset) {
        ctx.logger.info('file shrank (rotated or truncated); reading from the start', { path: config.path });
        position = { offset: 0, line: 0 };
      }
      if (info.size === position.offset) {
        failing = false;
        return;
      }
      const fh = await open(config.path, 'r');
      reading = true;
      try {
        for await (const batch of readLines(fh, position, info.size, { maxLineBytes, batchLines, stopped: () => stopped })) {
          positionTime = (await commit(batch)) ?? positionTime;
          bytesRead += batch.next.offset - position.offset;
          position = batch.next;
        }
      } finally {
        reading = false;
        await fh.close();
      }
      failing = false;
    }

    /** Resolves, once the batch is stored, to the time of its last entry (for status()). */
    async function commit(batch: Batch): Promise<string | undefined> {
      const perLine = batch.items.map((item) => decodeLine(format, config.path, item, maxLineBytes));
      const last = perLine.flat().findLast((e) => e.ok);
      const time = last?.ok ? last.exchange.request.time : undefined;
      try {
        await ctx.ingest(perLine.flat(), { checkpoint: checkpointOf(batch.next) });
        return time;
      } catch (err) {
        if (isAbort(err)) throw err;
        if (batch.items.length === 1 && perLine[0]!.length === 0) throw err;
        ctx.logger.warn('a batch could not be stored; storing its lines one by one', { path: config.path, error: (err as Error).message });
      }
      // One line per transaction, so the line the store refuses costs only itself. If even its dead
      // letter cannot be stored, the store itself is failing: stop here and try again on the next poll.
      for (let i = 0; i < batch.items.length; i++) {
        const item = batch.items[i]!;
        const checkpoint = checkpointOf({ offset: item.next, line: item.line });
        try {
          await ctx.ingest(perLine[i]!, { checkpoint });
        } catch (err) {
          if (isAbort(err)) throw err;
          const dead: DecodedEntry = unstorableLine(config.path, item, err);
          await ctx.ingest([dead], { checkpoint });
        }
      }
      return time;
    }

    // A stop while waiting for a sink is not a failure: the unread lines are read on the next start.
    // The same failure again at the next poll is not logged again (status() still shows it).
    function reportFailure(err: Error) {
      if (isAbort(err)) return;
      const error = sourceError(err);
      if (!failing || error.code !== lastError?.code) ctx.logger.error('reading failed', { path: config.path, error: err.message, code: error.code });
      failing = true;
      lastError = error;
    }

    function status(): SourceProgress {
      const remaining = size === null ? undefined : Math.max(0, size - position.offset);
      const behind = reading && remaining !== undefined && remaining > 0;
      const state = failing ? 'degraded' : finished ? 'stopped' : behind ? 'catching-up' : 'idle';
      const lag = behind && positionTime ? Math.max(0, (Date.now() - Date.parse(positionTime)) / 1000) : 0;
      return {
        state,
        position: { path: config.path, offset: position.offset, line: position.line },
        ...(positionTime ? { positionTime } : {}),
        lagSeconds: Math.round(lag),
        read: { bytes: bytesRead },
        ...(remaining !== undefined ? { remaining: { bytes: remaining } } : {}),
        ...(lastError ? { lastError } : {}),
      };
    }

    function schedule() {
      if (stopped || !config.follow) return;
      timer = setTimeout(() => {
        running = readNew()
          .catch(reportFailure)
          .finally(schedule);
      }, config.pollMs);
    }

    return {
      async start() {
        if (position.offset > 0) ctx.logger.info('resuming file', { path: config.path, byteOffset: position.offset, line: position.line });
        running = readNew()
          .catch(reportFailure)
          .finally(schedule);
        // Without follow, the file is a one-shot import: it is read completely before start resolves.
        if (!config.follow) {
          await running;
          finished = true;
        }
      },
      async stop() {
        stopped = true;
        if (timer) clearTimeout(timer);
        await running;
      },
      status,
    };
  },
});

function checkpointOf(p: FilePosition): string {
  return p.line === null ? String(p.offset) : `${p.offset}:${p.line}`;
}

function parseCheckpoint(value: string | null): FilePosition {
  const m = /^(\d+)(?::(\d+))?$/.exec(value ?? '');
  if (!m) return { offset: 0, line: 0 };
  return { offset: Number(m[1]), line: m[2] === undefined ? null : Number(m[2]) };
}
