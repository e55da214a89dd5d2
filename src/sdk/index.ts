/**
 * The connector SDK: the one module connectors/ may import (an ESLint rule enforces it), so core
 * modules can move without touching every connector.
 */
export { defineSink, defineSource, DEFAULT_MAX_BACKLOG, type SharedSinkSettings } from './define.js';
export { Default, FilePath, Type, type Settings, type Static, type TSchema } from './schema.js';
export { createRegistry, type Registry } from '../registry.js';
export { ReflexError, isReflexError, type ReflexErrorOptions } from '../errors.js';
export { API_CODES, CODES, type RxCode } from '../codes.js';

export type { Logger } from '../logger.js';
export type { Diagnostic } from '../model/diagnostic.js';
export type { Exchange, GatewayKind, HeaderMap, QueryMap } from '../model/exchange.js';
export type { ChangeRecord, CloudEvent, StreamRecord } from '../model/records.js';
export type { StoredRecord } from '../store/event-log.js';
export { decodeBase64Body, normalizeBody } from '../model/body.js';
export { hashHex, hashJson } from '../model/hash.js';
export { normalizeHeaders, scalarText } from '../model/headers.js';
export { DEFAULT_JSON_DEPTH, setOwn } from '../model/json-depth.js';
export { escapePointerToken } from '../model/json-pointer.js';
export { pathWithoutQuery } from '../model/request-path.js';
export { parseRfc3339 } from '../model/time.js';
export { parseDuration } from '../config/duration.js';

export type { HttpAnswer, HttpIngress, IngestOptions, Source, SourceConnector, SourceContext } from '../sources/connector.js';
export type { PermanentFailure, Sink, SinkConnector, SinkContext } from '../sinks/connector.js';
export type { SinkContract } from '../sinks/contract.js';
export { isPermanentFailure, permanentFailure } from '../sinks/connector.js';
export type { StreamInfo } from '../spec/types.js';
export { sourceError, type SourceError, type SourceProgress, type SourceState, type SourceStatus } from '../sources/progress.js';
export { BackpressureError, PayloadError, type DecodedEntry, type DecodeOptions, type LogFormat } from '../sources/types.js';
export { isAbort } from '../sources/backpressure.js';
export { startThread } from './thread.js';
export { pollLoop, type PollFailure, type PollLoop } from '../sources/poll-loop.js';
export { EntryError, asObject, decodeWith, describe, entryDiagnostic, optionalString, requiredStatus, requiredString } from '../sources/entry-errors.js';
export { parseJson, parseNdjson } from '../sources/json-payload.js';

// Following the log: subscriptions, followers, and a connector's process-wide service (webhooks).
export type { ClusterSinkContext, ClusterSinkRunner, LogReader, ServiceSink, SinkService, SinkServiceContext } from '../sinks/connector.js';
export type { Follower, FollowerRegistry } from '../subscriptions/followers.js';
export { webhookOwner, type SubscriptionStore } from '../store/subscriptions.js';
export { migrateOwnTables, type Migration } from '../store/database.js';
export type { WebhookSettings } from '../config/webhook-settings.js';
export type { WebhookMetrics } from '../metrics/types.js';
export { PAGE_QUERY, pageLimit, pagePosition } from '../server/paging.js';
export { compileEventCel, type CompiledCel } from '../rules/cel.js';
export { ExpressionError, isPromise, type CompiledExpression } from '../rules/expression.js';
export { compileJsonata } from '../rules/jsonata/index.js';

// Cluster mode: the stateful half of a partition, and what a cluster engine (connectors/cluster/) implements.
export { PartitionState, type PartitionInput, type PartitionOptions, type PartitionOutput, type StateWrite } from '../cluster/partition.js';
export type { ClusterCommit, ClusterConnector, ClusterConsumerPositions, ClusterContext, ClusterEngine, ClusterMember, ClusterOutput, ClusterPositions, ClusterRead, ClusterReadFrom, ClusterRecord, ClusterStatus, ClusterStreamInfo, ClusterTail, ClusterTailOpen, ExchangeMessage, OwnedPart, OwnedPartition, ResourceCounts, ResourceLookup } from '../cluster/types.js';
export { mergePages, missingPartitions, sumCounts } from '../cluster/owned.js';
export type { EntryOutcome } from '../store/types.js';
export type { ResourceState } from '../cdc/types.js';
