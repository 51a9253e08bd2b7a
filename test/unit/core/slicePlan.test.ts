import {
  compareUtf8,
  deviceInputBytes,
  inDeviceRange,
  planSlices,
  type RawFileRecord,
} from "@compacter/core";
import { describe, expect, it } from "vitest";

const partition = { day: "2025-12-12", district: "BRCB" };

function file(deviceId: string, size: number, overrides: Partial<RawFileRecord> = {}): RawFileRecord {
  const key = `BRCB/${deviceId}/2025121201/2025121201.txt.gz`;
  return {
    key,
    partition,
    deviceId,
    hourKey: "2025121201",
    hourStart: "2025-12-11T17:00:00.000Z",
    status: "compacted",
    eTag: `etag-${key}`,
    compactedETag: `etag-${key}`,
    size,
    sequencer: "1",
    arrivedAt: "2025-12-11T18:01:00.000Z",
    late: false,
    versions: 1,
    updatedAt: "2025-12-11T18:01:00.000Z",
    ...overrides,
  };
}

describe("deviceInputBytes", () => {
  it("sums the raw bytes of files whose rows are in the lake or are read now, per device", () => {
    const bytes = deviceInputBytes([
      file("A", 10),
      file("A", 5, { key: "BRCB/A/2025121202/2025121202.txt.gz" }),
      file("B", 7, { status: "pending", compactedETag: undefined }),
      file("C", 100, { status: "quarantined", compactedETag: undefined }),
      file("D", 100, { status: "removed", compactedETag: undefined }),
    ]);
    expect(Object.fromEntries(bytes)).toEqual({ A: 15, B: 7 });
  });
});

describe("planSlices", () => {
  it("keeps a partition within the bound as one unbounded slice", () => {
    const slices = planSlices(
      new Map([
        ["A", 10],
        ["B", 10],
      ]),
      100,
    );
    expect(slices).toEqual([{ index: 0, devices: ["A", "B"], inputBytes: 20 }]);
  });

  it("plans one unbounded slice for a partition with no devices", () => {
    expect(planSlices(new Map(), 100)).toEqual([{ index: 0, devices: [], inputBytes: 0 }]);
  });

  it("cuts devices in order into contiguous, disjoint ranges, each within the bound", () => {
    const devices = new Map(
      Array.from({ length: 10 }, (_, i) => [`DEV${String(9 - i).padStart(2, "0")}`, 30] as const),
    );
    const slices = planSlices(devices, 100);
    expect(slices.every((s) => s.inputBytes <= 100)).toBe(true);
    expect(slices.flatMap((s) => s.devices)).toEqual([...devices.keys()].sort());
    // Even: 300 bytes over ceil(300/100) = 3 slices would need 100 each; with 30-byte
    // devices that is 4 slices of 3, 3, 3, 1 at worst — never more slices than needed + 1.
    expect(slices.length).toBeLessThanOrEqual(4);
    expect(slices[0]?.fromDevice).toBeUndefined();
    expect(slices.at(-1)?.toDevice).toBeUndefined();
    for (const [i, slice] of slices.entries()) {
      if (i > 0) expect(slice.fromDevice).toBe(slices[i - 1]?.toDevice);
      for (const device of slice.devices) expect(inDeviceRange(device, slice)).toBe(true);
      for (const other of slices.filter((o) => o !== slice)) {
        for (const device of other.devices) expect(inDeviceRange(device, slice)).toBe(false);
      }
    }
  });

  it("gives a device larger than the bound a slice of its own, never splitting a device", () => {
    const slices = planSlices(
      new Map([
        ["A", 10],
        ["B", 500],
        ["C", 10],
      ]),
      100,
    );
    expect(slices.map((s) => s.devices)).toEqual([["A"], ["B"], ["C"]]);
  });

  it("evens slices out instead of leaving a sliver at the end", () => {
    const devices = new Map(
      Array.from({ length: 11 }, (_, i) => [`D${String(i).padStart(2, "0")}`, 10] as const),
    );
    const slices = planSlices(devices, 100);
    expect(slices.map((s) => s.inputBytes)).toEqual([60, 50]);
  });

  it("orders devices by UTF-8 bytes, as DuckDB compares them", () => {
    const astral = "\u{1F600}"; // UTF-16 0xD83D… sorts before U+FF21, UTF-8 F0… after it.
    const fullwidth = "\uFF21";
    expect(compareUtf8(astral, fullwidth)).toBe(1);
    expect(compareUtf8("a", "ab")).toBe(-1);
    expect(compareUtf8("ab", "ab")).toBe(0);
    const slices = planSlices(
      new Map([
        [astral, 100],
        [fullwidth, 100],
      ]),
      100,
    );
    expect(slices.map((s) => s.devices)).toEqual([[fullwidth], [astral]]);
    expect(inDeviceRange(astral, slices[1] ?? {})).toBe(true);
  });
});
