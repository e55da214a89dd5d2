import { resolve } from 'node:path';
import { DiagnosticError, hasErrors, type Diagnostic } from '../model/diagnostic.js';
import { toPointer } from '../model/json-pointer.js';
import { DEFAULT_REDACT } from '../pipeline/redact.js';
import { CODES, type RxCode } from '../codes.js';
import { compileSpec, type CompiledSpec } from './compile-spec.js';
import { loadSpec } from './load.js';
import type { RefPolicy } from './ref-files.js';
import type { Located } from './locate.js';
import { withHint } from './report.js';
import { buildRouter } from './route-tree.js';
import type { CompiledOperation, CompiledSpecSet, RedactPath, StreamInfo } from './types.js';

/**
 * Loads, checks and compiles a set of annotated OpenAPI specs. Every problem in every file is
 * collected; if any is an error, one DiagnosticError carries them all (warnings included).
 */
export async function loadSpecSet(files: string[], refs?: RefPolicy): Promise<CompiledSpecSet> {
  const { set, diagnostics } = await checkSpecSet(files, refs);
  if (!set) throw new DiagnosticError(diagnostics);
  return set;
}

/** Like loadSpecSet, but returns the diagnostics instead of throwing (for `reflex lint`). */
export async function checkSpecSet(files: string[], refs?: RefPolicy): Promise<{ set: CompiledSpecSet | null; diagnostics: Diagnostic[] }> {
  // The same file named twice (a glob plus an explicit path) is one spec, not a clash with itself.
  const distinct = files.filter((f, i) => files.findIndex((g) => resolve(g) === resolve(f)) === i);
  const loaded = await Promise.all(distinct.map((f) => loadSpec(f, refs)));
  const compiled: CompiledSpec[] = [];
  for (const spec of loaded) {
    // A file that could not be read or parsed has nothing left to check.
    if (spec.api) compiled.push(compileSpec(spec));
  }
  const crossFile: Diagnostic[] = [];
  checkOperationIds(compiled, crossFile);
  const streams = mergeStreams(compiled, crossFile);

  const entries = compiled.flatMap((c) => c.operations);
  const router = buildRouter(entries, (kept, shadowed) => {
    // Equal ids (`GET /pets` twice) are reported as RX111 already.
    if (kept.id !== shadowed.id) crossFile.push(shadowWarning(kept, shadowed));
  });

  const diagnostics = sortDiagnostics(dedupe([...loaded.flatMap((s) => s.report.diagnostics), ...crossFile]), loaded.map((s) => s.display));
  if (hasErrors(diagnostics)) return { set: null, diagnostics };

  return {
    set: {
      files: loaded.map((s) => s.file),
      operations: entries.map((e) => e.operation),
      streams,
      router,
      redact: mergeRedact(compiled.flatMap((c) => c.redact)),
      warnings: diagnostics,
      contracts: {
        specs: compiled.flatMap((c) => c.contracts.specs),
        events: compiled.flatMap((c) => c.contracts.events),
        resources: compiled.flatMap((c) => c.contracts.resources),
      },
    },
    diagnostics,
  };
}

function where(at: Located): string {
  return `${at.file}:${at.line}:${at.column}`;
}

function diagnosticAt(code: RxCode, at: Located, message: string, hint?: string): Diagnostic {
  const d: Diagnostic = { code, severity: 'error', message: withHint(message, hint), file: at.file, pointer: at.pointer, line: at.line, column: at.column };
  if (hint) d.hint = hint;
  return d;
}

/** operationIds name operations in events and dead letters: one id, one operation, across all files. */
function checkOperationIds(compiled: readonly CompiledSpec[], out: Diagnostic[]): void {
  const first = new Map<string, Located>();
  for (const c of compiled) {
    for (const { operation } of c.operations) {
      const declared = operation.id !== `${operation.method} ${operation.path}`;
      const pointer = toPointer(['paths', operation.path, operation.method.toLowerCase(), ...(declared ? ['operationId'] : [])]);
      const at = c.spec.sources.locate(pointer);
      const before = first.get(operation.id);
      if (!before) {
        first.set(operation.id, at);
        continue;
      }
      const named = operation.id.includes(' ') ? `operation ${operation.id}` : `operationId '${operation.id}'`;
      out.push(diagnosticAt(CODES.duplicateOperationId, at, `${named} is already used at ${where(before)} (${before.pointer})`, 'Every operation needs its own operationId.'));
    }
  }
}

/** A stream has one owner: two spec files writing to one stream would interleave unrelated histories. */
function mergeStreams(compiled: readonly CompiledSpec[], out: Diagnostic[]): StreamInfo[] {
  const owner = new Map<string, { info: StreamInfo; at: Located }>();
  const streams: StreamInfo[] = [];
  for (const c of compiled) {
    for (const s of c.streams) {
      const before = owner.get(s.info.name);
      if (!before) {
        owner.set(s.info.name, s);
        streams.push(s.info);
        continue;
      }
      out.push(
        diagnosticAt(
          CODES.streamClash,
          s.at,
          `stream '${s.info.name}' is already produced by ${where(before.at)} (${before.at.pointer})`,
          'A stream may be produced by only one spec file: rename the resource or set `stream:` on the events.',
        ),
      );
    }
  }
  return streams;
}

function shadowWarning(kept: CompiledOperation, shadowed: CompiledOperation): Diagnostic {
  const at = shadowed.location as Located;
  const hint = 'Two operations share a method and path template after the server base path; give one of them another path.';
  return {
    ...diagnosticAt(CODES.shadowedRoute, at, `${describeOp(shadowed)} can never match: ${shadowed.method} ${shadowed.path} is routed to ${describeOp(kept)} (${where(kept.location as Located)})`, hint),
    severity: 'warning',
  };
}

function describeOp(op: CompiledOperation): string {
  return op.id === `${op.method} ${op.path}` ? `operation ${op.id}` : `operation '${op.id}'`;
}

function mergeRedact(paths: RedactPath[]): RedactPath[] {
  const seen = new Set<string>();
  const out: RedactPath[] = [];
  // The credential headers stay redacted whatever a spec lists: a spec can add paths, not expose secrets.
  for (const p of [...DEFAULT_REDACT, ...paths]) {
    const key = p.join('\u0000');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

/** A path item shared by several paths is checked once per use; report each finding once. */
function dedupe(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const key = [d.code, d.file, d.line, d.column, d.message].join('\u0000');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** In the order of the files given, then by position, like a compiler. */
function sortDiagnostics(list: Diagnostic[], fileOrder: string[]): Diagnostic[] {
  const rank = (f: string | undefined): number => {
    const i = f === undefined ? -1 : fileOrder.indexOf(f);
    return i < 0 ? fileOrder.length : i;
  };
  return list
    .map((d, i) => ({ d, i }))
    .sort(
      (a, b) =>
        rank(a.d.file) - rank(b.d.file) ||
        (a.d.file ?? '').localeCompare(b.d.file ?? '') ||
        (a.d.line ?? 0) - (b.d.line ?? 0) ||
        (a.d.column ?? 0) - (b.d.column ?? 0) ||
        a.i - b.i,
    )
    .map((x) => x.d);
}
