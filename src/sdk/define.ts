import type { ClusterSinkContext, ClusterSinkRunner, ServiceSink, Sink, SinkConnector, SinkContext, SinkService, SinkServiceContext } from '../sinks/connector.js';
import type { SinkContract } from '../sinks/contract.js';
import type { Source, SourceConnector, SourceContext } from '../sources/connector.js';
import { Default, Type, type Settings } from './schema.js';
import type { TObject, TProperties } from 'typebox';

/** Past this many undelivered records a sink's backlog refuses ingest (503 with Retry-After). */
export const DEFAULT_MAX_BACKLOG = 100_000;

interface InstanceName<C> {
  /** How the default reads in the docs, e.g. `file:<path>`. */
  text: string;
  of(settings: C): string;
}

/** Joins the fields every instance has to the connector's own; the connector's own win (e.g. a stricter `streams`). */
function withShared(shared: TProperties, own: TObject, required: string[] = []): Record<string, unknown> {
  return { ...own, properties: { ...shared, ...own.properties }, required: [...new Set([...(own.required ?? []), ...required])] };
}

/**
 * A source connector. The host resolves the shared fields: `name` (unique among sources, keys the
 * checkpoint), and `format` when the source reads a log format: the host checks it at load and
 * hands the resolved LogFormat over as `ctx.format`.
 */
export function defineSource<S extends TObject>(def: {
  type: string;
  summary: string;
  /** What the config block looks like besides `type`, `name` and `format`. */
  config: S;
  name: InstanceName<Settings<S>>;
  /** When set, the block takes a required `format:`; this describes what it decodes (e.g. 'each line'). */
  format?: string;
  create(settings: Settings<S>, ctx: SourceContext): Source;
}): SourceConnector<Settings<S> & { name?: string }> {
  const shared: TProperties = { name: Type.String({ description: `instance name (default: ${def.name.text})` }) };
  if (def.format) shared.format = Type.String({ description: `log format of ${def.format} (kong, exchange, ...)` });
  return {
    type: def.type,
    summary: def.summary,
    configSchema: withShared(shared, def.config, def.format ? ['format'] : []),
    takesFormat: def.format !== undefined,
    instanceName: (settings) => settings.name ?? def.name.of(settings),
    create: (settings, ctx) => def.create(settings, ctx),
  };
}

/** The fields every sink block has besides `name` (its default depends on the connector); the README documents them once. */
export const SHARED_SINK_FIELDS = {
  streams: Default(Type.Array(Type.String(), { description: 'streams to deliver; "*" for all' }), ['*']),
  maxBacklog: Default(Type.Integer({ minimum: 1, description: 'past this many undelivered records, ingest answers `503` with `Retry-After` (nothing of the refused batch is stored) instead of growing the store without bound' }), DEFAULT_MAX_BACKLOG),
};

/** The fields every sink block has, resolved by the host (dispatcher subscription, backpressure). */
export interface SharedSinkSettings {
  name?: string;
  streams: string[];
  maxBacklog: number;
}

/** A sink connector; the host reads `name`, `streams` and `maxBacklog` and runs its dispatcher. */
export function defineSink<S extends TObject, Service extends SinkService | undefined = undefined>(def: {
  type: string;
  summary: string;
  config: S;
  name: InstanceName<Settings<S> & SharedSinkSettings>;
  /** Describes `streams:` for this sink (e.g. 'streams to print'). */
  streams?: string;
  /** Records per deliver() call, when the connector's settings say (default 500). */
  batchSize?(settings: Settings<S> & SharedSinkSettings): number;
  /** The connector's process-wide part (admin routes, its own followers), created once by the host. */
  service?(ctx: SinkServiceContext): Service;
  create(settings: Settings<S> & SharedSinkSettings, ctx: SinkContext<Service>): Sink | ServiceSink;
  /** Cluster mode: the sink as a consumer group of the output topics (see SinkConnector.cluster). */
  cluster?(settings: Settings<S> & SharedSinkSettings, ctx: ClusterSinkContext): ClusterSinkRunner;
  /** How the sink carries streams, for the AsyncAPI document (see SinkContract). */
  contract?(settings: Settings<S> & SharedSinkSettings): SinkContract;
}): SinkConnector<Settings<S> & SharedSinkSettings, Service> {
  const shared: TProperties = {
    name: Type.String({ description: `instance name (default: ${def.name.text})` }),
    streams: { ...SHARED_SINK_FIELDS.streams, description: `${def.streams ?? 'streams to deliver'}; "*" for all` },
    maxBacklog: SHARED_SINK_FIELDS.maxBacklog,
  };
  return {
    type: def.type,
    summary: def.summary,
    configSchema: withShared(shared, def.config),
    instanceName: (settings) => settings.name ?? def.name.of(settings),
    streams: (settings) => settings.streams,
    maxBacklog: (settings) => settings.maxBacklog,
    ...(def.service ? { service: def.service } : {}),
    ...(def.batchSize ? { batchSize: def.batchSize } : {}),
    create: (settings, ctx) => def.create(settings, ctx),
    ...(def.cluster ? { cluster: def.cluster } : {}),
    ...(def.contract ? { contract: def.contract } : {}),
  };
}
