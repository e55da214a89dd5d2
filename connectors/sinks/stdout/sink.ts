import { Default, defineSink, Type, type StreamRecord } from '../../../src/sdk/index.js';

/** Prints records as they are committed: NDJSON for pipes, or one readable line each. */
export const stdoutSink = defineSink({
  type: 'stdout',
  summary: 'prints every record to standard output (NDJSON, or one readable line each)',
  config: Type.Object({
    format: Default(Type.Unsafe<'ndjson' | 'pretty'>({ enum: ['ndjson', 'pretty'], description: 'output format' }), 'ndjson'),
  }, { additionalProperties: false }),
  name: { text: 'stdout', of: () => 'stdout' },
  streams: 'streams to print',
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
});

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
