import { createRegistry, type Registry } from '../src/sdk/index.js';
import { kafkaCluster } from './cluster/kafka/connector.js';
import { awsApiGatewayFormat } from './sources/aws-apigw/format.js';
import { ecsFormat } from './sources/ecs/format.js';
import { elasticsearchSource } from './sources/elasticsearch/source.js';
import { envoyAlsSource } from './sources/envoy-als/source.js';
import { envoyJsonFormat } from './sources/envoy-json/format.js';
import { exchangeFormat } from './sources/exchange/format.js';
import { fileSource } from './sources/file/tail.js';
import { httpReceiver } from './sources/http/receiver.js';
import { kafkaSource } from './sources/kafka/source.js';
import { kongFormat } from './sources/kong/format.js';
import { s3Source } from './sources/s3/source.js';
import { stdoutSink } from './sinks/stdout/sink.js';
import { kafkaSink } from './sinks/kafka/sink.js';
import { postgresSink } from './sinks/postgres/sink.js';
import { webhookSink } from './sinks/webhook/sink.js';

/** Every built-in connector and format. Adding one is one import and one list entry. */
export function builtinRegistry(): Registry {
  return createRegistry({
    sources: [httpReceiver, fileSource, kafkaSource, envoyAlsSource, s3Source, elasticsearchSource],
    sinks: [stdoutSink, kafkaSink, webhookSink, postgresSink],
    formats: [kongFormat, exchangeFormat, envoyJsonFormat, awsApiGatewayFormat, ecsFormat],
    clusters: [kafkaCluster],
  });
}
