import type { Static, TObject, TProperties, TSchema } from 'typebox';
import { DEFAULT_JSON_DEPTH, MAX_JSON_DEPTH } from '../model/json-depth.js';
import { Default, FILE_PATH_KEYWORD, Type } from '../sdk/schema.js';
import { DEFAULT_MAX_PENDING } from '../cdc/types.js';

/*
 * reflex.yaml, declared once: this schema validates the file, gives each key its one default, and
 * the README's table of keys is generated from it (src/docs/config-reference.ts). Durations and
 * sizes stay text here; src/config/parse.ts turns them into milliseconds and bytes.
 */

/** A duration as written (`7d`, `50ms`, `2h30m`). */
const Duration = (value: string, description: string) => Default(Type.String({ description }), value);
/** A size as written (`10mb`, `512kb`) or a number of bytes. */
const Size = (value: string, description: string) =>
  Default(Type.Unsafe<string | number>({ type: ['string', 'integer'], description }), value);
/** A block of keys; absent, it is all defaults. */
const Section = <P extends TProperties>(properties: P, description?: string) =>
  Default(Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) }), {} as Static<TObject<P>>);

/** A bearer token, HTTP basic credentials, or both (either is accepted). */
function credential(where: string, without: string) {
  return Type.Optional(Type.Object({
    token: Type.Optional(Type.String({
      minLength: 16,
      description: `shared secret for ${where} (\`Authorization: Bearer\`, at least 16 characters; use \`\${ENV}\`); ${without}`,
    })),
    basic: Type.Optional(Type.Object(
      { username: Type.String({ minLength: 1 }), password: Type.String({ minLength: 8 }) },
      { additionalProperties: false, description: `\`{username, password}\` accepted as HTTP basic on ${where}` },
    )),
  }, { additionalProperties: false, description: `credential required on ${where}; ${without}` }));
}

const ConnectorBlocks = (description: string) =>
  Default(Type.Array(Type.Object({ type: Type.String() }), { description }), []);

