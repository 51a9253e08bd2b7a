import { createReadStream, createWriteStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import {
  BucketNotFoundError,
  type ByteRange,
  ObjectNotFoundError,
  type ObjectStore,
  type StoredObject,
} from "@compacter/core";
import { PartialBatchError } from "../errors.js";

/** S3 (or anything that speaks its API) as the core's ObjectStore. */
export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly s3: S3Client,
    /** Parts above this size go multipart. */
    private readonly partSizeBytes = 16 * 2 ** 20,
  ) {}

  async download(
    bucket: string,
    key: string,
    localPath: string,
  ): Promise<{ bytes: number; eTag: string; lastModified: Date }> {
    try {
      const response = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      await pipeline(response.Body as Readable, createWriteStream(localPath));
      return {
        bytes: (await stat(localPath)).size,
        eTag: unquote(response.ETag),
        lastModified: response.LastModified ?? new Date(),
      };
    } catch (error) {
      if (isMissingBucket(error)) throw new BucketNotFoundError(bucket, { cause: error });
      if (isNotFound(error)) throw new ObjectNotFoundError(bucket, key, { cause: error });
      throw error;
    }
  }

  async downloadRanges(
    bucket: string,
    key: string,
    localPath: string,
    sizeBytes: number,
    ranges: readonly ByteRange[],
  ): Promise<void> {
    // r+ keeps what earlier calls wrote (positioned writes need it: a+ would append on Linux).
    const file = await open(localPath, "r+").catch(() => open(localPath, "w+"));
    try {
      if ((await file.stat()).size < sizeBytes) await file.truncate(sizeBytes);
      for (const { start, end } of ranges) {
        if (end <= start) continue;
        const response = await this.s3.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end - 1}` }),
        );
        const body = Buffer.from(
          await (response.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
        );
        if (body.length !== end - start) {
          throw new Error(
            `s3://${bucket}/${key}: asked for bytes ${start}-${end - 1}, got ${body.length} bytes`,
          );
        }
        await file.write(body, 0, body.length, start);
      }
    } catch (error) {
      if (isMissingBucket(error)) throw new BucketNotFoundError(bucket, { cause: error });
      if (isNotFound(error)) throw new ObjectNotFoundError(bucket, key, { cause: error });
      throw error;
    } finally {
      await file.close();
    }
  }

  async upload(localPath: string, bucket: string, key: string): Promise<{ eTag: string }> {
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: bucket, Key: key, Body: createReadStream(localPath) },
      partSize: this.partSizeBytes,
      queueSize: 4,
    });
    const result = await upload.done();
    return { eTag: unquote(result.ETag) };
  }

  async copy(
    source: { bucket: string; key: string },
    target: { bucket: string; key: string },
  ): Promise<void> {
    try {
      await this.s3.send(
        new CopyObjectCommand({
          Bucket: target.bucket,
          Key: target.key,
          // CopySource is "bucket/key" with the key URL-encoded (keys may hold any character).
          CopySource: `${source.bucket}/${encodeURIComponent(source.key).replace(/%2F/g, "/")}`,
        }),
      );
    } catch (error) {
      // Either bucket may be the missing one; the message names both.
      if (isMissingBucket(error))
        throw new BucketNotFoundError(`${source.bucket} or ${target.bucket}`, { cause: error });
      if (isNotFound(error)) throw new ObjectNotFoundError(source.bucket, source.key, { cause: error });
      throw error;
    }
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async deleteMany(bucket: string, keys: readonly string[]): Promise<void> {
    // DeleteObjects takes up to 1000 keys; a missing key counts as deleted.
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const result = await this.s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = (result.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (failed.length > 0) {
        throw new PartialBatchError(
          `could not delete ${failed.length} object(s) from ${bucket}: ${failed
            .slice(0, 3)
            .map((e) => `${e.Key}: ${e.Code} ${e.Message}`)
            .join("; ")}`,
          { callerAtFault: failed.every((e) => e.Code === "AccessDenied") },
        );
      }
    }
  }

  async *list(bucket: string, prefix: string): AsyncIterable<StoredObject> {
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield {
          key: object.Key,
          size: object.Size ?? 0,
          eTag: unquote(object.ETag),
          lastModified: object.LastModified ?? new Date(0),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}

export function unquote(eTag: string | undefined): string {
  return (eTag ?? "").replace(/^"|"$/g, "");
}

/** GET and COPY name a missing bucket; HEAD cannot (no body), so `exists` reads it as a missing object. */
function isMissingBucket(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === "NoSuchBucket";
}

/** A missing object; never a missing bucket, which must not read as "the file was removed". */
function isNotFound(error: unknown): boolean {
  if (isMissingBucket(error)) return false;
  if (error instanceof NoSuchKey || error instanceof NotFound) return true;
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}
