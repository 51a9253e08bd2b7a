import {
  formatHourKey,
  formatRawKey,
  HOUR_MS,
  isoDay,
  type PartitionId,
  partitionLabel,
  wallClock,
} from "@compacter/core";
import { FIRMWARE, type FirmwareVersion } from "./fields.js";
import type { DeviceCounters } from "./haulTruck.js";
import { FILE_FAULT_KNOBS, type ResolvedOptions } from "./options.js";
import { chooseIndices, countForFraction, hashParts, Random } from "./random.js";
import type { HeartbeatUnit, RowsRecipe } from "./rowGenerator.js";

/** What a file's bytes are, as the lake's reader will find them. */
export const FILE_KINDS = ["ok", "truncated-gzip", "bad-trailer", "not-json", "empty"] as const;
export type FileKind = (typeof FILE_KINDS)[number];

/**
 * Upload order. Every upload of a phase completes before the next phase starts, so a late
 * file arrives after all on-time files and a re-upload after its key's first upload.
 */
export const PHASES = ["on-time", "late", "reupload"] as const;
export type Phase = (typeof PHASES)[number];

export interface SimulatedDevice {
  readonly district: string;
  /** Index inside its district, from 0. */
  readonly index: number;
  readonly deviceId: string;
  readonly unitno: string;
  readonly oddKey: boolean;
  readonly heartbeatUnit: HeartbeatUnit;
  /** Added to every heartbeat of a millisecond device (0 for seconds). */
  readonly heartbeatPhaseMs: number;
  /** First hour (YYYYMMDDHH, keyTimeZone) written with the drifted firmware, or null. */
  readonly driftFromHour: string | null;
  readonly counters: DeviceCounters;
}

export interface PlannedUpload {
  readonly key: string;
  /** 1 for the first upload of a key, 2 for its re-upload. */
  readonly version: number;
  readonly phase: Phase;
  readonly kind: FileKind;
  readonly recipe: RowsRecipe;
}

export interface PlannedFile {
  readonly key: string;
  readonly device: SimulatedDevice;
  readonly hourKey: string;
  readonly hourStartMs: number;
  readonly partition: PartitionId;
  readonly firmware: FirmwareVersion;
  readonly late: boolean;
  readonly reuploaded: boolean;
  /** In upload order; the last one is what the key finally holds. */
  readonly uploads: readonly PlannedUpload[];
}

export interface SimulationPlan {
  readonly options: ResolvedOptions;
  readonly devices: readonly SimulatedDevice[];
  readonly files: readonly PlannedFile[];
  /** Every upload, in order: by phase, then hour, district and device. */
  readonly uploads: readonly PlannedUpload[];
}

/**
 * A device id with every character that breaks naive key handling: a space, non-ASCII
 * letters (multi-byte in UTF-8), `+` (which S3 events use for spaces) and both quotes.
 */
export function oddDeviceId(deviceId: string): string {
  return `${deviceId} Grün+Ω'"`;
}

/** Decides every device, file and upload; cheap and pure, no rows are generated. */
export function planSimulation(options: ResolvedOptions): SimulationPlan {
  const { seed, knobs, hours } = options;
  const devices = planDevices(options);

  const files: PlannedFile[] = [];
  const fileCount = devices.length * hours;
  const pick = (knob: string, fraction: number, count: number) =>
    chooseIndices(count, countForFraction(fraction, count), seed, knob);
  const late = pick("late", knobs.late, fileCount);
  const reupload = pick("reupload", knobs.reupload, fileCount);
  const kinds = fileKinds(options, fileCount);

  // Files are numbered by hour, then district and device: the on-time upload order.
  for (let hour = 0; hour < hours; hour++) {
    const hourStartMs = options.startHourMs + hour * HOUR_MS;
    const hourKey = formatHourKey(hourStartMs, options.layout.keyTimeZone);
    const localHour = wallClock(hourStartMs, options.layout.keyTimeZone).hour;
    const day = isoDay(hourStartMs, options.layout.partitionTimeZone);
    for (const device of devices) {
      const index = files.length;
      const key = formatRawKey(
        { district: device.district, deviceId: device.deviceId, hourStartMs },
        options.layout,
      );
      const drifted = device.driftFromHour !== null && hourKey >= device.driftFromHour;
      const firmware = drifted ? FIRMWARE.drifted : FIRMWARE.base;
      const isLate = late.has(index);
      const isReupload = reupload.has(index);
      const recipe = (version: number, rowCount: number): RowsRecipe => ({
        seed,
        district: device.district,
        deviceIndex: device.index,
        unitno: device.unitno,
        firmware,
        hourStartMs,
        localHour,
        rowsPerFile: options.rowsPerFile,
        rowCount,
        version,
        heartbeatUnit: device.heartbeatUnit,
        heartbeatPhaseMs: device.heartbeatPhaseMs,
        badLineFraction: knobs.badLines,
        strayFraction: knobs.strayStrings,
        counters: device.counters,
      });
      const uploads: PlannedUpload[] = [];
      const firstPhase: Phase = isLate ? "late" : "on-time";
      const kind = kinds.get(index) ?? "ok";
      if (isReupload) {
        // The first upload held part of the hour (the device uploaded early, then again
        // with the whole hour); a fault knob that hits this file hits the first upload.
        const share = 0.3 + new Random("partial", seed, key).float() * 0.4;
        const partialRows = Math.max(1, Math.floor(options.rowsPerFile * share));
        uploads.push({ key, version: 1, phase: firstPhase, kind, recipe: recipe(1, partialRows) });
        uploads.push({
          key,
          version: 2,
          phase: "reupload",
          kind: "ok",
          recipe: recipe(2, options.rowsPerFile),
        });
      } else {
        uploads.push({ key, version: 1, phase: firstPhase, kind, recipe: recipe(1, options.rowsPerFile) });
      }
      files.push({
        key,
        device,
        hourKey,
        hourStartMs,
        partition: { day, district: device.district },
        firmware,
        late: isLate,
        reuploaded: isReupload,
        uploads,
      });
    }
  }
  const uploads = PHASES.flatMap((phase) => files.flatMap((f) => f.uploads.filter((u) => u.phase === phase)));
  return { options, devices, files, uploads };
}

