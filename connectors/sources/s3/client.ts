import { S3Client } from '@aws-sdk/client-s3';

export interface ClientSettings {
  region?: string;
  endpoint?: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/**
 * An S3 client. Without explicit keys the SDK's default chain finds credentials (environment,
 * shared profile, web identity, container and instance metadata). Checksums only where the API
 * requires them: the source only lists and reads, and S3-compatible servers handle SDK v3's
 * default CRC32 trailers unevenly.
 */
export function s3Client(settings: ClientSettings): S3Client {
  const regionFromEnv = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  return new S3Client({
    region: settings.region ?? regionFromEnv ?? 'us-east-1',
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    ...(settings.accessKeyId && settings.secretAccessKey
      ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } }
      : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** What went wrong talking to S3, for one log line and /readyz: the SDK's error code, the HTTP status, and a hint. */
export interface S3Failure {
  code: string;
  status?: number;
  message: string;
}

export function describeS3Error(err: unknown): S3Failure {
  const e = err as Error & { Code?: string; code?: string; $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> }; cause?: { code?: string } };
  const status = e.$metadata?.httpStatusCode;
  // Network failures carry a Node error code (ECONNREFUSED, ENOTFOUND), sometimes on the cause.
  const code = e.Code ?? (e.name && e.name !== 'Error' && e.name !== 'TypeError' ? e.name : undefined) ?? e.code ?? e.cause?.code ?? 'Error';
  const region = e.$response?.headers?.['x-amz-bucket-region'];
  const hint = HINTS[code] ?? (region ? `the bucket is in region ${region}; set \`region: ${region}\`` : undefined);
  const message = `${e.message || code}${hint ? ` (${hint})` : ''}`;
  return { code, ...(status !== undefined ? { status } : {}), message };
}

const HINTS: Record<string, string> = {
  NoSuchBucket: 'check `bucket`',
  AccessDenied: 'the credentials lack s3:ListBucket or s3:GetObject on the bucket',
  InvalidAccessKeyId: 'the access key is unknown: check the credentials',
  SignatureDoesNotMatch: 'the secret key does not match the access key',
  PermanentRedirect: 'the bucket is in another region: check `region`',
  AuthorizationHeaderMalformed: 'the bucket is in another region: check `region`',
  ECONNREFUSED: 'nothing listens at `endpoint`',
  ENOTFOUND: 'the host of `endpoint` does not resolve',
  CredentialsProviderError: 'no credentials found: set them in the environment or a profile, or `accessKeyId`/`secretAccessKey` through ${ENV}',
};
