import type { Knobs } from "@compacter/simulator";

/**
 * The benchmark's data sets. Every size is one district-day partition (the unit the
 * service compacts), so each throughput figure is one compaction of one partition.
 */
export const SIZE_NAMES = ["small", "default", "large"] as const;
export type SizeName = (typeof SIZE_NAMES)[number];

export interface BenchSize {
  readonly name: SizeName;
  readonly devices: number;
  /** Consecutive hours from `startHour` (all in one day of the partition time zone). */
  readonly hours: number;
  /** YYYYMMDDHH in the key time zone (+08:00). */
  readonly startHour: string;
  readonly rowsPerFile: number;
  /**
   * Dirt the seed's query survives: firmware drift (new and renamed fields) and stray
   * strings in numeric fields. Truncated lines or broken gzip would abort the seed's
   * single query outright (it has no error handling); our handling of those is proven by
   * the correctness tests, not measured here.
   */
  readonly knobs: Partial<Knobs>;
  /** Runs per side-by-side measurement unless `--runs` says otherwise. */
  readonly runs: number;
  /** The seed's query infers the schema of every file in memory (~12 MB per file): skipped above this. */
  readonly seedMaxFiles: number;
}

export const DISTRICT = "BRCB";
export const DAY = "2025-12-12";

export const SIZES: Readonly<Record<SizeName, BenchSize>> = {
  small: {
    name: "small",
    devices: 8,
    hours: 2,
    startHour: "2025121208",
    rowsPerFile: 3600,
    knobs: { drift: 0.2, strayStrings: 0.001 },
    runs: 1,
    seedMaxFiles: 2000,
  },
  default: {
    name: "default",
    devices: 200,
    hours: 4,
    startHour: "2025121208",
    rowsPerFile: 3600,
    knobs: { drift: 0.1, strayStrings: 0.0005 },
    runs: 3,
    seedMaxFiles: 2000,
  },
  large: {
    name: "large",
    devices: 300,
    hours: 24,
    startHour: "2025121200",
    rowsPerFile: 3600,
    knobs: { drift: 0.1, strayStrings: 0.0005 },
    runs: 1,
    seedMaxFiles: 2000,
  },
};
