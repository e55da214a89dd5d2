import { Default, FilePath, Type, type Settings } from '../../../src/sdk/index.js';

/** Bound when TLS is configured and `host` is not. */
export const DEFAULT_TLS_HOST = '0.0.0.0';

const EnvoyAlsTls = Type.Object({
  cert: FilePath(),
  key: FilePath(),
  ca: Type.Optional(FilePath()),
  requireClientCert: Default(Type.Boolean(), false),
}, {
  additionalProperties: false,
  description: 'TLS for the gRPC server: {cert, key} PEM file paths (relative to reflex.yaml); with `ca` and `requireClientCert: true` Envoy must present a client certificate signed by that CA',
});

/** The `sources:` block of `type: envoy-als` besides `name` (the host validates it before create). */
export const EnvoyAlsConfig = Type.Object({
  host: Type.Optional(Type.String({
    minLength: 1,
    description: `address the gRPC server binds when \`tls\` is set (default ${DEFAULT_TLS_HOST}); without \`tls\` it binds 127.0.0.1 whatever this says`,
  })),
  port: Default(Type.Integer({ minimum: 0, maximum: 65535, description: 'gRPC port Envoy\'s http_grpc access logger connects to (0: any free port)' }), 9001),
  tls: Type.Optional(EnvoyAlsTls),
}, { additionalProperties: false });
export type EnvoyAlsConfig = Settings<typeof EnvoyAlsConfig>;
