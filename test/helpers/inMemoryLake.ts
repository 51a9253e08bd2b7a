/**
 * The other two ports of a compaction, in memory, for unit tests of the commit protocol
 * (the real S3 store and DuckDB engine are covered by the integration tests):
 * - an ObjectStore over a Map (bucket/key → bytes);
 * - an engine whose "Parquet" is JSON `{ source_file: rows }`, so a test can count the
 *   rows of every raw version in the lake — through the manifest's file list or by
 *   listing the bucket, the two views DESIGN.md's guarantees talk about. A raw object is
 *   JSON `{ "rows": n }`; anything else is unreadable (quarantined).
 */
import { constants } from "node:fs";
import { mkdir, open, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  type ByteRange,
  type CompactionEngine,
  type EngineJob,
  type EngineResult,
  InjectedFaultError,
  ObjectNotFoundError,
  type ObjectStore,
  type RawFileOutcome,
  type StoredObject,
} from "@compacter/core";

interface StoredBytes {
  readonly body: string;
  readonly eTag: string;
  readonly lastModified: Date;
}

let eTagCounter = 0;

export class InMemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, StoredBytes>();

  /** Writes an object directly (a raw upload); returns its eTag. */
  put(bucket: string, key: string, body: string): string {
    eTagCounter += 1;
    const eTag = `etag${eTagCounter}`;
    this.objects.set(`${bucket}/${key}`, { body, eTag, lastModified: new Date(0) });
    return eTag;
  }

  read(bucket: string, key: string): string | undefined {
    return this.objects.get(`${bucket}/${key}`)?.body;
  }

  keys(bucket: string, prefix: string): string[] {
    return [...this.objects.keys()]
      .filter((k) => k.startsWith(`${bucket}/${prefix}`))
      .map((k) => k.slice(bucket.length + 1))
      .sort();
  }

  async download(bucket: string, key: string, localPath: string) {
    const object = this.objects.get(`${bucket}/${key}`);
    if (!object) throw new ObjectNotFoundError(bucket, key);
    await mkdir(dirname(localPath), { recursive: true });
    await writeFile(localPath, object.body);
    return { bytes: object.body.length, eTag: object.eTag, lastModified: object.lastModified };
  }

  /** As S3ObjectStore.downloadRanges: a file of `sizeBytes` holding only the ranges asked for. */
  async downloadRanges(
    bucket: string,
    key: string,
    localPath: string,
    sizeBytes: number,
    ranges: readonly ByteRange[],
  ): Promise<void> {
    const object = this.objects.get(`${bucket}/${key}`);
    if (!object) throw new ObjectNotFoundError(bucket, key);
    const bytes = Buffer.from(object.body);
    await mkdir(dirname(localPath), { recursive: true });
    const file = await open(localPath, constants.O_RDWR | constants.O_CREAT);
    try {
      await file.truncate(sizeBytes);
      for (const { start, end } of ranges)
        await file.write(bytes.subarray(start, end), 0, end - start, start);
    } finally {
      await file.close();
    }
  }

  async upload(localPath: string, bucket: string, key: string) {
    const eTag = this.put(bucket, key, await readFile(localPath, "utf8"));
    return { eTag };
  }

  async copy(source: { bucket: string; key: string }, target: { bucket: string; key: string }) {
    const object = this.objects.get(`${source.bucket}/${source.key}`);
    if (!object) throw new ObjectNotFoundError(source.bucket, source.key);
    this.objects.set(`${target.bucket}/${target.key}`, object);
  }

  async exists(bucket: string, key: string) {
    return this.objects.has(`${bucket}/${key}`);
  }

  async deleteMany(bucket: string, keys: readonly string[]) {
    for (const key of keys) this.objects.delete(`${bucket}/${key}`);
  }

  async *list(bucket: string, prefix: string): AsyncIterable<StoredObject> {
    for (const key of this.keys(bucket, prefix)) {
      const object = this.objects.get(`${bucket}/${key}`);
      if (object)
        yield { key, size: object.body.length, eTag: object.eTag, lastModified: object.lastModified };
    }
  }
}

/** Rows per source_file: the engine's whole data model. */
export type SourceRows = Record<string, number>;

export function jsonEngine(): CompactionEngine {
  return {
    async compact(job: EngineJob): Promise<EngineResult> {
      const rows: SourceRows = {};
      let rowsFromLake = 0;
      let rowsDropped = 0;
      for (const lake of job.lake) {
        const content = JSON.parse(await readFile(lake.localPath, "utf8")) as SourceRows;
        for (const [source, n] of Object.entries(content)) {
          rowsFromLake += n;
          if (job.dropSources.includes(source)) rowsDropped += n;
          else rows[source] = (rows[source] ?? 0) + n;
        }
      }
      const files: RawFileOutcome[] = [];
      for (const raw of job.raw) {
        const body = await readFile(raw.localPath, "utf8");
        const parsed = parseRaw(body);
        if (parsed === undefined) {
          files.push({ key: raw.key, eTag: raw.eTag, outcome: "unreadable", error: "not a raw file" });
          continue;
        }
        rows[raw.key] = (rows[raw.key] ?? 0) + parsed;
        files.push({
          key: raw.key,
          eTag: raw.eTag,
          outcome: "read",
          rows: parsed,
          badLines: 0,
          nullHeartbeats: 0,
          absurdHeartbeats: 0,
        });
      }
      const rowsOut = Object.values(rows).reduce((n, r) => n + r, 0);
      const localPath = join(job.outputDir, "out.json");
      const body = JSON.stringify(rows);
      await writeFile(localPath, body);
      return {
        outputs: [{ localPath, rows: rowsOut, bytes: body.length }],
        files,
        schema: [],
        addedColumns: [],
        widenedColumns: [],
        nulledValues: {},
        rowsFromLake,
        rowsDropped,
        rowsOut,
      };
    },
    async close() {},
  };
}

function parseRaw(body: string): number | undefined {
  try {
    const value = JSON.parse(body) as { rows?: unknown };
    return typeof value.rows === "number" ? value.rows : undefined;
  } catch {
    return undefined;
  }
}

/** Sums the rows of JSON lake files per source_file. */
export function sumRows(bodies: readonly (string | undefined)[]): SourceRows {
  const total: SourceRows = {};
  for (const body of bodies) {
    if (body === undefined) throw new Error("a lake file the reader needs is missing");
    for (const [source, n] of Object.entries(JSON.parse(body) as SourceRows)) {
      total[source] = (total[source] ?? 0) + n;
    }
  }
  return total;
}

/**
 * A crash at the `n`-th call of any wrapped method (1-based): the call throws
 * InjectedFaultError before it reaches the store, as a process killed just before that
 * request. `calls` counts what a crash-free run makes, so a test can crash at every one.
 */
export class CrashAtCall {
  calls = 0;
  constructor(private readonly n: number) {}

  wrap<T extends object>(target: T, methods: readonly (keyof T)[]): T {
    return new Proxy(target, {
      get: (obj, property, receiver) => {
        const value = Reflect.get(obj, property, receiver);
        if (typeof value !== "function" || !methods.includes(property as keyof T)) {
          return typeof value === "function" ? value.bind(obj) : value;
        }
        return (...args: unknown[]) => {
          this.calls += 1;
          if (this.calls === this.n) {
            return Promise.reject(new InjectedFaultError(`call ${this.n} (${String(property)})`));
          }
          return value.apply(obj, args);
        };
      },
    });
  }
}