function planDevices(options: ResolvedOptions): SimulatedDevice[] {
  const { seed, knobs, districts, devicesPerDistrict, hours } = options;
  const total = districts.length * devicesPerDistrict;
  const pick = (knob: string, fraction: number) =>
    chooseIndices(total, countForFraction(fraction, total), seed, knob);
  const drift = pick("drift", knobs.drift);
  const milliseconds = pick("ms-heartbeat", knobs.msHeartbeat);
  const odd = pick("odd-keys", knobs.oddKeys);
  const width = Math.max(3, String(devicesPerDistrict).length);
  const devices: SimulatedDevice[] = [];
  districts.forEach((district, d) => {
    for (let index = 0; index < devicesPerDistrict; index++) {
      const n = devices.length;
      const traits = new Random("device", seed, district, index);
      const number = String(index + 1).padStart(width, "0");
      const baseId = `SLS${30 + d}I${number}`;
      // Drift starts after the first hour when there is more than one, so the same device
      // writes both firmware versions and the schema must change under it.
      const driftHour = drift.has(n) ? (hours > 1 ? traits.int(1, hours - 1) : 0) : -1;
      devices.push({
        district,
        index,
        deviceId: odd.has(n) ? oddDeviceId(baseId) : baseId,
        unitno: `HT${d + 1}${number}`,
        oddKey: odd.has(n),
        heartbeatUnit: milliseconds.has(n) ? "ms" : "s",
        heartbeatPhaseMs: milliseconds.has(n) ? traits.int(1, 999) : 0,
        driftFromHour:
          driftHour < 0
            ? null
            : formatHourKey(options.startHourMs + driftHour * HOUR_MS, options.layout.keyTimeZone),
        counters: {
          engineHours: traits.float() * 5000,
          odometerKm: traits.float() * 80_000,
          fuelUsedL: traits.float() * 900_000,
          haulCycles: traits.int(0, 20_000),
          shifts: traits.int(0, 200_000),
          engineStarts: traits.int(100, 3000),
          seq: traits.int(0, 1_000_000),
        },
      });
    }
  });
  return devices;
}

/**
 * One ranking of all files, cut into consecutive slices per fault kind, so a file gets at
 * most one kind.
 */
function fileKinds(options: ResolvedOptions, fileCount: number): Map<number, FileKind> {
  const kindOf: Record<(typeof FILE_FAULT_KNOBS)[number], FileKind> = {
    emptyObjects: "empty",
    notJson: "not-json",
    truncatedGzip: "truncated-gzip",
    badTrailer: "bad-trailer",
  };
  const ranked = Array.from({ length: fileCount }, (_, i) => i).sort(
    (a, b) => hashParts(options.seed, "file-kind", a) - hashParts(options.seed, "file-kind", b) || a - b,
  );
  const kinds = new Map<number, FileKind>();
  let next = 0;
  for (const knob of FILE_FAULT_KNOBS) {
    const take = countForFraction(options.knobs[knob], fileCount);
    for (const index of ranked.slice(next, next + take)) kinds.set(index, kindOf[knob]);
    next += take;
  }
  return kinds;
}

/** "hiveperiod=2025-12-12/district=BRCB" */
export function partitionOf(file: PlannedFile): string {
  return partitionLabel(file.partition);
}
