import type { FastifyInstance } from 'fastify';
import type { Diagnostic } from '../model/diagnostic.js';
import type { Exchange } from '../model/exchange.js';
import { evaluateDraft } from '../pipeline/playground.js';
import type { RuleLimits } from '../rules/budget.js';
import type { DecodeOptions, LogFormat } from '../sources/types.js';
import type { CompiledSpecSet } from '../spec/types.js';

export interface PlaygroundOptions {
  /** The specs ingest runs now. */
  specs: () => CompiledSpecSet;
  /** Log formats by name, to read a pasted log entry. */
  formats: ReadonlyMap<string, LogFormat>;
  limits: RuleLimits;
  decode: DecodeOptions;
}

/** A pasted entry and three expressions are small; the cap keeps a request's decode and rules cheap. */
export const PLAYGROUND_BODY_LIMIT = 256 * 1024;

const EXPRESSION = { type: 'string', maxLength: 16_384 } as const;

interface EvaluateBody {
  exchange?: Record<string, unknown>;
  log?: string;
  format?: string;
  rule: { index?: number; when?: string; data?: string; key?: string };
}

/** The console's playground: the loaded rules as written, and `POST /playground/evaluate`, a draft rule run against one exchange. */
export function registerPlaygroundRoutes(app: FastifyInstance, options: PlaygroundOptions): void {
  app.get('/playground/rules', async () => ({
    formats: [...options.formats.keys()],
    operations: options.specs().operations.map((op) => ({
      operationId: op.id,
      method: op.method,
      path: op.path,
      resource: op.resource?.name ?? null,
      rules: op.rules.map((r) => ({ index: r.index, type: r.type, stream: r.stream, when: r.when.source, data: r.data.source, key: r.key?.source ?? null })),
    })),
  }));

  app.post<{ Body: EvaluateBody }>('/playground/evaluate', {
    bodyLimit: PLAYGROUND_BODY_LIMIT,
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['rule'],
        oneOf: [{ required: ['exchange'] }, { required: ['log'] }],
        properties: {
          exchange: { type: 'object' },
          log: { type: 'string', minLength: 1 },
          format: { type: 'string', minLength: 1 },
          rule: {
            type: 'object',
            additionalProperties: false,
            properties: { index: { type: 'integer', minimum: 0 }, when: EXPRESSION, data: EXPRESSION, key: EXPRESSION },
          },
        },
      },
    },
  }, async (request, reply) => {
    const body = request.body;
    const read = readExchange(body, options);
    if ('diagnostic' in read) return reply.code(422).send({ ok: false, error: read.error, diagnostics: read.diagnostic ? [read.diagnostic] : [] });
    const { index = 0, ...draft } = body.rule;
    const result = await evaluateDraft(read.exchange, options.specs(), draft, index, options.limits);
    return result.ok ? result : reply.code(422).send(result);
  });
}

/** The one exchange to evaluate: given as an Exchange, or a log entry in a named format (default kong). */
function readExchange(body: EvaluateBody, options: PlaygroundOptions): { exchange: Exchange } | { error: string; diagnostic: Diagnostic | null } {
  const formatName = body.exchange ? 'exchange' : (body.format ?? 'kong');
  const format = options.formats.get(formatName);
  if (!format) return { error: `no log format named '${formatName}' (formats: ${[...options.formats.keys()].join(', ')})`, diagnostic: null };
  let entries;
  try {
    entries = format.decode(body.exchange ? JSON.stringify(body.exchange) : body.log!, options.decode);
  } catch (err) {
    const e = err as Error & { line?: number; column?: number };
    const at = e.line !== undefined ? ` (line ${e.line}, column ${e.column ?? 1})` : '';
    return { error: `the log entry cannot be read as ${formatName}: ${e.message}${at}`, diagnostic: null };
  }
  if (entries.length !== 1) return { error: `expected one log entry, got ${entries.length}`, diagnostic: null };
  const entry = entries[0]!;
  if (!entry.ok) return { error: `the log entry cannot be read as ${formatName}: ${entry.diagnostic.message}`, diagnostic: entry.diagnostic };
  return { exchange: entry.exchange };
}
