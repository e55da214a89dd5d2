import { open, stat } from 'node:fs/promises';
import type { SourceConnector } from '../../../src/sources/connector.js';
import { BackpressureError, PayloadError } from '../../../src/sources/types.js';

interface FileSourceConfig {
  path: string;
  format: string;
  /** Keep reading as the file grows (like `tail -f`). */
  follow?: boolean;
  pollMs?: number;
  /** Lines per committed batch. */
  batchLines?: number;
  name?: string;
}

/**
 * Reads a log file line by line (Kong's file-log writes NDJSON) from its checkpoint, a byte offset
 * committed with each batch, so a restart neither skips nor repeats. A file that shrank was rotated
 * or truncated: reading starts again at 0. A malformed line is logged and skipped with its line number.
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
    },
  },
  instanceName: (config) => config.name ?? `file:${config.path}`,
  create(config, ctx) {
    const found = ctx.formats.get(config.format);
    if (!found) throw new Error(`unknown format '${config.format}' (known: ${[...ctx.formats.keys()].join(', ')})`);
    const format = found;
    const batchLines = config.batchLines ?? 500;
    let stopped = false;
    let timer: NodeJS.Timeout | null = null;
    let running: Promise<void> | null = null;
    let offset = Number(ctx.getCheckpoint() ?? 0);
    let lineNo = 0;

    async function readNew(): Promise<void> {
      const info = await stat(config.path).catch(() => null);
      if (!info) return;
      if (info.size < offset) {
        ctx.logger.info('file shrank (rotated or truncated); reading from the start', { path: config.path });
        offset = 0;
      }
      if (info.size === offset) return;
      const fh = await open(config.path, 'r');
      try {
        const buf = Buffer.alloc(info.size - offset);
        await fh.read(buf, 0, buf.length, offset);
        const lastNewline = buf.lastIndexOf(10);
        if (lastNewline === -1) return; // an incomplete line: wait for the rest
        const lines = buf.subarray(0, lastNewline + 1).toString('utf8').split('\n');
        lines.pop();
        let consumed = offset;
        for (let i = 0; i < lines.length && !stopped; i += batchLines) {
          const chunk = lines.slice(i, i + batchLines);
          const entries = [];
          for (const line of chunk) {
            lineNo++;
            consumed += Buffer.byteLength(line) + 1;
            if (line.trim() === '') continue;
            try {
              entries.push(...format.decode(line));
            } catch (err) {
              if (!(err instanceof PayloadError)) throw err;
              ctx.logger.warn('skipping malformed line', { path: config.path, line: lineNo, error: err.message });
            }
          }
          await ctx.ingest(entries, String(consumed));
          offset = consumed;
        }
      } finally {
        await fh.close();
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
        if (offset > 0) ctx.logger.info('resuming file', { path: config.path, byteOffset: offset });
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
