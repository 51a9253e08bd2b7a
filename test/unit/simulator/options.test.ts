import { ConfigError, HOUR_MS } from "@compacter/core";
import {
  parseStartHour,
  planSimulation,
  resolveOptions,
  type SimulationOptions,
  SimulationOptionsError,
} from "@compacter/simulator";
import { describe, expect, it } from "vitest";
import { LAYOUT, START_MS } from "./support.js";

const resolve = (options: Partial<SimulationOptions>) => resolveOptions({ layout: LAYOUT, ...options });

describe("simulation options", () => {
  it("defaults to 10 devices × BRCB, KDCB × the last 2 closed hours, 3600 rows, gzip 6, seed 1", () => {
    // 2025-12-12 09:41 at +08:00: the last two closed hours are 07:00 and 08:00.
    const now = Date.UTC(2025, 11, 12, 1, 41);
    const options = resolve({ nowMs: now });
    expect(options).toMatchObject({
      seed: 1,
      districts: ["BRCB", "KDCB"],
      devicesPerDistrict: 10,
      hours: 2,
      rowsPerFile: 3600,
      gzipLevel: 6,
      startHourMs: Date.UTC(2025, 11, 11, 23),
    });
    const plan = planSimulation(options);
    expect(plan.files).toHaveLength(40);
    expect(plan.files.map((f) => f.hourKey)).toContain("2025121208");
    expect(plan.files.map((f) => f.hourKey)).not.toContain("2025121209");
    expect(Object.values(options.knobs).every((v) => v === 0)).toBe(true);
  });

  it("parses --start in the key time zone", () => {
    expect(parseStartHour("2025121200", LAYOUT.keyTimeZone)).toBe(START_MS);
    expect(() => parseStartHour("2025-12-12", LAYOUT.keyTimeZone)).toThrow(SimulationOptionsError);
    expect(() => parseStartHour("2025023100", LAYOUT.keyTimeZone)).toThrow(/YYYYMMDDHH/);
  });

  it.each([
    [{ knobs: { late: 1.5 } }, /late must be a fraction/],
    [{ knobs: { badLines: -0.1 } }, /badLines must be a fraction/],
    [{ knobs: { emptyObjects: 0.6, notJson: 0.5 } }, /keep the sum ≤ 1/],
    [{ rowsPerFile: 3601 }, /rows-per-file/],
    [{ devicesPerDistrict: 0 }, /devices/],
    [{ gzipLevel: 0 }, /gzip-level/],
    [{ districts: ["BR/CB"] }, /district 'BR\/CB'/],
    [{ districts: [] }, /at least one district/],
    [{ startHourMs: START_MS + 60_000 }, /not the start of an hour/],
  ])("refuses %j", (options, message) => {
    expect(() => resolve(options)).toThrow(message);
    expect(() => resolve(options)).toThrow(ConfigError);
  });

  it("orders uploads by phase, then hour, district and device", () => {
    const plan = planSimulation(resolve({ startHourMs: START_MS, devicesPerDistrict: 2, hours: 2 }));
    expect(plan.uploads.map((u) => u.key)).toEqual([
      "raw/BRCB/SLS30I001/2025121200/2025121200.txt.gz",
      "raw/BRCB/SLS30I002/2025121200/2025121200.txt.gz",
      "raw/KDCB/SLS31I001/2025121200/2025121200.txt.gz",
      "raw/KDCB/SLS31I002/2025121200/2025121200.txt.gz",
      "raw/BRCB/SLS30I001/2025121201/2025121201.txt.gz",
      "raw/BRCB/SLS30I002/2025121201/2025121201.txt.gz",
      "raw/KDCB/SLS31I001/2025121201/2025121201.txt.gz",
      "raw/KDCB/SLS31I002/2025121201/2025121201.txt.gz",
    ]);
    expect(plan.files[4]?.hourStartMs).toBe(START_MS + HOUR_MS);
  });

  it("hits a superset of files when a fraction grows", () => {
    const late = (fraction: number) =>
      planSimulation(resolve({ startHourMs: START_MS, knobs: { late: fraction } }))
        .files.filter((f) => f.late)
        .map((f) => f.key);
    const small = late(0.1);
    const large = late(0.4);
    expect(small).toHaveLength(4);
    expect(large).toHaveLength(16);
    for (const key of small) expect(large).toContain(key);
  });
});
