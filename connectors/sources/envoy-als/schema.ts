export interface EnvoyAlsTls {
  /** PEM files (paths relative to the working directory). */
  cert: string;
  key: string;
  ca?: string;
  requireClientCert?: boolean;
}

export interface EnvoyAlsConfig {
  name?: string;
  host?: string;
  port?: number;
  tls?: EnvoyAlsTls;
}

export const DEFAULT_PORT = 9001;
/** Bound when TLS is configured and `host` is not. */
export const DEFAULT_TLS_HOST = '0.0.0.0';

const file = { type: 'string', minLength: 1 };

/** The `sources:` block of `type: envoy-als` (the registry validates it before create). */
export const envoyAlsSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', description: 'instance name (default: envoy-als:<port>)' },
    host: {
      type: 'string',
      minLength: 1,
      description: `address the gRPC server binds when \`tls\` is set (default ${DEFAULT_TLS_HOST}); without \`tls\` it binds 127.0.0.1 whatever this says`,
    },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: DEFAULT_PORT, description: 'gRPC port Envoy\'s http_grpc access logger connects to (0: any free port)' },
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['cert', 'key'],
      properties: {
        cert: file,
        key: file,
        ca: file,
        requireClientCert: { type: 'boolean', default: false },
      },
      description: 'TLS for the gRPC server: {cert, key} PEM file paths (relative to the working directory); with `ca` and `requireClientCert: true` Envoy must present a client certificate signed by that CA',
    },
  },
};
