/**
 * The snapshot store in an S3-compatible bucket, with AWS's own client. Loaded only when a
 * runner first uses an S3 store (see store-access.ts): the client stays out of the runner's
 * main module. Keys live under the store's prefix; the secret stays inside the client.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { SnapshotStoreAccess } from '@keel/contract/snapshots';
import { assertStoreKey, type SnapshotStore, SnapshotStoreError, type StoredObject } from './store.ts';

type S3Access = Extract<SnapshotStoreAccess, { kind: 's3' }>;

export class S3Store implements SnapshotStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(access: S3Access, opts: { timeoutMs?: number } = {}) {
    this.client = new S3Client({
      endpoint: access.endpoint,
      region: access.region,
      forcePathStyle: access.forcePathStyle,
      credentials: { accessKeyId: access.accessKeyId, secretAccessKey: access.secretAccessKey },
      maxAttempts: 3,
      // Stores other than AWS's rarely speak the newer checksums; ask for them only when needed.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { requestTimeout: opts.timeoutMs ?? 60_000, connectionTimeout: 10_000 },
    });
    this.bucket = access.bucket;
    this.prefix = access.prefix;
  }

  private key(key: string): string {
    assertStoreKey(key);
    return `${this.prefix}${key}`;
  }

  async has(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw storeError('look up', key, err);
    }
  }

  async get(key: string, maxBytes: number): Promise<Buffer | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      if (res.ContentLength !== undefined && res.ContentLength > maxBytes) {
        res.Body?.transformToWebStream()
          .cancel()
          .catch(() => {});
        throw new SnapshotStoreError(`${key} is larger than ${maxBytes} bytes`);
      }
      const bytes = await res.Body?.transformToByteArray();
      if (!bytes) return Buffer.alloc(0);
      if (bytes.byteLength > maxBytes)
        throw new SnapshotStoreError(`${key} is larger than ${maxBytes} bytes`);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (err instanceof SnapshotStoreError) throw err;
      throw storeError('read', key, err);
    }
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key(key),
          Body: data,
          ContentLength: data.byteLength,
        }),
      );
    } catch (err) {
      throw storeError('write', key, err);
    }
  }

  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((k) => ({ Key: this.key(k) }));
      try {
        const res = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch, Quiet: true } }),
        );
        const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (failed.length > 0) {
          throw new SnapshotStoreError(
            `the store refused to delete ${failed.length} object(s): ${failed[0]?.Code}`,
          );
        }
      } catch (err) {
        if (err instanceof SnapshotStoreError) throw err;
        throw storeError('delete', `${batch.length} object(s)`, err);
      }
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    let token: string | undefined;
    do {
      let res: ListObjectsV2CommandOutput;
      try {
        res = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: `${this.prefix}${prefix}`,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (err) {
        throw storeError('list', prefix, err);
      }
      for (const o of res.Contents ?? []) {
        if (!o.Key?.startsWith(this.prefix)) continue;
        yield { key: o.Key.slice(this.prefix.length), modifiedMs: o.LastModified?.getTime() ?? 0 };
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  close(): void {
    this.client.destroy();
  }
}

function isNotFound(err: unknown): boolean {
  if (!(err instanceof S3ServiceException)) return false;
  return err.$metadata.httpStatusCode === 404 || err.name === 'NotFound' || err.name === 'NoSuchKey';
}

/** The store's own words (its code and status), never the request: that carries the key id. */
function storeError(what: string, key: string, err: unknown): SnapshotStoreError {
  if (err instanceof S3ServiceException) {
    return new SnapshotStoreError(
      `the snapshot store could not ${what} ${key}: ${err.name} (${err.$metadata.httpStatusCode ?? 'no status'})`,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new SnapshotStoreError(`the snapshot store could not ${what} ${key}: ${message.slice(0, 200)}`);
}
