// Turning what the AWS SDK throws into one line that names the cause. The
// SDK's errors are S3 service exceptions (name = the S3 error code, plus
// $metadata.httpStatusCode), Node system errors (code = ECONNREFUSED...),
// timeouts (name = TimeoutError) and credential-provider errors. This file
// does not import the SDK, so it can be unit-tested with plain objects.

export type S3ErrorKind =
  | 'no-such-bucket'
  | 'no-such-key'
  | 'access-denied'
  | 'invalid-access-key'
  | 'signature-mismatch'
  | 'expired-credentials'
  | 'no-credentials'
  | 'no-region'
  | 'unreachable'
  | 'wrong-region'
  | 'clock-skew'
  | 'archived'
  | 'throttled'
  | 'server-error'
  | 'other';

export interface S3ErrorContext {
  bucket?: string;
  key?: string;
  /** The endpoint requests go to, for "cannot reach" messages. */
  endpoint?: string;
  /** The region configured, for "wrong region" messages. */
  region?: string;
  /** The profile of the shared AWS files in use, if one is configured. */
  profile?: string;
  /** 'bucket' when the request addressed the bucket itself (HeadBucket): a bare 404 then means no such bucket. */
  target?: 'bucket' | 'object';
}

export interface ClassifiedS3Error {
  kind: S3ErrorKind;
  /** One line naming the cause, without the vault name. */
  message: string;
  /** HTTP status when the server answered. */
  status?: number;
}

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  Region?: string;
  Endpoint?: string;
  errors?: unknown[];
  cause?: unknown;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection closed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host down',
  EPROTO: 'TLS/protocol error',
  CERT_HAS_EXPIRED: 'TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed TLS certificate in chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate cannot be verified',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host name',
};

const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottled', 'RequestThrottledException', 'TooManyRequestsException', 'RequestLimitExceeded', 'BandwidthLimitExceeded', 'ProvisionedThroughputExceededException', 'EC2ThrottledException', 'PriorRequestNotComplete']);

/** One line: newlines and runs of spaces collapse, overlong text is cut. */
export function oneLine(text: string, max = 300): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

/** The network error code of err, looking into AggregateError members and causes. */
function networkCode(err: SdkLikeError, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 4) return undefined;
  if (err.code && NETWORK_CODES[err.code]) return err.code;
  for (const e of err.errors ?? []) {
    const c = networkCode(e as SdkLikeError, depth + 1);
    if (c) return c;
  }
  return err.cause ? networkCode(err.cause as SdkLikeError, depth + 1) : undefined;
}

function header(err: SdkLikeError, name: string): string | undefined {
  const h = err.$response?.headers;
  if (!h) return undefined;
  return h[name] ?? h[name.toLowerCase()];
}

