import { afterAll, beforeAll, vi } from 'vitest';
import { stdoutSink } from '../../../connectors/sinks/stdout/sink.js';
import { sinkConformance } from '../../support/conformance/sink.js';

// Standard output as the remote end: lines of the suite's streams are kept here instead of printed;
// an outage is a write that fails (a closed pipe).
const lines: string[] = [];
let broken = false;
const write = process.stdout.write.bind(process.stdout);

beforeAll(() => {
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk);
    if (!text.includes('"conf')) return write(chunk, ...(rest as []));
    const done = rest.find((r) => typeof r === 'function') as ((err?: Error) => void) | undefined;
    if (broken) {
      done?.(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      return false;
    }
    lines.push(...text.split('\n').filter(Boolean));
    done?.();
    return true;
  }) as typeof process.stdout.write);
});
afterAll(() => vi.restoreAllMocks());

sinkConformance('stdout', {
  connector: stdoutSink,
  config: () => ({ format: 'ndjson' }),
  async received(_settings, streams) {
    return lines
      .map((l) => JSON.parse(l) as { stream: string; key: string | null; value: { id: string } })
      .filter((r) => streams.includes(r.stream))
      .map((r) => ({ id: r.value.id, key: r.key }));
  },
  outage: {
    async begin() {
      broken = true;
    },
    async end() {
      broken = false;
    },
  },
  deliveryMs: 5_000,
  badConfigs: [
    { what: 'an unknown output format', block: { format: 'yaml' }, pointer: '/format', message: /format must be one of "ndjson", "pretty"/ },
    { what: 'an empty maxBacklog', block: { maxBacklog: 0 }, pointer: '/maxBacklog', message: /maxBacklog must be >= 1/ },
  ],
});
