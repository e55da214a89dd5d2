/**
 * Event contracts of one spec file: the JSON Schema (draft 2020-12) of every event type's
 * `data`, and of every CDC resource's state and change records, inferred from the rules'
 * expressions over the operations' schemas. Parts beyond inference are `{}`, with a warning
 * at the expression that holds them.
 */
import { CODES } from '../codes.js';
import { toPointer } from '../model/json-pointer.js';
import { isObject, type Obj } from '../spec/doc.js';
import type { Reporter } from '../spec/report.js';
import type { CompiledExpression } from '../rules/expression.js';
import type { CompiledOperation } from '../spec/types.js';
import { DEFAULT_DATA } from '../spec/compile-operation.js';
import { compileJsonata } from '../rules/jsonata/index.js';
import { changeRecordSchema } from './change-record.js';
import { exchangeType } from './exchange-type.js';
import { inferJsonata } from './infer.js';
import { statusTest } from './status.js';
import { DRAFT_2020_12, NULL, toSchema, union, type T } from './types.js';

export interface EventContract {
  /** The CloudEvents `type`. */
  type: string;
  stream: string;
  /** operationIds of the operations whose rules produce it. */
  operations: string[];
  /** JSON Schema of the event's `data`. */
  schema: Obj;
}

export interface ResourceContract {
  resource: string;
  /** `<resource>.changelog` */
  stream: string;
  /** JSON Schema of the resource's state (`before`/`after`). */
  state: Obj;
  /** JSON Schema of a change record. */
  changeRecord: Obj;
}

export interface Contracts {
  /** The spec files they come from, with their `info`. */
  specs: Array<{ file: string; title: string; version: string }>;
  events: EventContract[];
  resources: ResourceContract[];
}

interface Typed {
  type: T;
  operations: string[];
  stream: string;
}

/** `api` is the dereferenced document the operations were compiled from. */
export function specContracts(file: string, api: Obj, operations: readonly CompiledOperation[], report: Reporter): Contracts {
  const events = new Map<string, Typed>();
  const states = new Map<string, T[]>();
  const cdcResources: string[] = [];
  for (const op of operations) {
    const operation = rawOperation(api, op);
    const pointer = toPointer(['paths', op.path, op.method.toLowerCase()]);
    for (const rule of op.rules) {
      if (rule.type === '') continue;
      const label = `x-reflex-events[${rule.index}].data`;
      const data = infer(rule.data, exchangeType(operation, op.params, statusTest(rule.when.ast)), `${pointer}/x-reflex-events/${rule.index}/data`, label, report);
      if (!data) continue;
      // A rule whose data gives no value sends `data: null`.
      const type = data.optional ? union([data.t, NULL]) : data.t;
      const known = events.get(rule.eventType);
      if (known) {
        known.type = union([known.type, type]);
        if (!known.operations.includes(op.id)) known.operations.push(op.id);
      } else {
        events.set(rule.eventType, { type, operations: [op.id], stream: rule.stream });
      }
    }
    const resource = op.resource;
    if (!resource?.cdc) continue;
    if (!cdcResources.includes(resource.name)) cdcResources.push(resource.name);
    if (op.cdc.op !== 'create' && op.cdc.op !== 'update' && op.cdc.op !== 'read') continue;
    const exchange = exchangeType(operation, op.params, statusTest(op.cdc.when.ast));
    // The default state is the response body; an operation with no body schema (a PATCH answered
    // 204 keeps the stored state, patched) says nothing about it.
    if (op.cdc.state === null && !responseDescribed(exchange)) continue;
    const state = op.cdc.state ?? (defaultState ??= compileJsonata(DEFAULT_DATA));
    const typed = infer(state, exchange, `${pointer}/x-reflex-cdc/state`, 'x-reflex-cdc.state', report);
    if (typed) states.set(resource.name, [...(states.get(resource.name) ?? []), typed.t]);
  }
  const info = isObject(api.info) ? api.info : {};
  return {
    specs: [{ file, title: String(info.title ?? file), version: String(info.version ?? '') }],
    events: [...events].map(([type, e]) => ({ type, stream: e.stream, operations: e.operations, schema: document(type, toSchema(e.type)) })),
    resources: cdcResources.map((name) => {
      const state = toSchema(union(states.get(name) ?? [{ k: 'any' }]));
      return { resource: name, stream: `${name}.changelog`, state: document(`${name} state`, state), changeRecord: changeRecordSchema(name, state) };
    }),
  };
}

let defaultState: CompiledExpression | undefined;

function infer(expression: CompiledExpression, input: T, pointer: string, label: string, report: Reporter): { t: T; optional: boolean } | null {
  if (expression.ast === undefined) return null; // broken: reported when it was compiled
  const { result, untyped } = inferJsonata(expression.ast, input);
  for (const u of untyped) {
    report.warn(CODES.untypedExpression, pointer, `${label}: ${u.what} is beyond schema inference, so that part of the contract is {} (any value)`, {
      offset: u.offset,
      hint: 'Consumers learn nothing of its shape from `reflex schema` or the AsyncAPI document; write it with paths, constructors and the built-in functions reflex can type.',
    });
  }
  return result;
}

function rawOperation(api: Obj, op: CompiledOperation): Obj {
  const pathItem = isObject(api.paths) ? api.paths[op.path] : undefined;
  const operation = isObject(pathItem) ? pathItem[op.method.toLowerCase()] : undefined;
  return isObject(operation) ? operation : {};
}

function responseDescribed(exchange: T): boolean {
  const response = exchange.k === 'object' ? exchange.props.get('response')?.t : undefined;
  const body = response?.k === 'object' ? response.props.get('body')?.t : undefined;
  return body !== undefined && body.k !== 'any' && !(body.k === 'scalar' && body.type === 'null');
}

function document(title: string, schema: Obj): Obj {
  return { $schema: DRAFT_2020_12, title, ...schema };
}
