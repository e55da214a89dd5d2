import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { encodeRecord, originalRecordEncoder, type RecordInput } from '../../connectors/sinks/kafka/record-encoder.js';
import { storedToMessages } from '../../connectors/sinks/kafka/messages.js';

const require = createRequire(import.meta.url);
const bytes = (e: { buf: Buffer; offset: number }) => Buffer.from(e.buf.subarray(0, e.offset));

const event = {
  specversion: '1.0', id: 'e1', source: 'https://api.shop.example', type: 'com.shop.OrderPlaced', subject: 'ord_ü1',
  time: '2026-11-03T08:00:00.000Z', datacontenttype: 'application/json', data: { id: 'ord_ü1', total: 12.5, note: '日本 😀' },
  reflexstream: 'orders', reflexoperation: 'createOrder', reflexrequestid: 'req-1',
};
const change = { op: 'd', key: 'k', before: null, after: null, changed: [], ts_ms: 1, source: {} };

/** Records as the sink makes them, and the odd shapes kafkajs also takes. */
const records: RecordInput[] = [
  ...storedToMessages({ stream: 'orders', offset: 1, key: 'ord_ü1', json: JSON.stringify(event) }, 'binary'),
  ...storedToMessages({ stream: 'orders', offset: 1, key: 'ord_ü1', json: JSON.stringify(event) }, 'structured'),
  ...storedToMessages({ stream: 'orders.changelog', offset: 2, key: 'k', json: JSON.stringify(change) }, 'binary'),
  { key: null, value: null },
  { key: '', value: '' },
  { key: Buffer.from([0, 255, 1]), value: Buffer.alloc(300, 7), headers: { a: Buffer.from('x'), b: ['1', '2'], c: '' } },
  { key: 'k', value: 'v'.repeat(70_000), headers: Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`h${i}`, 'é'.repeat(i)])) },
].flatMap((r) => [0, 1, 63, 64, 8191, 8192, 2 ** 31 - 1].map((offsetDelta) => ({ ...r, offsetDelta, timestampDelta: offsetDelta % 1000 })))
  .concat([{ key: 'k', value: 'v', timestampDelta: -5 }, { key: 'k', value: 'v', timestampDelta: 2 ** 40 }]);

describe('the Kafka sink\'s record encoder', () => {
  it('writes the bytes kafkajs writes, for every record shape the sink sends and odd ones', () => {
    const kafkajs = originalRecordEncoder();
    expect(kafkajs).not.toBe(encodeRecord);
    for (const r of records) expect(bytes(encodeRecord(r)), JSON.stringify(r).slice(0, 200)).toEqual(bytes(kafkajs(r)));
  });

  it('throws where kafkajs throws: a header without a value, a timestamp delta that is not an integer', () => {
    for (const r of [{ key: 'k', value: 'v', headers: { h: null } } as unknown as RecordInput, { key: 'k', value: 'v', timestampDelta: 1.5 }]) {
      expect(() => originalRecordEncoder()(r)).toThrow();
      expect(() => encodeRecord(r)).toThrow();
    }
  });

  it('replaces kafkajs\'s encoder in a thread that imports it before kafkajs: a record batch has the same bytes', async () => {
    const batch = async (installFirst: boolean): Promise<Buffer> => {
      const tsx = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
      const install = new URL('../../connectors/sinks/kafka/install-record-encoder.ts', import.meta.url).href;
      const code = `const { parentPort, workerData } = require('node:worker_threads');
import(workerData.tsx).then(async (api) => {
  api.register();
  const installed = workerData.installFirst ? (await import(workerData.install)).recordEncoderInstalled : false;
  const { createRequire } = require('node:module');
  const req = createRequire(require.resolve('kafkajs'));
  const { RecordBatch } = req('./src/protocol/recordBatch/v0/index.js');
  const Record = req('./src/protocol/recordBatch/record/v0/index.js');
  const records = workerData.records.map((r, i) => Record({ ...r, offsetDelta: i, timestampDelta: i }));
  const encoded = await RecordBatch({ records, firstTimestamp: 1, maxTimestamp: 2, lastOffsetDelta: records.length - 1 });
  parentPort.postMessage({ installed, name: Record.name, bytes: encoded.buffer });
});`;
      const worker = new Worker(code, { eval: true, workerData: { tsx, install, installFirst, records: records.slice(0, 30) } });
      const reply = await new Promise<{ installed: boolean; name: string; bytes: Uint8Array }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      await worker.terminate();
      expect(reply.installed).toBe(installFirst);
      expect(reply.name === 'encodeRecord').toBe(installFirst);
      return Buffer.from(reply.bytes);
    };
    expect(await batch(true)).toEqual(await batch(false));
  });
});
