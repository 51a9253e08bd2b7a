import { formatHourKey } from "@compacter/core";
import { DRIFT_ADDED_FIELDS, DRIFT_RENAME, FIRMWARE, type FirmwareVersion } from "./fields.js";
import type { Knobs, ResolvedOptions } from "./options.js";
import { type FileKind, type Phase, partitionOf, type SimulatedDevice, type SimulationPlan } from "./plan.js";
import type { HeartbeatUnit } from "./rowGenerator.js";

/**
 * What one upload (object version) held. Row counts describe the NDJSON inside, before
 * any gzip fault; `validRows` is what must reach the lake from it: 0 unless `kind` is ok.
 */
export interface UploadSummary {
  readonly version: number;
  readonly phase: Phase;
  readonly kind: FileKind;
  readonly rowsWritten: number;
  /** Lines that parse as JSON objects, when the object is readable at all. */
  readonly validRows: number;
  readonly badLines: number;
  /** Bad lines that end right after a `:`. */
  readonly badLinesAfterColon: number;
  /** Valid rows with a string in one numeric field: that value must become NULL. */
  readonly strayStrings: number;
  readonly strayFields: Readonly<Record<string, number>>;
  /** Over the valid rows, as written (seconds or milliseconds, see the file's heartbeatUnit). */
  readonly heartbeatMin: number | null;
  readonly heartbeatMax: number | null;
  readonly bytesGz: number;
  readonly eTag?: string;
  /** How a faulty object was broken ("trailer missing", "CRC-32 wrong", …). */
  readonly fault?: string;
}

/** One key. The top-level counts are the final version's: what the lake must hold for it. */
export interface FileSummary {
  readonly key: string;
  readonly district: string;
  readonly deviceId: string;
  readonly unitno: string;
  /** YYYYMMDDHH in keyTimeZone. */
  readonly hour: string;
  readonly hourStartMs: number;
  /** "hiveperiod=YYYY-MM-DD/district=…" */
  readonly partition: string;
  readonly firmware: FirmwareVersion;
  readonly drifted: boolean;
  readonly heartbeatUnit: HeartbeatUnit;
  readonly oddKey: boolean;
  readonly late: boolean;
  readonly reuploaded: boolean;
  readonly kind: FileKind;
  readonly rowsWritten: number;
  readonly validRows: number;
  readonly badLines: number;
  readonly strayStrings: number;
  readonly bytesGz: number;
  readonly heartbeatMin: number | null;
  readonly heartbeatMax: number | null;
  /** Every upload of the key in order (two when re-uploaded). */
  readonly versions: readonly UploadSummary[];
}

/**
 * Per knob, what it hit. Row and line counts are over readable uploads (kind ok), all
 * versions: exactly what a reader of every object version finds.
 */
export interface KnobCounts {
  readonly drift: {
    readonly fraction: number;
    readonly devices: number;
    readonly files: number;
    readonly renamed: { readonly from: string; readonly to: string };
    readonly added: readonly string[];
  };
  readonly strayStrings: { readonly fraction: number; readonly rows: number };
  readonly badLines: { readonly fraction: number; readonly lines: number; readonly afterColon: number };
  readonly truncatedGzip: { readonly fraction: number; readonly files: number };
  readonly badTrailer: { readonly fraction: number; readonly files: number };
  readonly notJson: { readonly fraction: number; readonly files: number };
  readonly emptyObjects: { readonly fraction: number; readonly files: number };
  readonly late: { readonly fraction: number; readonly files: number; readonly delayMs: number };
  readonly reupload: { readonly fraction: number; readonly files: number };
  readonly msHeartbeat: { readonly fraction: number; readonly devices: number; readonly files: number };
  readonly oddKeys: { readonly fraction: number; readonly devices: number; readonly files: number };
}

/** The final state the lake must converge to, from the final version of every key. */
export interface LakeExpectation {
  /** Rows the lake must hold in total. */
  readonly rows: number;
  /**
   * Rows per `source_file` (raw key), for every key whose final version is readable; 0
   * when every line of it was bad (the lake then holds no row of that key).
   */
  readonly rowsBySourceFile: Readonly<Record<string, number>>;
  /** Rows per partition ("hiveperiod=…/district=…"). */
  readonly rowsByPartition: Readonly<Record<string, number>>;
  /** Keys whose final version can't be read at all: they must end quarantined. */
  readonly unreadable: readonly { readonly key: string; readonly kind: FileKind }[];
  /** Values that must become NULL (stray strings in numeric fields). */
  readonly nulledValues: number;
  /** Lines that must be skipped and counted. */
  readonly badLines: number;
}

export interface SimulationSummary {
  readonly settings: {
    readonly seed: number;
    readonly districts: readonly string[];
    readonly devicesPerDistrict: number;
    readonly hours: number;
    /** YYYYMMDDHH in keyTimeZone. */
    readonly startHour: string;
    readonly startHourMs: number;
    readonly rowsPerFile: number;
    readonly gzipLevel: number;
    readonly concurrency: number;
    readonly rawPrefix: string;
    readonly keyTimeZone: string;
    readonly partitionTimeZone: string;
    readonly sink: string;
    readonly knobs: Knobs;
  };
  readonly totals: {
    /** Keys. */
    readonly files: number;
    /** Objects put (re-uploads count twice). */
    readonly uploads: number;
    readonly rowsWritten: number;
    /** Rows the lake must hold in the end (= expected.rows). */
    readonly validRows: number;
    readonly bytesGz: number;
    readonly seconds: number;
    /** rowsWritten per second of work (the late-upload pause excluded). */
    readonly rowsPerSecond: number;
  };
  readonly knobs: KnobCounts;
  readonly expected: LakeExpectation;
  readonly devices: readonly Omit<SimulatedDevice, "counters" | "index">[];
  readonly files: readonly FileSummary[];
}

