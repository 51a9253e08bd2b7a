import type { PartitionState, RawFileRecord, RejectedFileRecord } from "@compacter/core";
import type { StatusReport } from "../commands/status.js";

/**
 * The console's day × district grid: one cell per partition, coloured by the one state
 * an operator acts on, with what is wrong inside it (quarantined and late files) as marks.
 * Pure: the server gathers the manifest's answers, this decides what each cell shows.
 */
export const CELL_STATES = ["failing", "due", "pending", "compacted", "empty"] as const;
export type CellState = (typeof CELL_STATES)[number];

export interface GridCell {
  readonly day: string;
  readonly district: string;
  readonly state: CellState;
  readonly generation: number;
  readonly rows: number;
  readonly bytes: number;
  readonly files: number;
  readonly pending: number;
  readonly late: number;
  readonly quarantined: number;
  readonly nextDueAt?: string;
  readonly lastCompactedAt?: string;
}

export interface GridInput {
  readonly days: readonly string[];
  readonly partitions: readonly PartitionState[];
  /** `compacter status`'s view of due work (pending and late files per partition). */
  readonly due: StatusReport["partitions"];
  readonly quarantined: readonly (RawFileRecord | RejectedFileRecord)[];
  /** Partitions whose compaction keeps failing ("day/district"), from the manifest's failing marks. */
  readonly failing?: ReadonlySet<string>;
}

export interface Grid {
  readonly days: readonly string[];
  readonly districts: readonly string[];
  /** Only partitions the manifest knows; a missing day × district is simply empty. */
  readonly cells: readonly GridCell[];
}

/**
 * The state that decides a cell's colour, worst first: failing (a person may be needed),
 * due (work should be running now), pending (waiting for its window), compacted
 * (everything registered is in the lake), empty (no files and no output).
 */
export function cellState(input: {
  readonly failing: boolean;
  readonly dueNow: boolean;
  readonly pending: number;
  readonly generation: number;
}): CellState {
  if (input.failing) return "failing";
  if (input.dueNow) return "due";
  if (input.pending > 0) return "pending";
  return input.generation > 0 ? "compacted" : "empty";
}

export function buildGrid(input: GridInput): Grid {
  const inRange = new Set(input.days);
  const label = (day: string, district: string) => `${day}/${district}`;
  const states = new Map(input.partitions.map((p) => [label(p.partition.day, p.partition.district), p]));
  const due = new Map(input.due.map((d) => [label(d.day, d.district), d]));
  const quarantined = new Map<string, number>();
  for (const problem of input.quarantined) {
    if (!("partition" in problem)) continue;
    const k = label(problem.partition.day, problem.partition.district);
    quarantined.set(k, (quarantined.get(k) ?? 0) + 1);
  }
  const labels = new Set<string>();
  for (const k of [...states.keys(), ...due.keys(), ...quarantined.keys()]) {
    if (inRange.has(k.slice(0, k.indexOf("/")))) labels.add(k);
  }
  const cells = [...labels].sort().map((k): GridCell => {
    const slash = k.indexOf("/");
    const state = states.get(k);
    const work = due.get(k);
    const generation = state?.generation ?? 0;
    const pending = work?.pending ?? 0;
    return {
      day: k.slice(0, slash),
      district: k.slice(slash + 1),
      state: cellState({
        failing: input.failing?.has(k) ?? false,
        dueNow: work?.dueNow ?? false,
        pending,
        generation,
      }),
      generation,
      rows: state?.rows ?? 0,
      bytes: state?.bytes ?? 0,
      files: state?.files.length ?? 0,
      pending,
      late: work?.late ?? 0,
      quarantined: quarantined.get(k) ?? 0,
      ...(work ? { nextDueAt: work.nextDueAt } : {}),
      ...(state?.lastCompactedAt ? { lastCompactedAt: state.lastCompactedAt } : {}),
    };
  });
  return { days: input.days, districts: [...new Set(cells.map((c) => c.district))].sort(), cells };
}
