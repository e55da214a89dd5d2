import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What `npm run testbed` records about a detached server, so later runs can reuse or stop it. */
export interface ServerState {
  brokers: string[];
  pid: number;
  version: string;
  runDir: string;
  startedAt: string;
}

/** An Envoy started by `npm run testbed` with plugins/envoy/envoy.yaml (addresses as host:port or URL). */
export interface EnvoyServerState {
  pid: number;
  version: string;
  runDir: string;
  startedAt: string;
  listener: string;
  admin: string;
  upstream: string;
  als: string;
}

/** moto's S3 server started by `npm run testbed`. */
export interface S3ServerState {
  pid: number;
  version: string;
  runDir: string;
  startedAt: string;
  endpoint: string;
}

/** Elasticsearch (integ-test zip) started by `npm run testbed`. */
export interface ElasticsearchServerState {
  pid: number;
  version: string;
  runDir: string;
  startedAt: string;
  url: string;
}

/** A throwaway PostgreSQL cluster started by `npm run testbed` (trust auth, superuser postgres). */
export interface PostgresServerState {
  pid: number;
  version: string;
  runDir: string;
  startedAt: string;
  url: string;
  port: number;
}

export interface TestbedState {
  kafka?: ServerState;
  envoy?: EnvoyServerState;
  s3?: S3ServerState;
  elasticsearch?: ElasticsearchServerState;
  postgres?: PostgresServerState;
}

const file = (dir: string) => join(dir, 'state.json');

export function readState(dir: string): TestbedState {
  try {
    return JSON.parse(readFileSync(file(dir), 'utf8')) as TestbedState;
  } catch {
    return {};
  }
}

/** Sets (or with `undefined` removes) one server's entry; written via rename so readers never see half a file. */
export function writeServerState<K extends keyof TestbedState>(dir: string, name: K, entry: TestbedState[K] | undefined): void {
  const state = readState(dir);
  if (entry) state[name] = entry;
  else delete state[name];
  mkdirSync(dir, { recursive: true });
  const tmp = `${file(dir)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, file(dir));
}
