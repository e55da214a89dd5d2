import { describe, expect, it } from 'vitest';
import { deliveryHarness, tick, useFakeClock } from './webhook-harness.js';

useFakeClock();

describe('webhook outcomes recorded in batches', () => {
  it('never hold back the next event of a key: an endpoint with nothing else to send has them recorded at once', async () => {
    const { service, log, sent } = deliveryHarness();
    const { id } = service.create({ url: 'https://hooks.example/a', streams: ['orders'] });
    service.start();
    for (let n = 1; n <= 5; n++) log.append('ord_1', n);
    // Far less than a settle batch's wait per event: each answer is recorded at once, then the next
    // event of the key leaves (a fake millisecond or two each, for the turns of the loop between).
    for (let ms = 0; ms < 12 && sent.length < 5; ms++) await tick(1);
    expect(sent.map((r) => r.event.data.n)).toEqual([1, 2, 3, 4, 5]);
    await tick(1);
    expect(service.get(id)!.counts).toMatchObject({ delivered: 5, pending: 0 });
    await service.stop();
  });
});
