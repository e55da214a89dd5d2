import { describe, expect, it } from 'vitest';
import { deliveryHarness, tick, useFakeClock } from './webhook-harness.js';

useFakeClock();

/** Endpoints at the same place of a stream share one read of it (fan-out.ts): each still gets only what it asks for. */
describe('webhook fan-out to several endpoints at once', () => {
  it('gives each endpoint its own selection of the same records, each body the event as it is', async () => {
    const { service, log, sent } = deliveryHarness();
    const all = service.create({ url: 'https://hooks.example/all', streams: ['orders'] }).id;
    const big = service.create({ url: 'https://hooks.example/big', streams: ['orders'], filter: 'event.data.n > 1' }).id;
    const none = service.create({ url: 'https://hooks.example/none', streams: ['orders'], types: ['com.shop.OrderPlaced'] }).id;
    log.append('ord_1', 1);
    log.append('ord_2', 2);
    log.append('ord_3', 3);
    service.start();
    await tick(50);
    const ids = (id: string) => service.messages(id, 'delivered', 0, 10).map((m) => m.eventId);
    expect(ids(all)).toEqual(['evt-1', 'evt-2', 'evt-3']);
    expect(ids(big)).toEqual(['evt-2', 'evt-3']);
    expect(ids(none)).toEqual([]);
    expect(sent).toHaveLength(5);
    for (const request of sent) expect(request.event).toEqual(log.records[Number(request.event.id.slice(4)) - 1]!.value);
    await service.stop();
  });
});
