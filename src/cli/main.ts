import { parseArgs } from 'node:util';
import type { Registry } from '../registry.js';
import { DiagnosticError, formatDiagnostic } from '../model/diagnostic.js';
import { runServe } from './serve.js';
import { runTest } from './test-command.js';
import { runLint } from './lint.js';
import { runSchema } from './schema.js';
import { runAsyncApi } from './asyncapi.js';
import { runDiff } from './diff.js';
import { resolve } from 'node:path';
import { DEFAULT_REF_POLICY, type RefPolicy } from '../spec/ref-files.js';

export const USAGE = `reflex: API traffic in, domain events out

Usage:
  reflex serve --spec <file>... [--config reflex.yaml] [--host 127.0.0.1] [--port 8088] [--data .reflex]
  reflex lint  <spec>... [--allow-refs <dir|url>...]
  reflex schema <spec>... [--allow-refs <dir|url>...]
  reflex asyncapi <spec>... [--config reflex.yaml] [--allow-refs <dir|url>...]
  reflex diff  <old spec> <new spec> [--allow-refs <dir|url>...]
  reflex test  <spec>... --logs <file> [--format kong|exchange|envoy-json|aws-apigw|ecs] [--expect <file>] [--explain <request id>] [--allow-refs <dir|url>...]

Commands:
  serve    load the specs, open the embedded store and listen for logs and consumers
  lint     check every x-reflex annotation; exit 1 with file:line:column, pointer and reason per fault
  schema   print the JSON Schemas (draft 2020-12) inferred from the rules: each event type's data, each CDC resource's state and change records
  asyncapi print the AsyncAPI 3.0 document of the streams, with the channels and bindings of the config's sinks
  diff     list the changes to the event contracts that break a consumer of the old spec (a field removed or now
           optional, a type changed, an event type removed); exit 1 when there is one
  test     dry run: print the records the logs would produce (NDJSON); with --expect, diff and exit 1 on mismatch;
           with --explain <request id>, show for that entry the paths tried, the operation, each rule's result
`;

export interface CliIO {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Returns the exit code; `serve` resolves only when the server stops. */
export async function main(argv: string[], registry: Registry, io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve': {
        const { values } = parseArgs({
          args: rest,
          options: {
            spec: { type: 'string', multiple: true },
            config: { type: 'string' },
            host: { type: 'string' },
            port: { type: 'string' },
            data: { type: 'string' },
          },
          allowPositionals: false,
        });
        return await runServe(values, registry, io);
      }
      case 'lint': {
        const { values, positionals } = parseArgs({ args: rest, options: { 'allow-refs': { type: 'string', multiple: true } }, allowPositionals: true });
        if (positionals.length === 0) return usage(io, 'lint needs at least one spec file');
        return await runLint(positionals, io.out, refPolicy(values['allow-refs']));
      }
      case 'schema': {
        const { values, positionals } = parseArgs({ args: rest, options: { 'allow-refs': { type: 'string', multiple: true } }, allowPositionals: true });
        if (positionals.length === 0) return usage(io, 'schema needs at least one spec file');
        return await runSchema(positionals, io, refPolicy(values['allow-refs']));
      }
      case 'asyncapi': {
        const { values, positionals } = parseArgs({ args: rest, options: { config: { type: 'string' }, 'allow-refs': { type: 'string', multiple: true } }, allowPositionals: true });
        if (positionals.length === 0 && !values.config) return usage(io, 'asyncapi needs spec files or --config');
        return await runAsyncApi({ specs: positionals, ...(values.config ? { config: values.config } : {}), refs: refPolicy(values['allow-refs']) }, registry, io);
      }
      case 'diff': {
        const { values, positionals } = parseArgs({ args: rest, options: { 'allow-refs': { type: 'string', multiple: true } }, allowPositionals: true });
        if (positionals.length !== 2) return usage(io, 'diff needs two spec files: the old one, then the new one');
        return await runDiff(positionals[0]!, positionals[1]!, io, refPolicy(values['allow-refs']));
      }
      case 'test': {
        const { values, positionals } = parseArgs({
          args: rest,
          options: {
            logs: { type: 'string' }, format: { type: 'string', default: 'kong' }, expect: { type: 'string' }, explain: { type: 'string' },
            'allow-refs': { type: 'string', multiple: true },
          },
          allowPositionals: true,
        });
        if (positionals.length === 0) return usage(io, 'test needs at least one spec file');
        if (!values.logs) return usage(io, 'test needs --logs <file>');
        return await runTest({ specs: positionals, logs: values.logs, format: values.format!, ...(values.expect ? { expect: values.expect } : {}), ...(values.explain !== undefined ? { explain: values.explain } : {}), refs: refPolicy(values['allow-refs']) }, registry, io);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        return usage(io, `unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof DiagnosticError) {
      for (const d of err.diagnostics) io.err(formatDiagnostic(d));
      return 1;
    }
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return usage(io, (err as Error).message);
    io.err(`reflex: ${(err as Error).message}`);
    return 1;
  }
}

/** `--allow-refs`: more folders (relative to the working directory) or URL prefixes a spec's $refs may read. */
function refPolicy(allow: string[] | undefined): RefPolicy {
  return { ...DEFAULT_REF_POLICY, allow: (allow ?? []).map((a) => (/^https?:\/\//i.test(a) ? a : resolve(a))) };
}

function usage(io: CliIO, problem: string): number {
  io.err(`reflex: ${problem}\n`);
  io.err(USAGE);
  return 2;
}
