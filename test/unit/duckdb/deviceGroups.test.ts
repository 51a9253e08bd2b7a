import { describe, expect, it } from "vitest";
import { deviceGroups } from "../../../packages/duckdb/src/compaction/orderedParts.js";
import type { RawSource } from "../../../packages/duckdb/src/compaction/sourceSql.js";

/** A source of `textBytes` for one device-hour (only what deviceGroups reads is real). */
function source(deviceId: string, hour: number, textBytes: number): RawSource {
  return {
    index: 0,
    key: `${deviceId}/${hour}`,
    deviceId,
    readPath: `/raw/${deviceId}-${hour}.gz`,
    gzip: true,
    scan: { kind: "ok", textBytes } as RawSource["scan"],
  };
}

/** Devices in order, `hours` files each of `bytes(device)` text bytes. */
function fleet(devices: number, hours: number, bytes: (d: number) => number = () => 100): RawSource[] {
  return Array.from({ length: devices }, (_, d) =>
    Array.from({ length: hours }, (_, h) => source(`D${String(d).padStart(3, "0")}`, h, bytes(d))),
  ).flat();
}

describe("deviceGroups", () => {
  it("cuts the read order into contiguous parts of whole devices, in order, nothing lost", () => {
    const order = fleet(10, 3);
    const groups = deviceGroups(order, 4);
    expect(groups.flat()).toEqual(order);
    expect(groups.length).toBeLessThanOrEqual(4);
    const devicesOf = groups.map((g) => new Set(g.map((s) => s.deviceId)));
    for (let i = 1; i < devicesOf.length; i++) {
      for (const device of devicesOf[i]!) expect(devicesOf[i - 1]!.has(device)).toBe(false);
    }
  });

  it("balances the parts by text bytes, not by file count", () => {
    // The first two devices hold as many bytes as the other eight together.
    const order = fleet(10, 2, (d) => (d < 2 ? 400 : 100));
    const groups = deviceGroups(order, 2);
    expect(groups.map((g) => new Set(g.map((s) => s.deviceId)).size)).toEqual([2, 8]);
  });

  it("never makes more parts than devices, and one part of a single device", () => {
    expect(deviceGroups(fleet(3, 2), 8)).toHaveLength(3);
    expect(deviceGroups(fleet(1, 5), 4)).toHaveLength(1);
    expect(deviceGroups([], 4)).toEqual([]);
  });
});