export function summarise(
  plan: SimulationPlan,
  results: ReadonlyMap<string, readonly UploadSummary[]>,
  timing: { readonly seconds: number; readonly workSeconds: number; readonly sink: string },
): SimulationSummary {
  const options: ResolvedOptions = plan.options;
  const files: FileSummary[] = plan.files.map((file) => {
    const versions = results.get(file.key) ?? [];
    const final = versions.at(-1);
    return {
      key: file.key,
      district: file.device.district,
      deviceId: file.device.deviceId,
      unitno: file.device.unitno,
      hour: file.hourKey,
      hourStartMs: file.hourStartMs,
      partition: partitionOf(file),
      firmware: file.firmware,
      drifted: file.firmware !== FIRMWARE.base,
      heartbeatUnit: file.device.heartbeatUnit,
      oddKey: file.device.oddKey,
      late: file.late,
      reuploaded: file.reuploaded,
      kind: final?.kind ?? "ok",
      rowsWritten: final?.rowsWritten ?? 0,
      validRows: final?.validRows ?? 0,
      badLines: final?.badLines ?? 0,
      strayStrings: final?.strayStrings ?? 0,
      bytesGz: final?.bytesGz ?? 0,
      heartbeatMin: final?.heartbeatMin ?? null,
      heartbeatMax: final?.heartbeatMax ?? null,
      versions,
    };
  });

  const uploads = files.flatMap((f) => f.versions);
  const readable = uploads.filter((u) => u.kind === "ok");
  const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
  const kindCount = (kind: FileKind) => uploads.filter((u) => u.kind === kind).length;
  const knobs = options.knobs;

  const rowsBySourceFile: Record<string, number> = {};
  const rowsByPartition: Record<string, number> = {};
  const unreadable: { key: string; kind: FileKind }[] = [];
  for (const file of files) {
    if (file.kind !== "ok") {
      unreadable.push({ key: file.key, kind: file.kind });
      continue;
    }
    rowsBySourceFile[file.key] = file.validRows;
    rowsByPartition[file.partition] = (rowsByPartition[file.partition] ?? 0) + file.validRows;
  }
  const finalReadable = files.filter((f) => f.kind === "ok");
  const expected: LakeExpectation = {
    rows: sum(finalReadable.map((x) => x.validRows)),
    rowsBySourceFile,
    rowsByPartition,
    unreadable,
    nulledValues: sum(finalReadable.map((x) => x.strayStrings)),
    badLines: sum(finalReadable.map((x) => x.badLines)),
  };
  const rowsWritten = sum(uploads.map((x) => x.rowsWritten));

  return {
    settings: {
      seed: options.seed,
      districts: options.districts,
      devicesPerDistrict: options.devicesPerDistrict,
      hours: options.hours,
      startHour: formatHourKey(options.startHourMs, options.layout.keyTimeZone),
      startHourMs: options.startHourMs,
      rowsPerFile: options.rowsPerFile,
      gzipLevel: options.gzipLevel,
      concurrency: options.concurrency,
      rawPrefix: options.layout.rawPrefix,
      keyTimeZone: options.layout.keyTimeZone.text,
      partitionTimeZone: options.layout.partitionTimeZone.text,
      sink: timing.sink,
      knobs,
    },
    totals: {
      files: files.length,
      uploads: uploads.length,
      rowsWritten,
      validRows: expected.rows,
      bytesGz: sum(uploads.map((x) => x.bytesGz)),
      seconds: round3(timing.seconds),
      rowsPerSecond: timing.workSeconds > 0 ? Math.round(rowsWritten / timing.workSeconds) : 0,
    },
    knobs: {
      drift: {
        fraction: knobs.drift,
        devices: plan.devices.filter((d) => d.driftFromHour !== null).length,
        files: files.filter((f) => f.drifted).length,
        renamed: { ...DRIFT_RENAME },
        added: DRIFT_ADDED_FIELDS,
      },
      strayStrings: { fraction: knobs.strayStrings, rows: sum(readable.map((x) => x.strayStrings)) },
      badLines: {
        fraction: knobs.badLines,
        lines: sum(readable.map((x) => x.badLines)),
        afterColon: sum(readable.map((x) => x.badLinesAfterColon)),
      },
      truncatedGzip: { fraction: knobs.truncatedGzip, files: kindCount("truncated-gzip") },
      badTrailer: { fraction: knobs.badTrailer, files: kindCount("bad-trailer") },
      notJson: { fraction: knobs.notJson, files: kindCount("not-json") },
      emptyObjects: { fraction: knobs.emptyObjects, files: kindCount("empty") },
      late: { fraction: knobs.late, files: files.filter((f) => f.late).length, delayMs: options.lateDelayMs },
      reupload: { fraction: knobs.reupload, files: files.filter((f) => f.reuploaded).length },
      msHeartbeat: {
        fraction: knobs.msHeartbeat,
        devices: plan.devices.filter((d) => d.heartbeatUnit === "ms").length,
        files: files.filter((f) => f.heartbeatUnit === "ms").length,
      },
      oddKeys: {
        fraction: knobs.oddKeys,
        devices: plan.devices.filter((d) => d.oddKey).length,
        files: files.filter((f) => f.oddKey).length,
      },
    },
    expected,
    devices: plan.devices.map(({ counters: _counters, index: _index, ...device }) => device),
    files,
  };
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
