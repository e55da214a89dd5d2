import type { Logger } from '../logger.js';
import type { Source } from './connector.js';
import type { SourceProgress, SourceState, SourceStatus } from './progress.js';

export interface MonitorTiming {
  /** How often the sources' status() is looked at, for the state changes the log reports. */
  pollMs: number;
  /** While a source catches up, one line with its position and lag this often. */
  lagLogMs: number;
}

export const DEFAULT_MONITOR_TIMING: MonitorTiming = { pollMs: 1_000, lagLogMs: 30_000 };

interface Tracked {
  type: string;
  name: string;
  source: Source | null;
  /** The host's part: false before start() and after stop(), when the source reports `stopped`. */
  active: boolean;
  entries: number;
  logged: SourceState | null;
  lagLoggedAt: number;
  logger: Logger;
}

/**
 * A source's failure as /readyz reports it: which source and the error's code. /readyz is open to
 * unauthenticated probes, so the message (it may name hosts and buckets) is only in GET /sources.
 */
export interface SourceProblem {
  source: string;
  type: string;
  code: string;
  /** When the last error happened. */
  at: string;
}

/**
 * Every source's status (Source.status(), plus what the host counts), for GET /sources, /readyz and
 * the log: one line when a source starts catching up and every `lagLogMs` while it does, one when
 * it caught up, one when it degrades and one when it recovers.
 */
export class SourceMonitor {
  private readonly tracked = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly timing: MonitorTiming = DEFAULT_MONITOR_TIMING,
  ) {}

  /** Registers a source before it exists, so the entries it ingests while being created count too. */
  track(type: string, name: string): { ingested(count: number): void; attach(source: Source): void } {
    const t: Tracked = { type, name, source: null, active: false, entries: 0, logged: null, lagLoggedAt: 0, logger: this.logger.child({ source: name }) };
    this.tracked.set(name, t);
    return {
      ingested: (count) => void (t.entries += count),
      attach: (source) => void (t.source = source),
    };
  }

  /** Called before a source's start() (a one-shot import reads inside it) and after its stop(). */
  setActive(name: string, active: boolean): void {
    const t = this.tracked.get(name);
    if (t) t.active = active;
  }

  statuses(): SourceStatus[] {
    return [...this.tracked.values()].map((t) => this.statusOf(t));
  }

  /** Degraded sources, with their last error: /readyz is not ready while there is one. */
  problems(): SourceProblem[] {
    return this.statuses()
      .filter((s) => s.state === 'degraded')
      .map((s) => ({ source: s.name, type: s.type, code: s.lastError?.code ?? 'unknown', at: s.lastError?.at ?? '' }));
  }

  start(): void {
    this.timer ??= setInterval(() => this.poll(), this.timing.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Logs what changed since the last look; public so a test can step it. */
  poll(now = Date.now()): void {
    for (const t of this.tracked.values()) {
      const s = this.statusOf(t);
      const was = t.logged;
      t.logged = s.state;
      const fields = { type: s.type, ...progressFields(s) };
      if (s.state === 'catching-up') {
        if (was !== 'catching-up' || now - t.lagLoggedAt >= this.timing.lagLogMs) {
          t.logger.info('source catching up', fields);
          t.lagLoggedAt = now;
        }
      } else if (was === 'catching-up' && (s.state === 'idle' || s.state === 'running')) {
        t.logger.info('source caught up', fields);
      }
      if (s.state === 'degraded' && was !== 'degraded') {
        t.logger.warn('source degraded; /readyz answers 503 until it recovers', { type: s.type, error: s.lastError });
      } else if (was === 'degraded' && s.state !== 'degraded' && s.state !== 'stopped') {
        t.logger.info('source recovered', { type: s.type, state: s.state });
      }
    }
  }

  private statusOf(t: Tracked): SourceStatus {
    let own: SourceProgress = { state: 'running' };
    if (t.source?.status) {
      try {
        own = t.source.status();
      } catch (err) {
        own = { state: 'running', lastError: { code: 'status-failed', message: (err as Error).message, at: new Date().toISOString() } };
      }
    }
    const { read, ...rest } = own;
    return { type: t.type, name: t.name, ...rest, state: t.active ? own.state : 'stopped', read: { entries: t.entries, ...read } };
  }
}

function progressFields(s: SourceStatus): Record<string, unknown> {
  const out: Record<string, unknown> = { position: s.position, read: s.read };
  if (s.positionTime !== undefined) out.positionTime = s.positionTime;
  if (s.lagSeconds !== undefined) out.lagSeconds = s.lagSeconds;
  if (s.remaining !== undefined) out.remaining = s.remaining;
  return out;
}