export const CONFIG_SCHEMA = Type.Object({
  specs: Default(Type.Array(Type.String({ [FILE_PATH_KEYWORD]: true }), {
    description: 'annotated OpenAPI files, relative to the config file (`--spec` replaces them)',
  }), []),
  server: Section({
    host: Default(Type.String({ description: 'listen address' }), '127.0.0.1'),
    port: Default(Type.Integer({ minimum: 0, maximum: 65535, description: 'listen port (`0`: any free port)' }), 8088),
    bodyLimit: Size('10mb', 'largest accepted request body'),
    ingestAuth: credential('`/ingest/*`', 'without one reflex listens on loopback only'),
    apiAuth: credential('every other route but `/healthz` and `/readyz`', 'without one they answer loopback clients only'),
    publishAuth: credential('`POST /streams/{name}/events` and `DELETE /streams/{name}/producer` (applications publishing their own events)', 'without one they answer loopback clients only'),
    metricsAuth: credential('`/metrics`', 'without one `/metrics` takes `server.apiAuth` like the other routes'),
    requestTimeout: Duration('60s', 'a request whose headers and body have not all arrived by then gets `408` and its connection is closed (`0`: none)'),
    headersTimeout: Duration('20s', 'the same for the headers alone; at most `server.requestTimeout` (`0`: none)'),
    idleTimeout: Duration('2m', 'a connection with nothing sent or received this long is closed (`0`: none); SSE tails send a keep-alive every half of it (at most 15s)'),
  }),
  store: Section({
    type: Default(Type.Literal('sqlite', { description: 'the embedded store (the only one so far)' }), 'sqlite'),
    path: Default(Type.String({ [FILE_PATH_KEYWORD]: true, description: 'database file (WAL mode; one writer process)' }), '.reflex/reflex.db'),
    retention: Duration('7d', 'records older than this are pruned (`0` keeps everything), except those a sink has not delivered yet'),
    dedupeWindow: Duration('24h', 'a log entry re-sent within this window yields nothing'),
    sync: Default(Type.Enum(['full', 'normal'], { description: '`full`: a batch is answered only once it is on disk (fsync), and sinks and the consumer API read only what is on disk, so power loss loses nothing acknowledged or delivered (the CDC applier\'s and the webhook bookkeeping\'s commits ride on the next fsync: lost, they are redone from what was synced); `normal` survives process crashes' }), 'full'),
  }),
  cdc: Section({
    reorderWindow: Duration('3s', 'changes wait this long so that logs arriving out of order apply in request-time order; `0` applies them before the batch is acknowledged'),
    maxPending: Default(Type.Integer({ minimum: 1, description: 'changes that may wait for their reorder window; past it a batch with changes is refused whole (`503` with `Retry-After`) until they have been applied' }), DEFAULT_MAX_PENDING),
  }),
  ingest: Section({
    workers: Default(Type.Integer({ minimum: 0, maximum: 64, description: 'worker threads that decode pushed payloads (`/ingest/*`) and run the rules on them while the main thread writes the store; `0` does everything on the main thread. Default 1: on two cores it measured 1.1-1.6× the exchanges/s of 0 across runs, and 2 within a few per cent of 1 (bench (l))' }), 1),
  }, 'how pushed logs are processed'),
  reload: Section({
    watch: Default(Type.Boolean({ description: 'reload the specs (as `POST /specs/reload` does) when a YAML or JSON file changes in a folder holding one of them, half a second after the last change; an invalid change is refused and logged, the old specs stay active' }), false),
  }, 'reloading the specs without a restart (also `POST /specs/reload` and `SIGHUP`)'),
  limits: Section({
    ruleTimeout: Duration('50ms', 'longest one rule expression (`when`, `data`, `key`, `x-reflex-cdc`) may run; past it the exchange is a dead letter (`RX411`). Also the longest a runaway rule can hold the event loop'),
    ruleDepth: Default(Type.Integer({ minimum: 16, maximum: 10000, description: "deepest JSONata's evaluator may nest, sub-expressions and recursive calls together (16-10000; `RX412`)" }), 500),
    eventSize: Size('1mb', 'largest event a rule may build, as serialized JSON (`RX413`)'),
    jsonDepth: Default(Type.Integer({ minimum: 16, maximum: MAX_JSON_DEPTH, description: `a body nested deeper than this many levels stays text instead of being parsed (16-${MAX_JSON_DEPTH}; real APIs stay far below, stack-bound walks of JSON overflow a few thousand levels down)` }), DEFAULT_JSON_DEPTH),
  }, 'bounds on what one log entry may cost'),
  log: Section({
    level: Default(Type.Enum(['debug', 'info', 'warn', 'error'], { description: '`debug`, `info`, `warn`, `error`' }), 'info'),
    format: Default(Type.Enum(['text', 'json'], { description: '`text` or `json` lines on stderr' }), 'text'),
  }),
  webhooks: Section({
    allowPrivateAddresses: Default(Type.Boolean({ description: 'deliver to loopback, private, link-local and reserved addresses and to this machine\'s own interface addresses; without it these are refused at registration and at connect (after DNS), in every spelling: IPv4-mapped and IPv4-compatible IPv6 (`::ffff:10.0.0.1`, `::10.0.0.1`), NAT64 (`64:ff9b::10.0.0.1`), 6to4 (`2002:a00:1::`), Teredo, and names with a trailing dot (`localhost.`)' }), false),
    retrySchedule: Default(Type.Array(Type.String(), { minItems: 1, description: 'delay before each attempt; its length is the number of attempts' }), ['0s', '5s', '5m', '30m', '2h', '5h', '10h', '10h']),
    jitter: Default(Type.Number({ minimum: 0, maximum: 1, description: 'each delay is spread by ± this fraction' }), 0.2),
    timeout: Duration('15s', 'per request (connect, headers, body)'),
    disableAfter: Duration('5d', 'an endpoint failing without a success this long is disabled'),
    rotationGrace: Duration('24h', 'the previous secret keeps signing this long after a rotation'),
    maxResponseBytes: Default(Type.Integer({ minimum: 0, description: 'response bytes kept in the delivery log (the rest is not read)' }), 4096),
    concurrency: Default(Type.Integer({ minimum: 1, description: 'requests in flight per endpoint (never two of one key)' }), 16),
  }, 'how webhook endpoints (POST /webhooks, or `type: webhook` sinks) are delivered to'),
  specRefs: Section({
    allow: Default(Type.Array(Type.String(), { description: "a spec's `$ref`s read only regular files inside the spec's own folder tree; this lists more folders (relative to the config file) and `http(s)://` URL prefixes they may read (`reflex lint` and `reflex test` take `--allow-refs <dir|url>` for the same); any other `$ref` is refused with `RX007`, unread" }), []),
    maxBytes: Size('32mb', 'largest file a `$ref`, or the spec itself, may be; a device (`/dev/zero`), FIFO or folder is refused'),
  }, "what a spec's $refs may read besides the spec's own folder tree"),
  cluster: Type.Optional(Type.Object({
    kafka: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'required: the brokers, `{brokers, clientId, ssl, sasl}` as for the kafka connectors' })),
    exchangesTopic: Default(Type.String({ minLength: 1, description: 'the topic every instance produces exchanges to, keyed by resource key; its state topic is `<exchangesTopic>-state`' }), 'reflex.exchanges'),
    partitions: Default(Type.Integer({ minimum: 1, description: 'partitions of the exchanges topic, its state topic and every changelog topic (co-partitioned; fixed once created): the most instances that can share the work' }), 12),
    replicationFactor: Type.Optional(Type.Integer({ minimum: 1, description: 'replication factor of the topics reflex creates (default: the brokers\' `default.replication.factor`)' })),
    group: Default(Type.String({ minLength: 1, description: 'consumer group of the instances, and the prefix of their transactional ids' }), 'reflex'),
    advertisedUrl: Type.Optional(Type.String({ minLength: 1, description: 'the URL other instances reach this one at, for the key lookups they redirect to its owner (default: the listening URL, this host\'s name for `0.0.0.0`)' })),
    sessionTimeout: Duration('30s', 'an instance not heard from this long is dropped from the group and its partitions move to the others (at least the brokers\' `group.min.session.timeout.ms`, 6s by default)'),
  }, { additionalProperties: false, description: 'many instances sharing the work through Kafka (see Scale-out); absent: one process on the embedded store' })),
  sources: ConnectorBlocks('extra sources, by `type` (below)'),
  sinks: ConnectorBlocks('sinks, by `type` (below); each has its own dispatcher and committed offset'),
}, { additionalProperties: false });

type DefaultedKeys<P> = { [K in keyof P]: P[K] extends { readonly default: unknown } ? K : never }[keyof P];

/** A schema's static type with every key that has a default present, at every depth (defaults were applied). */
type Filled<S> = S extends TObject<infer P>
  ? Omit<Static<S>, DefaultedKeys<P>> & { -readonly [K in DefaultedKeys<P>]-?: Filled<P[K]> }
  : S extends TSchema ? Static<S> : never;

/** reflex.yaml as written, with the schema's defaults filled in. */
export type RawConfig = Filled<typeof CONFIG_SCHEMA>;

/** A credential reflex accepts: a bearer token, HTTP basic, or either. */
export type Credential = Static<ReturnType<typeof credential>>;
