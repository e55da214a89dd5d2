import { KAFKA_CONNECTION_SCHEMA, type KafkaConnection } from '../../kafka/connection.js';

export interface KafkaSourceConfig extends KafkaConnection {
  topics?: string[];
  /** A regular expression that must match the whole topic name. */
  topicPattern?: string;
  groupId?: string;
  format: string;
  fromBeginning?: boolean;
  name?: string;
}

/** The `sources:` block of `type: kafka` (the registry validates it before create). */
export const kafkaSourceSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['brokers', 'format'],
  oneOf: [{ required: ['topics'] }, { required: ['topicPattern'] }],
  properties: {
    name: { type: 'string', description: 'instance name (default: kafka:<topics or pattern>)' },
    brokers: KAFKA_CONNECTION_SCHEMA.brokers,
    topics: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, description: 'topics to consume (or topicPattern, not both)' },
    topicPattern: { type: 'string', minLength: 1, description: 'regular expression for the whole topic name, matched against the topics that exist when the source connects' },
    groupId: { type: 'string', minLength: 1, default: 'reflex', description: 'consumer group; offsets are committed to it after each batch is stored' },
    clientId: KAFKA_CONNECTION_SCHEMA.clientId,
    format: { type: 'string', description: 'log format of each message value (kong, exchange, ...)' },
    fromBeginning: { type: 'boolean', default: true, description: 'where a group without committed offsets starts: the oldest message, else only new ones' },
    ssl: KAFKA_CONNECTION_SCHEMA.ssl,
    sasl: KAFKA_CONNECTION_SCHEMA.sasl,
  },
};
