import {
  dayWindowClosesAt,
  hourWindowClosesAt,
  loadConfig,
  type PartitionId,
  parseHourKey,
} from "@compacter/core";
import type { Dataset, DatasetFile } from "./dataset.js";
import { DAY, DISTRICT } from "./sizes.js";
import type { DayStep } from "./tasks/types.js";

/** The benchmark's partition over a day: each hour's files and when its window closes. */
export interface Timeline {
  readonly partition: PartitionId;
  /** Hours (YYYYMMDDHH) in order, and each hour's files. */
  readonly hours: readonly {
    readonly hour: string;
    readonly files: readonly DatasetFile[];
    readonly clockMs: number;
  }[];
  readonly dayClosesMs: number;
}

export function timelineOf(dataset: Dataset): Timeline {
  const config = loadConfig();
  const byHour = new Map<string, DatasetFile[]>();
  for (const file of dataset.files) byHour.set(file.hour, [...(byHour.get(file.hour) ?? []), file]);
  const hours = [...byHour.keys()].sort().map((hour) => {
    const start = parseHourKey(hour, config.keyTimeZone);
    if (start === undefined) throw new Error(`bad hour ${hour}`);
    return { hour, files: byHour.get(hour) ?? [], clockMs: hourWindowClosesAt(start, config) + 1000 };
  });
  return {
    partition: { day: DAY, district: DISTRICT },
    hours,
    dayClosesMs: dayWindowClosesAt(DAY, config.partitionTimeZone, config),
  };
}

/** Steps of a service day: each hour appends once its window closes; the day merges at its close. */
export function serviceDaySteps(timeline: Timeline, notifications: ReadonlyMap<string, string>): DayStep[] {
  const steps: DayStep[] = timeline.hours.map((h) => ({
    label: `hour ${h.hour.slice(8)}`,
    clockMs: h.clockMs,
    notifications: h.files.map((f) => notifications.get(f.key) ?? ""),
  }));
  const lastClock = timeline.hours.at(-1)?.clockMs ?? 0;
  if (lastClock <= timeline.dayClosesMs) {
    steps.push({ label: "day close", clockMs: timeline.dayClosesMs + 1000, notifications: [] });
  }
  return steps;
}
