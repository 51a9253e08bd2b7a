import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { ColumnSpec, EngineJob, LakeInput, RawInput } from "@compacter/core";
import { DuckDBInstance, LIST, listValue, VARCHAR } from "@duckdb/node-api";

/** A scratch directory per test file: raw inputs, outputs and the engine's temp dir. */
export class Workspace {
  readonly root = mkdtempSync(join(tmpdir(), "compacter-engine-test-"));
  private outputs = 0;

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** A fresh, empty output directory. */
  outputDir(): string {
    const dir = this.path(`out-${++this.outputs}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Writes gzip'd NDJSON; `lines` are joined with "\n" and end with one. */
  rawFile(name: string, lines: readonly string[], gzipLevel = 6): string {
    const path = this.path("raw", name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, gzipSync(`${lines.join("\n")}\n`, { level: gzipLevel }));
    return path;
  }

  /** Writes bytes as they are (for corrupt inputs). */
  bytesFile(name: string, bytes: Uint8Array | string): string {
    const path = this.path("raw", name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, bytes);
    return path;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** One telemetry row as a JSON line; `overrides` replace or add fields (undefined removes one). */
export function line(device: string, heartbeat: unknown, overrides: Record<string, unknown> = {}): string {
  const row: Record<string, unknown> = {
    heartbeat,
    unitno: device,
    speed: 40.5,
    rpm: 1500,
    status: "OK",
    ok: true,
    ...overrides,
  };
  for (const [k, v] of Object.entries(row)) if (v === undefined) delete row[k];
  return JSON.stringify(row);
}

/** `count` consecutive seconds of one device, starting at `start` (epoch seconds). */
export function hourOfLines(device: string, start: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    line(device, start + i, { speed: Math.round((40 + Math.sin(i / 10) * 5) * 100) / 100, rpm: 1000 + i }),
  );
}

export const BASE_SCHEMA: readonly ColumnSpec[] = [
  { name: "heartbeat", type: "INTEGER" },
  { name: "unitno", type: "VARCHAR" },
  { name: "speed", type: "DOUBLE" },
  { name: "rpm", type: "INTEGER" },
  { name: "status", type: "VARCHAR" },
  { name: "ok", type: "BOOLEAN" },
];

export function rawInput(localPath: string, deviceId: string, hour = "2025121201"): RawInput {
  return {
    key: `BRCB/${deviceId}/${hour}/${hour}.txt.gz`,
    eTag: `etag-${deviceId}-${hour}`,
    deviceId,
    localPath,
  };
}

export function job(ws: Workspace, overrides: Partial<EngineJob> = {}): EngineJob {
  return {
    partition: { day: "2025-12-12", district: "BRCB" },
    raw: [],
    lake: [] as LakeInput[],
    dropSources: [],
    schema: BASE_SCHEMA,
    sort: true,
    outputDir: ws.outputDir(),
    maxFileBytes: 512 * 2 ** 20,
    limits: { memoryLimitBytes: 1024 * 2 ** 20, threads: 2, tempDir: ws.path("tmp"), zstdLevel: 3 },
    ...overrides,
  };
}

/** Runs a query over Parquet files with a separate DuckDB (what a lake reader would see). */
export async function queryParquet(
  files: readonly string[],
  sql: string,
): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
  try {
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(
        sql.replaceAll("{files}", "read_parquet($files, union_by_name = true)"),
        { files: listValue([...files]) },
        { files: LIST(VARCHAR) },
      );
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/**
 * Devices × hours of raw files of `rows` lines each (devices `<prefix>000`…), handed to
 * the engine newest hour and last device first, so nothing is in order by accident.
 */
export function fleet(ws: Workspace, devices: number, hours: number, rows: number, prefix = "F"): RawInput[] {
  const start = 1765472400;
  const inputs: RawInput[] = [];
  for (let h = hours - 1; h >= 0; h--) {
    for (let d = devices - 1; d >= 0; d--) {
      const device = `${prefix}${String(d).padStart(3, "0")}`;
      const hour = `20251212${String(h + 1).padStart(2, "0")}`;
      const path = ws.rawFile(`${device}-${hour}.txt.gz`, hourOfLines(device, start + h * 3600, rows));
      inputs.push(rawInput(path, device, hour));
    }
  }
  return inputs;
}
