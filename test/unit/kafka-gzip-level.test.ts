import kafkajs from 'kafkajs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { useSynchronousGzip } from '../../connectors/sinks/kafka/gzip-codec.js';
import { kafkaSink } from '../../connectors/sinks/kafka/sink.js';
import { silentLogger } from '../../src/logger.js';

const { CompressionCodecs, CompressionTypes } = kafkajs;

const events = Buffer.from(Array.from({ length: 300 }, (_, i) => JSON.stringify({
  specversion: '1.0', id: `evt-${i}`, type: 'com.shop.OrderUpdated', data: { id: `ord_${i % 40}`, status: i % 3 ? 'paid' : 'new', total: i * 1.5 },
})).join('\n'));

async function compress(level: number): Promise<Buffer> {
  useSynchronousGzip(level);
  return CompressionCodecs[CompressionTypes.GZIP]!().compress({ buffer: events } as never) as Promise<Buffer>;
}

describe('kafka sink gzip level (compressionLevel)', () => {
  it('compresses at the level asked for, in a format any gzip reader takes', async () => {
    const fastest = await compress(1);
    const smallest = await compress(9);
    expect(gunzipSync(fastest).equals(events)).toBe(true);
    expect(gunzipSync(smallest).equals(events)).toBe(true);
    expect(fastest.length).toBeGreaterThan(smallest.length);
    // Back to the default: what kafkajs itself would write.
    const standard = await compress(6);
    expect(gunzipSync(standard).equals(events)).toBe(true);
  });

  it('refuses a level on a sink that does not use gzip, naming the field', () => {
    const settings = { brokers: ['127.0.0.1:9092'], topic: '{stream}', mode: 'binary', partitions: 1, replicationFactor: 1, compression: 'snappy', compressionLevel: 1 };
    expect(() => kafkaSink.create(settings as never, { name: 'kafka', logger: silentLogger, streams: [] } as never))
      .toThrow(expect.objectContaining({ message: expect.stringMatching(/compressionLevel is a gzip level; this sink's compression is snappy/), field: '/compressionLevel' }));
  });
});
