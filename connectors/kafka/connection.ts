import { readFileSync } from 'node:fs';
import { logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import { Default, FilePath, Type, type Logger, type Settings, type Static } from '../../src/sdk/index.js';
import { registerKafkaCodecs } from './codecs.js';

const KafkaSsl = Type.Object({
  ca: Type.Optional(FilePath()),
  cert: Type.Optional(FilePath()),
  key: Type.Optional(FilePath()),
  rejectUnauthorized: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

const KafkaSasl = Type.Object({
  mechanism: Type.Union([Type.Literal('plain'), Type.Literal('scram-sha-256'), Type.Literal('scram-sha-512')]),
  username: Type.String(),
  password: Type.String(),
}, { additionalProperties: false });

/** The connection part of a Kafka connector's config schema (source and sink). */
export const KAFKA_CONNECTION_SCHEMA = {
  brokers: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'bootstrap brokers, host:port' }),
  clientId: Default(Type.String({ minLength: 1, description: 'Kafka client id' }), 'reflex'),
  // One `type` list rather than anyOf, so a wrong value reads "must be boolean,object".
  ssl: Type.Optional(Type.Unsafe<boolean | Static<typeof KafkaSsl>>({
    ...KafkaSsl,
    type: ['boolean', 'object'],
    description: 'TLS: true, or {ca, cert, key} PEM file paths (relative to reflex.yaml) and rejectUnauthorized',
  })),
  sasl: Type.Optional(Type.Unsafe<Static<typeof KafkaSasl>>({
    ...KafkaSasl,
    properties: { ...KafkaSasl.properties, mechanism: { enum: ['plain', 'scram-sha-256', 'scram-sha-512'] } },
    description: 'SASL {mechanism, username, password}; mechanism plain, scram-sha-256 or scram-sha-512; put secrets in ${ENV} variables',
  })),
};

/** How every Kafka connector (source and sink) reaches the brokers. */
export type KafkaConnection = Settings<ReturnType<typeof Type.Object<typeof KAFKA_CONNECTION_SCHEMA>>>;
type KafkaSslConfig = Static<typeof KafkaSsl>;

export interface KafkaClientOptions {
  /** kafkajs's own retries per connect or request, before the connector's backoff takes over. */
  retries: number;
  /**
   * `folded`: kafkajs warnings and errors are logged, each distinct message at most once per 30 s.
   * `debug`: kafkajs lines go to debug (the connector reports failures itself).
   */
  logs: 'folded' | 'debug';
}

/** kafkajs notices that do not apply: reflex picks the partitioner, and retries whole batches itself. */
const IGNORED = [/switched default partitioner/, /Limiting retries for the idempotent producer/];
const REPEAT_MS = 30_000;
/** kafkajs reports these as errors, but a consumer group and its transactions pass through them normally (a member joins or leaves). */
const ROUTINE = [/rebalanc/i, /re-joining/i, /another concurrent operation on the same transaction/i];

/** The kafkajs client config, built once at construction time (certificate files are read here). */
export function kafkaClientConfig(conn: KafkaConnection, logger: Logger, options: KafkaClientOptions): KafkaConfig {
  registerKafkaCodecs();
  const config: KafkaConfig = {
    brokers: conn.brokers,
    clientId: conn.clientId,
    retry: { initialRetryTime: 300, maxRetryTime: 30_000, retries: options.retries },
    logLevel: logLevel.WARN,
    logCreator: options.logs === 'folded' ? foldedLogs(logger, conn) : debugLogs(logger),
  };
  if (conn.ssl !== undefined) config.ssl = typeof conn.ssl === 'boolean' ? conn.ssl : tlsOptions(conn.ssl);
  if (conn.sasl) config.sasl = { mechanism: conn.sasl.mechanism, username: conn.sasl.username, password: conn.sasl.password } as SASLOptions;
  return config;
}

function tlsOptions(ssl: KafkaSslConfig) {
  const read = (key: 'ca' | 'cert' | 'key') => {
    const path = ssl[key];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`kafka ssl.${key}: cannot read '${path}': ${(err as Error).message}`);
    }
  };
  const ca = read('ca');
  const cert = read('cert');
  const key = read('key');
  return {
    ...(ca !== undefined ? { ca: [ca] } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(ssl.rejectUnauthorized !== undefined ? { rejectUnauthorized: ssl.rejectUnauthorized } : {}),
  };
}

/** One line per problem, no stack traces; a dead broker's per-retry repeats are folded into a count. */
function foldedLogs(logger: Logger, conn: KafkaConnection) {
  const lastLogged = new Map<string, { at: number; suppressed: number }>();
  return () => ({ level, log }: LogEntry) => {
    const { message, error } = log;
    if (IGNORED.some((re) => re.test(message))) return;
    const now = Date.now();
    const seen = lastLogged.get(message);
    if (seen && now - seen.at < REPEAT_MS) {
      seen.suppressed++;
      return;
    }
    lastLogged.set(message, { at: now, suppressed: 0 });
    const fields = {
      ...(error && String(error) !== message ? { error: String(error) } : {}),
      brokers: conn.brokers.join(','),
      ...(seen?.suppressed ? { repeated: seen.suppressed } : {}),
    };
    if (ROUTINE.some((re) => re.test(message))) logger.info(`kafka: ${message}`, fields);
    else if (level === logLevel.ERROR) logger.error(`kafka: ${message}`, fields);
    else if (level === logLevel.WARN) logger.warn(`kafka: ${message}`, fields);
  };
}

function debugLogs(logger: Logger) {
  return () => ({ namespace, log }: LogEntry) => {
    const { message, error } = log;
    logger.debug(`kafkajs: ${message}`, { namespace, ...(error ? { error: String(error) } : {}) });
  };
}
