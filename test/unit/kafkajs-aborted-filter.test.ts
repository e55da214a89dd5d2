import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// kafkajs 2.2.4 hides records of aborted transactions from read_committed consumers with this
// function, and handed some out (cluster-mode events seen twice after a kill or a broker outage):
// it took the broker's list of aborted transactions to be in order of first offset (brokers list
// them by where they ended), and marked at most one as begun per record. patches/kafkajs+2.2.4.patch
// fixes both; these tests fail without it.
const require = createRequire(import.meta.url);
const filterAbortedMessages = require('kafkajs/src/consumer/filterAbortedMessages') as (args: { messages: Message[]; abortedTransactions: Array<{ firstOffset: string; producerId: string }> }) => Message[];

interface Message { offset: string; key: Buffer | null; batchContext: { producerId: string; inTransaction: boolean }; isControlRecord?: boolean }
const record = (offset: number, producerId: string): Message => ({ offset: String(offset), key: Buffer.from('k'), batchContext: { producerId, inTransaction: true } });
const abortMarker = (offset: number, producerId: string): Message => ({ offset: String(offset), key: Buffer.from([0, 0, 0, 0]), batchContext: { producerId, inTransaction: true }, isControlRecord: true });
const committed = (offset: number): Message => ({ offset: String(offset), key: Buffer.from('k'), batchContext: { producerId: '9', inTransaction: true } });

describe('kafkajs read_committed filtering of aborted transactions (patched)', () => {
  it('hides every record of transactions that began before the fetch, in whatever order their records come', () => {
    // Producers 1 and 2 each began a transaction (offsets 10 and 12) that was later aborted; the fetch starts at 15.
    const aborted = [{ firstOffset: '10', producerId: '1' }, { firstOffset: '12', producerId: '2' }];
    const messages = [record(15, '2'), record(16, '1'), committed(17), abortMarker(18, '1'), abortMarker(19, '2'), committed(20)];
    const kept = filterAbortedMessages({ messages, abortedTransactions: aborted }).filter((m) => !m.isControlRecord);
    expect(kept.map((m) => m.offset)).toEqual(['17', '20']);
  });

  it('hides them when the broker lists the aborted transactions by where they ended, not where they began', () => {
    // Seen in cluster mode: producer 6 began at 136 and aborted at 141, producer 2 began at 139 and aborted at 140.
    const aborted = [{ firstOffset: '139', producerId: '2' }, { firstOffset: '136', producerId: '6' }];
    const messages = [record(136, '6'), record(137, '6'), record(139, '2'), abortMarker(140, '2'), abortMarker(141, '6'), record(142, '2')];
    const kept = filterAbortedMessages({ messages, abortedTransactions: aborted }).filter((m) => !m.isControlRecord);
    expect(kept.map((m) => m.offset)).toEqual(['142']);
  });

  it('keeps a producer\'s records after its aborted transaction ended', () => {
    const aborted = [{ firstOffset: '1', producerId: '1' }];
    const messages = [record(1, '1'), abortMarker(2, '1'), record(3, '1')];
    expect(filterAbortedMessages({ messages, abortedTransactions: aborted }).filter((m) => !m.isControlRecord).map((m) => m.offset)).toEqual(['3']);
  });
});
