import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deliveryHarness, OK, status, type SentRequest } from './webhook-harness.js';

/** Delivery driven by fake timers: schedules measured in fake minutes and days, run in milliseconds. */
const T0 = Date.parse('2026-11-03T08:00:00Z');
const tick = (ms: number) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => {
  vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const failingTimes = (n: number) => (_r: SentRequest, i: number) => (i < n ? status(500) : OK);

describe('webhook delivery (fake clock)', () => {
  it('retries on the schedule, each delay spread by the injected random source within ±jitter', async () => {
    const random = vi.fn(() => 0);
    const { service, log, sent } = deliveryHarness({ settings: { retryScheduleMs: [0, 10_000, 60_000], jitter: 0.2 }, answer: failingTimes(2), random });
    const { id } = service.create({ url: 'https://hooks.example/a', streams: ['orders'] });
    service.start();
    log.append('ord_1', 1);
    await tick(10);
    expect(sent).toHaveLength(1);
    // random 0 is the low end of the spread: 10 s - 20%.
    await tick(8_000 - 20);
    expect(sent).toHaveLength(1);
    // The second failure meets the high end: 60 s + 20%.
    random.mockReturnValue(0.999_999);
    await tick(20);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.at - sent[0]!.at).toBeGreaterThanOrEqual(8_000);
    await tick(72_000 - 20);
    expect(sent).toHaveLength(2);
    await tick(20);
    expect(sent).toHaveLength(3);
    expect(sent[2]!.at - sent[1]!.at).toBeGreaterThanOrEqual(72_000);
    await tick(10);
    expect(service.get(id)!.counts).toMatchObject({ delivered: 1, pending: 0, dead: 0 });
    const attempts = service.deliveries(id, { limit: 10 });
    expect(attempts.map((a) => a.statusCode)).toEqual([204, 500, 500]);
    expect(Date.parse(attempts[1]!.nextRetryAt!) - Date.parse(attempts[1]!.time)).toBe(72_000);
    await service.stop();
  });

  it('waits for Retry-After on 503, capped at the longest delay of the schedule', async () => {
    const answers = [status(503, '120'), status(429, String(86_400)), OK];
    const { service, log, sent } = deliveryHarness({ settings: { retryScheduleMs: [0, 1_000, 300_000, 1_000], jitter: 0 }, answer: (_r, i) => answers[i]! });
    service.create({ url: 'https://hooks.example/a', streams: ['orders'] });
    service.start();
    log.append('ord_1', 1);
    await tick(10);
    await tick(120_000 - 20);
    expect(sent).toHaveLength(1);
    await tick(20);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.at - sent[0]!.at).toBeGreaterThanOrEqual(120_000);
    // A day asked for; the schedule's longest delay (5 min) is the most it waits.
    await tick(300_000);
    expect(sent).toHaveLength(3);
    expect(sent[2]!.at - sent[1]!.at).toBeGreaterThanOrEqual(300_000);
    expect(sent[2]!.at - sent[1]!.at).toBeLessThan(300_020);
    await service.stop();
  });

  it('makes a dead letter after the last attempt, sends nothing more, and logs it', async () => {
    const { service, log, sent, lines } = deliveryHarness({ settings: { retryScheduleMs: [0, 1_000, 2_000], jitter: 0 }, answer: () => ({ kind: 'network-error', error: 'ECONNREFUSED: connect ECONNREFUSED', latencyMs: 1 }) });
    const { id } = service.create({ url: 'https://hooks.example/a', streams: ['orders'] });
    service.start();
    log.append('ord_1', 1);
    await tick(3_100);
    expect(sent).toHaveLength(3);
    await tick(3_600_000);
    expect(sent).toHaveLength(3);
    const [dead] = service.messages(id, 'dead', 0, 10);
    expect(dead).toMatchObject({ status: 'dead', attempts: 3, lastStatusCode: null, lastError: 'ECONNREFUSED: connect ECONNREFUSED', nextAttemptAt: null });
    expect(lines.some((l) => l.includes('failed for good') && l.includes(dead!.eventId))).toBe(true);
    // A retry by hand sends it again at once.
    service.retry(id, dead!.eventId);
    await tick(10);
    expect(sent).toHaveLength(4);
    await service.stop();
  });

  it('a retry by hand of an event waiting for its next attempt sends it now, its attempts still counted', async () => {
    const { service, log, sent } = deliveryHarness({ settings: { retryScheduleMs: [0, 3_600_000, 3_600_000], jitter: 0 }, answer: failingTimes(1) });
    const { id } = service.create({ url: 'https://hooks.example/a', streams: ['orders'] });
    service.start();
    log.append('ord_1', 1);
    await tick(10);
    expect(sent).toHaveLength(1);
    const [waiting] = service.messages(id, 'pending', 0, 10);
    expect(waiting).toMatchObject({ attempts: 1 });
    service.retry(id, waiting!.eventId);
    await tick(10);
    expect(sent).toHaveLength(2); // not an hour later
    expect(service.get(id)!.counts).toMatchObject({ delivered: 1, pending: 0 });
    expect(service.deliveries(id, { limit: 10 }).map((a) => a.statusCode)).toEqual([204, 500]);
    await service.stop();
  });

  it('holds the events of a key behind an earlier one that is retrying; other keys go on', async () => {
    const { service, log, sent } = deliveryHarness({
      settings: { retryScheduleMs: [0, 5_000, 5_000], jitter: 0 },
      // The first event of ord_a fails twice.
      answer: (r) => (r.event.subject === 'ord_a' && r.event.data.n === 1 && sent.filter((s) => s.event.data.n === 1).length <= 2 ? status(500) : OK),
    });
    service.create({ url: 'https://hooks.example/a', streams: ['orders'] });
    service.start();
    log.append('ord_a', 1);
    log.append('ord_a', 2);
    log.append('ord_b', 3);
    log.append('ord_a', 4);
    await tick(10);
    expect(sent.map((r) => r.event.data.n)).toEqual([1, 3]);
    await tick(5_000);
    expect(sent.map((r) => r.event.data.n)).toEqual([1, 3, 1]);
    await tick(5_000);
    await tick(10);
    expect(sent.map((r) => r.event.data.n)).toEqual([1, 3, 1, 1, 2, 4]);
    await service.stop();
  });

  it('disables an endpoint that answers 410 Gone, and one failing past disableAfter; enabling delivers what waited', async () => {
    let up = false;
    const { service, log, sent, lines } = deliveryHarness({
      settings: { retryScheduleMs: [0, ...Array(8).fill(60_000)], jitter: 0, disableAfterMs: 150_000 },
      answer: (r) => (r.headers['webhook-id'] && up ? OK : status(502)),
    });
    const gone = deliveryHarness({ answer: () => status(410) });
    const g = gone.service.create({ url: 'https://hooks.example/gone', streams: ['orders'] });
    const f = service.create({ url: 'https://hooks.example/f', streams: ['orders'] });
    gone.service.start();
    service.start();
    gone.log.append('ord_1', 1);
    log.append('ord_1', 1);
    await tick(10);
    expect(gone.service.get(g.id)).toMatchObject({ enabled: false, disabledReason: 'the receiver answered 410 Gone', counts: { pending: 1 } });

    const failingSince = service.get(f.id)!.failingSince!;
    expect(Date.parse(failingSince) - T0).toBeLessThan(10);
    await tick(120_000);
    expect(service.get(f.id)!.enabled).toBe(true);
    await tick(60_000);
    expect(service.get(f.id)).toMatchObject({ enabled: false, disabledReason: `failing since ${failingSince}` });
    expect(lines.some((l) => /webhook endpoint disabled .*webhook=ep_/.test(l))).toBe(true);
    const before = sent.length;
    log.append('ord_1', 2);
    await tick(600_000);
    expect(sent).toHaveLength(before);

    up = true;
    expect(service.update(f.id, { enabled: true })).toMatchObject({ enabled: true, failingSince: null });
    await tick(10);
    expect(sent.slice(before).map((r) => r.event.data.n)).toEqual([1, 2]);
    await tick(10);
    expect(service.get(f.id)!.counts).toMatchObject({ delivered: 2, pending: 0 });
    await Promise.all([service.stop(), gone.service.stop()]);
  });

  it('signs with the old and the new secret during the rotation grace window, then with the new one only', async () => {
    const { service, log, sent } = deliveryHarness({ settings: { rotationGraceMs: 3_600_000 } });
    const created = service.create({ url: 'https://hooks.example/a', streams: ['orders'] });
    service.start();
    const rotated = service.rotateSecret(created.id);
    expect(rotated.previousValidUntil).toBe(new Date(T0 + 3_600_000).toISOString());
    const verify = (secret: string, r: SentRequest) => () => new Webhook(secret).verify(r.body, r.headers);
    log.append('ord_1', 1);
    await tick(10);
    const during = sent[0]!;
    expect(during.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verify(created.secret, during)).not.toThrow();
    expect(verify(rotated.secret, during)).not.toThrow();
    await tick(3_600_000);
    log.append('ord_1', 2);
    await tick(10);
    const after = sent[1]!;
    expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(verify(rotated.secret, after)).not.toThrow();
    expect(verify(created.secret, after)).toThrow();
    await service.stop();
  });

  it('records outcomes together, a few milliseconds after the answers', async () => {
    const { service, log } = deliveryHarness();
    const { id } = service.create({ url: 'https://hooks.example/a', streams: ['orders'] });
    service.start();
    for (let n = 1; n <= 20; n++) log.append(`ord_${n}`, n);
    await tick(1);
    expect(service.get(id)!.counts.delivered).toBe(0);
    await tick(10);
    expect(service.get(id)!.counts.delivered).toBe(20);
    await service.stop();
  });
});
