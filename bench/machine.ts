import { execFileSync } from "node:child_process";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { DuckDBInstance } from "@duckdb/node-api";

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly duckdb: string;
  readonly os: string;
  /** 1, 5 and 15-minute load averages. */
  readonly loadAtStart: readonly number[];
}

export async function describeMachine(): Promise<MachineInfo> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const version = String((await connection.runAndReadAll("SELECT version()")).getRowsJson()[0]?.[0] ?? "?");
  connection.closeSync();
  instance.closeSync();
  let os: string = process.platform;
  try {
    os = execFileSync("uname", ["-sr"], { encoding: "utf8" }).trim();
  } catch {
    // uname is missing on some minimal images; the platform name will do.
  }
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    duckdb: version,
    os,
    loadAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function currentLoad(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}
