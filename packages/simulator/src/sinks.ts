import { mkdir, writeFile } from "node:fs/promises";
import { dirname, relative, resolve, sep } from "node:path";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { CompacterError } from "@compacter/core";

/** Where simulated objects go. `put` of the same key again replaces the object, like S3. */
export interface ObjectSink {
  /** "s3://bucket" or "dir:/path", for messages and the summary. */
  readonly description: string;
  put(key: string, body: Uint8Array, signal?: AbortSignal): Promise<{ readonly eTag?: string }>;
}

/** A key that cannot be written where the sink writes (e.g. `../` escaping the directory). */
export class SinkKeyError extends CompacterError {}

/**
 * Uploads through the S3 API with PutObject, so whatever watches the bucket (S3 event
 * notifications, the local stack's bridge) sees each object arrive.
 */
export function s3Sink(client: S3Client, bucket: string): ObjectSink {
  return {
    description: `s3://${bucket}`,
    async put(key, body, signal) {
      const response = await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: "application/gzip" }),
        signal ? { abortSignal: signal } : {},
      );
      return response.ETag ? { eTag: response.ETag } : {};
    },
  };
}

/** Writes each key as a path under `directory`, same layout as the bucket. */
export function directorySink(directory: string): ObjectSink {
  const root = resolve(directory);
  return {
    description: `dir:${root}`,
    async put(key, body) {
      const path = resolve(root, key);
      const inside = relative(root, path);
      if (inside === "" || inside.startsWith(`..${sep}`) || inside === "..") {
        throw new SinkKeyError(`key '${key}' would be written outside ${root}`);
      }
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body);
      return {};
    },
  };
}

/** Keeps every put in memory: the final objects, and every version in put order. */
export interface MemorySink extends ObjectSink {
  readonly objects: Map<string, Buffer>;
  readonly puts: { readonly key: string; readonly body: Buffer }[];
}

export function memorySink(): MemorySink {
  const objects = new Map<string, Buffer>();
  const puts: { key: string; body: Buffer }[] = [];
  return {
    description: "memory",
    objects,
    puts,
    async put(key, body) {
      const copy = Buffer.from(body);
      objects.set(key, copy);
      puts.push({ key, body: copy });
      return {};
    },
  };
}