export function classifyS3Error(error: unknown, ctx: S3ErrorContext = {}): ClassifiedS3Error {
  const err = (error && typeof error === 'object' ? error : { message: String(error) }) as SdkLikeError;
  const name = err.Code || err.name || '';
  const status = err.$metadata?.httpStatusCode ?? err.$response?.statusCode;
  const rawMessage = oneLine(err.message && err.message !== 'UnknownError' ? err.message : '');
  const bucket = ctx.bucket ? `bucket '${ctx.bucket}'` : 'the bucket';
  const endpoint = ctx.endpoint ?? 'the S3 endpoint';
  const out = (kind: S3ErrorKind, message: string): ClassifiedS3Error => ({ kind, message: oneLine(message, 400), status });

  // No answer from the server.
  const net = networkCode(err);
  if (net) return out('unreachable', `cannot reach ${endpoint} (${NETWORK_CODES[net]})`);
  if (name === 'TimeoutError' || name === 'RequestTimeout' || name === 'RequestTimeoutException' || name === 'AbortError') {
    return out('unreachable', `cannot reach ${endpoint} (request timed out)`);
  }

  // Credentials and region resolved on the client side.
  if (name === 'CredentialsProviderError' || /could not load credentials|could not resolve credentials/i.test(err.message ?? '')) {
    if (ctx.profile) return out('no-credentials', `no usable AWS credentials for profile '${ctx.profile}': check it in ~/.aws/credentials and ~/.aws/config (${rawMessage || name})`);
    return out('no-credentials', `no usable AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile in ~/.aws/credentials, or an instance role (${rawMessage || name})`);
  }
  if (/region is missing/i.test(err.message ?? '')) {
    return out('no-region', `no region is configured: set region for this vault or AWS_REGION`);
  }

  // The server answered with an error.
  switch (name) {
    case 'NoSuchBucket':
      return out('no-such-bucket', `${bucket} does not exist`);
    case 'NoSuchKey':
      return out('no-such-key', `no such object${ctx.key ? ` ${ctx.key}` : ''}`);
    case 'InvalidAccessKeyId':
      return out('invalid-access-key', `invalid access key: the server does not know the access key id (InvalidAccessKeyId); check the credentials`);
    case 'SignatureDoesNotMatch':
      return out('signature-mismatch', `the secret access key does not match the access key id (SignatureDoesNotMatch); check the credentials`);
    case 'ExpiredToken':
    case 'TokenRefreshRequired':
    case 'ExpiredTokenException':
      return out('expired-credentials', `the credentials have expired (${name}): refresh them`);
    case 'InvalidToken':
      return out('expired-credentials', `the session token is not valid (InvalidToken); check the credentials`);
    case 'AccessDenied':
    case 'AllAccessDisabled':
    case 'AccountProblem':
      return out('access-denied', `access denied to ${bucket} (${name}${rawMessage && rawMessage !== 'Access Denied' ? `: ${rawMessage}` : ''}); check the credentials' permissions and the bucket policy`);
    case 'RequestTimeTooSkewed':
      return out('clock-skew', `the system clock differs too much from the server's time (RequestTimeTooSkewed): correct the clock`);
    case 'InvalidObjectState':
      return out('archived', `object${ctx.key ? ` ${ctx.key}` : ''} is in an archive storage class and must be restored first`);
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
    case 'IncorrectEndpoint':
    case 'TemporaryRedirect':
    case 'Redirect':
    case 'MovedPermanently': {
      if (name === 'AuthorizationHeaderMalformed' && !/region/i.test(err.message ?? '') && !err.Region) break;
      return out('wrong-region', wrongRegion(err, ctx, bucket));
    }
  }
  if (THROTTLING.has(name) || status === 429) {
    return out('throttled', `the server kept refusing requests as too many (${name || `HTTP ${status}`}) after retries`);
  }
  if (status === 301 || status === 307) return out('wrong-region', wrongRegion(err, ctx, bucket));
  if (status === 404) {
    if (ctx.target === 'bucket') return out('no-such-bucket', `${bucket} does not exist`);
    return out('no-such-key', `no such object${ctx.key ? ` ${ctx.key}` : ''}`);
  }
  if (status === 403) {
    // A HEAD answer has no body, so a bad key and a missing permission look alike.
    return out('access-denied', `access denied to ${bucket} (HTTP 403${name && !/^(Unknown|Forbidden|403)$/.test(name) ? ` ${name}` : ''}): the credentials are not valid here or lack permission`);
  }
  if (status !== undefined && status >= 500) {
    return out('server-error', `the server failed (HTTP ${status}${name && !/^(Unknown|\d+)$/.test(name) ? ` ${name}` : ''}${rawMessage ? `: ${rawMessage}` : ''}) after retries`);
  }
  const what = name && name !== 'Error' && name !== 'Unknown' ? name : status ? `HTTP ${status}` : 'error';
  return out('other', rawMessage ? `${what}: ${rawMessage}` : what);
}

function wrongRegion(err: SdkLikeError, ctx: S3ErrorContext, bucket: string): string {
  const hint =
    err.Region ??
    header(err, 'x-amz-bucket-region') ??
    /expecting '([a-z0-9-]+)'/.exec(err.message ?? '')?.[1] ??
    (err.Endpoint ? /s3[.-]([a-z0-9-]+)\.amazonaws\.com/.exec(err.Endpoint)?.[1] : undefined);
  const configured = ctx.region ? `, not ${ctx.region}` : '';
  if (hint) return `wrong region: ${bucket} is in ${hint}${configured}; set region = "${hint}" for this vault`;
  return `wrong region: ${bucket} is in another region${configured}${err.Endpoint ? ` (endpoint ${err.Endpoint})` : ''}; set region for this vault`;
}
