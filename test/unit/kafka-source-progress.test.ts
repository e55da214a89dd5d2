import { describe, expect, it } from 'vitest';
import { PartitionProgress } from '../../connectors/sources/kafka/progress.js';

const at = Date.parse('2026-11-01T10:00:00Z');
const messages = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ offset: String(from + i), timestamp: String(at + (from + i) * 1000), value: Buffer.from('{"x":1}') }));

describe('kafka source status', () => {
  it('reports per partition the next offset, the high watermark and the lag, from the batches read', () => {
    const p = new PartitionProgress();
    expect(p.status().state).toBe('running'); // nothing fetched yet
    p.connected();
    p.consumed({ topic: 'kong', partition: 1 }, messages(0, 10), '50');
    p.consumed({ topic: 'kong', partition: 0 }, messages(0, 5), '5');
    const behind = p.status(at + 60_000);
    expect(behind).toMatchObject({
      state: 'catching-up',
      position: [
        { topic: 'kong', partition: 0, offset: 5, highWatermark: 5, lag: 0 },
        { topic: 'kong', partition: 1, offset: 10, highWatermark: 50, lag: 40 },
      ],
      positionTime: new Date(at + 9_000).toISOString(),
      lagSeconds: 51, // partition 1's last message is from at + 9 s
      read: { bytes: 15 * 7 },
      remaining: { entries: 40 },
    });

    p.consumed({ topic: 'kong', partition: 1 }, messages(10, 40), '50');
    expect(p.status()).toMatchObject({ state: 'idle', lagSeconds: 0, remaining: { entries: 0 } });
  });

  it('is degraded with the error while it cannot consume, and back once a session runs', () => {
    const p = new PartitionProgress();
    p.failed(Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), { name: 'KafkaJSNumberOfRetriesExceeded' }));
    expect(p.status()).toMatchObject({ state: 'degraded', lastError: { code: 'KafkaJSNumberOfRetriesExceeded', message: expect.stringContaining('ECONNREFUSED') } });
    p.reset();
    p.connected();
    expect(p.status()).toMatchObject({ state: 'running', lastError: { code: 'KafkaJSNumberOfRetriesExceeded' } });
  });
});
