// The S3 vault's config table and the defaults derived from it. This file
// must not import the AWS SDK: the factory uses it to describe an S3 vault
// (name, location) without loading the SDK.

/**
 * An S3 vault as written in bt.toml. Credentials never live here: they come
 * from the AWS default chain (environment, shared config/credentials files
 * with `profile`, container or instance roles).
 */
export interface S3VaultSpec {
  type: 's3';
  name: string;
  content_bucket: string;
  /** Prefix of every content key; default ''. A trailing '/' is added when missing. */
  content_bucket_prefix?: string;
  /** SSE-KMS key id for content objects (ServerSideEncryption aws:kms). */
  content_bucket_key?: string;
  /** Default: content_bucket. */
  metadata_bucket?: string;
  /** Default: the content prefix. */
  metadata_bucket_prefix?: string;
  /** SSE-KMS key id for metadata objects. */
  metadata_bucket_key?: string;
  region?: string;
  /** A non-AWS endpoint (MinIO, Ceph, s3rver...), e.g. http://127.0.0.1:9000. */
  endpoint?: string;
  /** Address buckets as https://endpoint/bucket/key instead of https://bucket.endpoint/key. */
  path_style?: boolean;
  /** Storage class of content objects (metadata and the marker always stay STANDARD). */
  storage_class?: string;
  /** A profile of the shared AWS config/credentials files. */
  profile?: string;
  /** Requests in flight at most (the HTTP agent's maxSockets); default 8. */
  connections?: number;
}

export interface ResolvedS3Spec {
  name: string;
  contentBucket: string;
  contentPrefix: string;
  contentKmsKey?: string;
  metadataBucket: string;
  metadataPrefix: string;
  metadataKmsKey?: string;
  region?: string;
  endpoint?: string;
  pathStyle?: boolean;
  storageClass?: string;
  profile?: string;
  connections: number;
}

export const DEFAULT_S3_CONNECTIONS = 8;

/** A prefix is used as given, with leading slashes dropped and a trailing slash added so keys never run into its last word. */
export function normaliseS3Prefix(p: string | undefined): string {
  if (!p) return '';
  const trimmed = p.replace(/^\/+/, '');
  return trimmed === '' || trimmed.endsWith('/') ? trimmed : trimmed + '/';
}

export function resolveS3Spec(spec: S3VaultSpec): ResolvedS3Spec {
  const contentPrefix = normaliseS3Prefix(spec.content_bucket_prefix);
  const connections = spec.connections ?? DEFAULT_S3_CONNECTIONS;
  return {
    name: spec.name,
    contentBucket: spec.content_bucket,
    contentPrefix,
    contentKmsKey: spec.content_bucket_key || undefined,
    metadataBucket: spec.metadata_bucket || spec.content_bucket,
    metadataPrefix: spec.metadata_bucket_prefix === undefined ? contentPrefix : normaliseS3Prefix(spec.metadata_bucket_prefix),
    metadataKmsKey: spec.metadata_bucket_key || undefined,
    region: spec.region || undefined,
    endpoint: spec.endpoint || undefined,
    pathStyle: spec.path_style,
    storageClass: spec.storage_class || undefined,
    profile: spec.profile || undefined,
    connections: Number.isInteger(connections) && connections >= 1 ? connections : DEFAULT_S3_CONNECTIONS,
  };
}

/** Where the vault is, for messages: s3://bucket/prefix. */
export function s3Location(spec: S3VaultSpec): string {
  return `s3://${spec.content_bucket}/${normaliseS3Prefix(spec.content_bucket_prefix)}`;
}
