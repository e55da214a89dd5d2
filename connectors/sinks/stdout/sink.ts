import type { SinkConnector } from '../../../src/sinks/connector.js';
import type { StreamRecord } from '../../../src/model/records.js';

interface StdoutSinkConfig {
  streams?: string[];
  format?: 'ndjson' | 'pretty';
  name?: string;
}

/** Prints records as they are committed: NDJSON for pipes, or one readable line each. */
export const stdoutSink: SinkConnector<StdoutSinkConfig> = {
  type: 'stdout',
  summary: 'prints every record to standard output (NDJSON, or one readable line each)',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      name: { type: 'string', description: 'instance name (default: stdout)' },
      streams: { type: 'array', items: { type: 'string' }, default: ['*'], description: 'streams to print; "*" for all' },
      format: { enum: ['ndjson', 'pretty'], default: 'ndjson', description: 'output format' },
    },
  },
  instanceName: (config) => config.name ?? 'stdout',
  streams: (config) => config.streams ?? ['*'],
  create(config) {
    const pretty = config.format === 'pretty';
    return {
      async deliver(records: StreamRecord[]) {
        let text = '';
        for (const r of records) text += (pretty ? prettyLine(r) : JSON.stringify(r)) + '\n';
        await new Promise<void>((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
      },
      async close() {},
    };
  },
};

function prettyLine(r: StreamRecord): string {
  const v = r.value as Record<string, unknown>;
  if (typeof v.type === 'string') {
    return `${r.stream}#${r.offset} ${v.type}${v.subject ? ` [${v.subject}]` : ''} ${JSON.stringify(v.data)}`;
  }
  if (typeof v.op === 'string') {
    return `${r.stream}#${r.offset} op=${v.op} [${r.key}] ${JSON.stringify(v.after ?? v.before)}`;
  }
  return `${r.stream}#${r.offset} ${JSON.stringify(v)}`;
}
