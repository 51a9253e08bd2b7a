import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig, type RawKeyLayout } from "@compacter/core";
import { directorySink, parseStartHour, runSimulation, type SimulationOptions } from "@compacter/simulator";
import { type BenchSize, DISTRICT } from "./sizes.js";

/** One raw file of the data set, as the benchmark needs it. */
export interface DatasetFile {
  readonly key: string;
  readonly deviceId: string;
  readonly unitno: string;
  readonly hour: string;
  readonly rows: number;
  readonly bytesGz: number;
  /** Absolute path of the cached copy. */
  readonly path: string;
}

export interface Dataset {
  readonly size: BenchSize;
  /** Folder holding the raw files under their keys. */
  readonly rawDir: string;
  readonly files: readonly DatasetFile[];
  readonly rows: number;
  readonly bytesGz: number;
  /** Seconds the simulator took; 0 when the data came from the cache. */
  readonly generatedSeconds: number;
  readonly cached: boolean;
  readonly cacheKey: string;
  /** Stray strings the simulator wrote: values our pipeline must turn into counted NULLs. */
  readonly strayStrings: number;
}

const here = dirname(fileURLToPath(import.meta.url));
export const CACHE_ROOT = join(here, ".cache");
const SIMULATOR_SRC = join(here, "..", "packages", "simulator", "src");

/** The key layout of the benchmark: the defaults (+08:00, no prefix). */
export function benchLayout(): RawKeyLayout {
  const config = loadConfig();
  return {
    rawPrefix: config.rawPrefix,
    keyTimeZone: config.keyTimeZone,
    partitionTimeZone: config.partitionTimeZone,
  };
}

/**
 * The size's raw files, generated once and cached under bench/.cache keyed by the
 * simulation's parameters and the simulator's source (a changed generator regenerates).
 */
export async function loadDataset(
  size: BenchSize,
  log: (line: string) => void,
  cacheRoot = CACHE_ROOT,
): Promise<Dataset> {
  const layout = benchLayout();
  const options: SimulationOptions = {
    layout,
    seed: 7,
    districts: [DISTRICT],
    devicesPerDistrict: size.devices,
    hours: size.hours,
    startHourMs: parseStartHour(size.startHour, layout.keyTimeZone),
    rowsPerFile: size.rowsPerFile,
    knobs: size.knobs,
    gzipLevel: 6,
  };
  const cacheKey = await keyOf(options);
  const dir = join(cacheRoot, `${size.name}-${cacheKey}`);
  const rawDir = join(dir, "raw");
  const manifestPath = join(dir, "dataset.json");
  if (existsSync(manifestPath)) {
    const saved = JSON.parse(await readFile(manifestPath, "utf8")) as Omit<Dataset, "size" | "cached">;
    log(`data: ${saved.files.length} cached raw files in ${dir}`);
    return { ...saved, size, rawDir, cached: true, generatedSeconds: 0 };
  }
  log(`data: generating ${size.devices} devices × ${size.hours} h into ${dir} (cached for later runs)`);
  await rm(dir, { recursive: true, force: true });
  const partial = join(dir, "raw.partial");
  await mkdir(partial, { recursive: true });
  const started = performance.now();
  let lastLog = 0;
  const summary = await runSimulation(options, directorySink(partial), {
    onProgress: (p) => {
      if (p.elapsedMs - lastLog < 10_000) return;
      lastLog = p.elapsedMs;
      log(`data: ${p.uploadsDone}/${p.uploadsTotal} files, ${Math.round(p.rowsWritten / 1000)}k rows`);
    },
  });
  const generatedSeconds = (performance.now() - started) / 1000;
  await rename(partial, rawDir);
  const files: DatasetFile[] = summary.files.map((f) => ({
    key: f.key,
    deviceId: f.deviceId,
    unitno: f.unitno,
    hour: f.hour,
    rows: f.validRows,
    bytesGz: f.bytesGz,
    path: join(rawDir, f.key),
  }));
  const dataset = {
    rawDir,
    files,
    rows: summary.expected.rows,
    bytesGz: files.reduce((n, f) => n + f.bytesGz, 0),
    cacheKey,
    strayStrings: summary.expected.nulledValues,
    generatedSeconds,
  };
  await writeFile(manifestPath, JSON.stringify(dataset));
  log(`data: ${files.length} files, ${dataset.rows} rows in ${generatedSeconds.toFixed(0)} s`);
  return { ...dataset, size, cached: false };
}

async function keyOf(options: SimulationOptions): Promise<string> {
  const hash = createHash("sha256").update(JSON.stringify({ ...options, layout: layoutText(options) }));
  for (const name of (await readdir(SIMULATOR_SRC)).sort()) {
    hash.update(name).update(await readFile(join(SIMULATOR_SRC, name)));
  }
  return hash.digest("hex").slice(0, 12);
}

function layoutText(options: SimulationOptions) {
  const { rawPrefix, keyTimeZone, partitionTimeZone } = options.layout;
  return { rawPrefix, keyTimeZone: keyTimeZone.text, partitionTimeZone: partitionTimeZone.text };
}
