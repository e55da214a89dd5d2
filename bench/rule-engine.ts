/**
 * (a) The rule engine alone, in this process: kongFormat.decode of each entry's JSON text plus
 * processExchange against the compiled spec, against a loop that only JSON.parses the same texts.
 * The two loops alternate in short rounds so that drift (GC, CPU frequency, neighbours) hits both alike.
 */
import { performance } from 'node:perf_hooks';
import { kongFormat } from '../connectors/sources/kong/format.js';
import { requestKeyOf } from '../src/pipeline/ingest.js';
import { processExchange, type Outcome } from '../src/pipeline/process.js';
import type { CompiledSpecSet } from '../src/spec/types.js';

export interface RuleEngineResult {
  engineRate: number;
  parseRate: number;
  ratio: number;
  /** Lowest and highest per-round ratio: how noisy the machine was. */
  ratioRange: [number, number];
  rounds: number;
  secondsPerLoop: number;
  /** Outcomes of one pass over the input. */
  outcomes: { matched: number; events: number; cdc: number; unmatched: number; failed: number; async: number };
  /** A failure, if any, to show what went wrong. */
  firstFailure: string | null;
}

export interface RuleEngineOptions {
  warmupMs: number;
  roundMs: number;
  rounds: number;
}

export async function measureRuleEngine(texts: string[], specs: CompiledSpecSet, options: RuleEngineOptions): Promise<RuleEngineResult> {
  const outcomes = await onePass(texts, specs);
  const parseLoop = (i: number) => parseOnly(texts[i % texts.length]!);
  const engineLoop = (i: number) => engine(texts[i % texts.length]!, specs);
  await timed(parseLoop, options.warmupMs);
  await timed(engineLoop, options.warmupMs);
  const parseRates: number[] = [];
  const engineRates: number[] = [];
  for (let r = 0; r < options.rounds; r++) {
    parseRates.push(await timed(parseLoop, options.roundMs));
    engineRates.push(await timed(engineLoop, options.roundMs));
  }
  // This machine's speed can drift between rounds (shared hosts); adjacent rounds see the same
  // conditions, so the ratio is the median of per-round ratios, not a ratio of medians.
  const ratios = engineRates.map((e, i) => e / parseRates[i]!);
  return {
    engineRate: median(engineRates),
    parseRate: median(parseRates),
    ratio: median(ratios),
    ratioRange: [Math.min(...ratios), Math.max(...ratios)],
    rounds: options.rounds,
    secondsPerLoop: (options.rounds * options.roundMs) / 1000,
    ...outcomes,
  };
}

let sink = 0;

function parseOnly(text: string): undefined {
  const v = JSON.parse(text) as { started_at?: number };
  sink += v.started_at === undefined ? 0 : 1;
  return undefined;
}

/** Decode + rules for one entry; a promise only when some expression fell back to async jsonata. */
function engine(text: string, specs: CompiledSpecSet): Promise<unknown> | undefined {
  for (const entry of kongFormat.decode(text)) {
    if (!entry.ok) continue;
    const out = processExchange(entry.exchange, specs, requestKeyOf(entry.exchange));
    if (out instanceof Promise) return out;
    sink += out.kind === 'records' ? out.records.length : 0;
  }
  return undefined;
}

/** Runs `step` for at least `ms` (checking the clock every 64 steps); returns steps per second. */
async function timed(step: (i: number) => Promise<unknown> | undefined, ms: number): Promise<number> {
  const start = performance.now();
  const end = start + ms;
  let i = 0;
  let now = start;
  while (now < end) {
    for (let k = 0; k < 64; k++, i++) {
      const p = step(i);
      if (p) await p;
    }
    now = performance.now();
  }
  return (i / (now - start)) * 1000;
}

async function onePass(texts: string[], specs: CompiledSpecSet): Promise<Pick<RuleEngineResult, 'outcomes' | 'firstFailure'>> {
  const outcomes = { matched: 0, events: 0, cdc: 0, unmatched: 0, failed: 0, async: 0 };
  let firstFailure: string | null = null;
  for (const text of texts) {
    for (const entry of kongFormat.decode(text)) {
      if (!entry.ok) {
        outcomes.failed++;
        firstFailure ??= entry.diagnostic.message;
        continue;
      }
      let out: Outcome | Promise<Outcome> = processExchange(entry.exchange, specs, requestKeyOf(entry.exchange));
      if (out instanceof Promise) {
        outcomes.async++;
        out = await out;
      }
      if (out.kind === 'records') {
        outcomes.matched++;
        outcomes.events += out.records.length;
        if (out.cdc) outcomes.cdc++;
      } else if (out.kind === 'unmatched') {
        outcomes.unmatched++;
      } else {
        outcomes.failed++;
        firstFailure ??= `${out.diagnostic.code} ${out.diagnostic.message}`;
      }
    }
  }
  return { outcomes, firstFailure };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Keeps the loops' results observable, so no engine can drop them as dead code. */
export function checksum(): number {
  return sink;
}
