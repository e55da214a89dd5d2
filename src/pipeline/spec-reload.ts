import { CODES } from '../codes.js';
import { formatDiagnostic, type Diagnostic } from '../model/diagnostic.js';
import type { Logger } from '../logger.js';
import { checkSpecSet } from '../spec/compile.js';
import type { RefPolicy } from '../spec/ref-files.js';
import type { CompiledSpecSet } from '../spec/types.js';
import { breakingChanges } from '../contracts/compat.js';

export type ReloadResult =
  | { ok: true; trigger: string; operations: number; streams: string[]; added: string[]; removed: string[]; warnings: Diagnostic[]; breaking: string[]; ms: number }
  | { ok: false; trigger: string; reason: 'invalid' | 'failed' | 'unavailable'; message: string; diagnostics: Diagnostic[] };

export interface ReloadTarget {
  /** The spec files, read again at each reload. */
  files: string[];
  refs: RefPolicy | undefined;
  /** The set serving now. */
  current(): CompiledSpecSet;
  /**
   * Puts a compiled set to work (ingest workers, the ingestor between two batches, new streams);
   * rejects, with the old set still serving, if a part could not take it.
   */
  apply(next: CompiledSpecSet): Promise<void>;
  /** Why reload cannot run in this mode (null: it can). */
  unavailable: string | null;
  logger: Logger;
}

/**
 * Reloads the specs (POST /specs/reload, SIGHUP): the new files are compiled completely first; on any
 * error the old set keeps serving and the diagnostics are returned and logged. Reloads run one at a
 * time; one asked for while another runs waits for it, then reads the files again.
 */
export class SpecReloader {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly target: ReloadTarget) {}

  reload(trigger: string): Promise<ReloadResult> {
    const run = this.tail.then(() => this.run(trigger));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async run(trigger: string): Promise<ReloadResult> {
    const { logger } = this.target;
    if (this.target.unavailable) return { ok: false, trigger, reason: 'unavailable', message: this.target.unavailable, diagnostics: [] };
    const started = performance.now();
    const { set, diagnostics } = await checkSpecSet(this.target.files, this.target.refs).catch((err: unknown) => ({
      set: null,
      diagnostics: [{ code: CODES.unreadable, severity: 'error', message: (err as Error).message } satisfies Diagnostic],
    }));
    if (!set) {
      const errors = diagnostics.filter((d) => d.severity === 'error');
      for (const d of errors) logger.error(`spec reload refused: ${formatDiagnostic(d)}`, { trigger });
      return { ok: false, trigger, reason: 'invalid', message: `the new specs have ${errors.length} error(s); the old ones stay active`, diagnostics };
    }
    const current = this.target.current();
    const before = new Set(current.streams.map((s) => s.name));
    // As `reflex diff` says them: the reload goes ahead (the operator asked for it), consumers are warned.
    const breaking = breakingChanges(current.contracts, set.contracts).map((c) => `${c.subject}: ${c.message}`);
    try {
      await this.target.apply(set);
    } catch (err) {
      const message = `the new specs compiled but could not be put to work (${(err as Error).message}); the old ones stay active`;
      logger.error(message, { trigger });
      return { ok: false, trigger, reason: 'failed', message, diagnostics: [] };
    }
    const streams = set.streams.map((s) => s.name);
    const added = streams.filter((s) => !before.has(s));
    const removed = [...before].filter((s) => !streams.includes(s));
    const ms = Math.round(performance.now() - started);
    for (const w of set.warnings) logger.warn(w.message, { file: w.file, line: w.line, pointer: w.pointer });
    for (const b of breaking) logger.warn(`the reloaded specs break consumers of the old event contracts: ${b}`, { trigger });
    logger.info('specs reloaded', { trigger, operations: set.operations.length, added, removed, ms });
    return { ok: true, trigger, operations: set.operations.length, streams, added, removed, warnings: set.warnings, breaking, ms };
  }
}
