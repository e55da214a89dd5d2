import { describe, expect, it } from 'vitest';
import { deliveryHarness, tick, useFakeClock } from './webhook-harness.js';

useFakeClock();

/** A backlog is fanned out in turns between which deliveries go on (scheduler.ts, FAN_OUT_BUSY_SLICE). */
describe('webhook delivery of a backlog', () => {
  it('sends the first events before the whole backlog is queued, and each key still in the order of the log', async () => {
    const events = 3_000;
    const keys = 7;
    let queuedAtFirstRequest = -1;
    const harness = deliveryHarness({
      answer: (_request, n) => {
        if (n === 0) {
          const counts = harness.service.get(id)!.counts;
          queuedAtFirstRequest = (counts.pending ?? 0) + (counts.delivered ?? 0) + (counts.dead ?? 0);
        }
        return { kind: 'delivered', status: 204, latencyMs: 1, responseBody: '' };
      },
    });
    const { service, log, sent } = harness;
    const { id } = service.create({ url: 'https://hooks.example/a', streams: ['orders'] });
    for (let n = 0; n < events; n++) log.append(`ord_${n % keys}`, n);
    service.start();
    for (let i = 0; i < 200 && service.get(id)!.counts.delivered !== events; i++) await tick(50);
    expect(service.get(id)!.counts).toMatchObject({ delivered: events });
    // The first turn queued a small part of the backlog, and it went out before the rest was read.
    expect(queuedAtFirstRequest).toBeGreaterThan(0);
    expect(queuedAtFirstRequest).toBeLessThan(events);
    expect(sent).toHaveLength(events);
    for (let k = 0; k < keys; k++) {
      const order = sent.filter((r) => r.event.subject === `ord_${k}`).map((r) => r.event.data.n);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(order).toHaveLength(Math.ceil((events - k) / keys));
    }
    await service.stop();
  });
});
