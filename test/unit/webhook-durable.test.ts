import { describe, expect, it } from 'vitest';
import { deliveryHarness, tick, useFakeClock } from './webhook-harness.js';

useFakeClock();

/**
 * Ingest commits before its fsync (and answers after it). A webhook must not carry an event the
 * store could still lose to a power cut: fan-out waits for the store's fsync (host.durable) and
 * takes only the records the log held when it asked for it.
 */
describe('webhook fan-out and the store\'s fsync', () => {
  it('sends an event only once the fsync that covers it is done, and records appended meanwhile only after the next one', async () => {
    const syncs: Array<{ done: () => void }> = [];
    const harness = deliveryHarness({ durable: () => new Promise<void>((resolve) => syncs.push({ done: resolve })) });
    const { service, log, sent } = harness;
    const { id } = service.create({ url: 'https://hooks.example/a', streams: ['orders'] });
    log.append('ord_1', 1);
    log.append('ord_2', 2);
    service.start();
    await tick(50);
    // The fsync was asked for and has not finished: nothing is queued, nothing sent.
    expect(syncs).toHaveLength(1);
    expect(sent).toHaveLength(0);
    expect(service.get(id)!.counts.pending ?? 0).toBe(0);

    // Appended while that fsync runs: not covered by it.
    log.append('ord_3', 3);
    syncs[0]!.done();
    await tick(50);
    expect(sent.map((r) => r.event.data.n)).toEqual([1, 2]);

    // The record appended meanwhile asked for another turn, which waits for its own fsync.
    expect(syncs).toHaveLength(2);
    syncs[1]!.done();
    await tick(50);
    expect(sent.map((r) => r.event.data.n)).toEqual([1, 2, 3]);
    await service.stop();
  });

  it('keeps waiting, and says so, while the store cannot be synced; nothing is lost when it can again', async () => {
    let fail = true;
    const harness = deliveryHarness({ durable: () => (fail ? Promise.reject(new Error('EIO: i/o error, fdatasync')) : Promise.resolve()) });
    const { service, log, sent, lines } = harness;
    service.create({ url: 'https://hooks.example/a', streams: ['orders'] });
    log.append('ord_1', 1);
    service.start();
    await tick(50);
    expect(sent).toHaveLength(0);
    expect(lines.some((l) => l.includes('webhook fan-out waits: the store cannot be synced') && l.includes('EIO'))).toBe(true);
    fail = false;
    for (let i = 0; i < 40 && sent.length === 0; i++) await tick(100);
    expect(sent.map((r) => r.event.data.n)).toEqual([1]);
    await service.stop();
  });
});
