import type { PartitionState, RawFileRecord, RejectedFileRecord } from "@compacter/core";
import { describe, expect, it } from "vitest";
import { buildGrid, cellState } from "../../../packages/cli/src/ui/healthGrid.js";

function state(day: string, district: string, generation: number, rows = 10): PartitionState {
  return {
    partition: { day, district },
    generation,
    files: generation > 0 ? [{ key: `k-${day}-${district}`, rows, bytes: 100 }] : [],
    rows,
    bytes: 100,
  };
}

function quarantined(day: string, district: string, key: string): RawFileRecord {
  return { key, partition: { day, district }, status: "quarantined" } as RawFileRecord;
}

const due = (day: string, district: string, pending: number, late: number, dueNow: boolean) => ({
  day,
  district,
  pending,
  late,
  removed: 0,
  nextDueAt: "2025-12-12T00:00:00.000Z",
  dueNow,
  work: "",
});

describe("cellState", () => {
  it("shows the worst thing first: failing, then due, then pending, then compacted", () => {
    expect(cellState({ failing: true, dueNow: true, pending: 3, generation: 2 })).toBe("failing");
    expect(cellState({ failing: false, dueNow: true, pending: 3, generation: 2 })).toBe("due");
    expect(cellState({ failing: false, dueNow: false, pending: 3, generation: 2 })).toBe("pending");
    expect(cellState({ failing: false, dueNow: false, pending: 0, generation: 2 })).toBe("compacted");
    expect(cellState({ failing: false, dueNow: false, pending: 0, generation: 0 })).toBe("empty");
  });
});

describe("buildGrid", () => {
  it("gives each partition in range one cell with its state, quarantined and late counts", () => {
    const grid = buildGrid({
      days: ["2025-12-13", "2025-12-12"],
      partitions: [
        state("2025-12-12", "BRCB", 2, 500),
        state("2025-12-12", "KDCB", 1),
        state("2025-12-13", "BRCB", 0, 0),
        state("2025-12-01", "BRCB", 4),
      ],
      due: [due("2025-12-12", "KDCB", 2, 1, true), due("2025-12-13", "BRCB", 1, 0, false)],
      quarantined: [
        quarantined("2025-12-12", "BRCB", "a"),
        quarantined("2025-12-12", "BRCB", "b"),
        { key: "junk", status: "rejected" } as RejectedFileRecord,
      ],
      failing: new Set(["2025-12-13/KLTA"]),
    });
    expect(grid.districts).toEqual(["BRCB", "KDCB"]);
    expect(
      grid.cells.map((c) => [c.day, c.district, c.state, c.quarantined, c.late, c.pending, c.rows]),
    ).toEqual([
      ["2025-12-12", "BRCB", "compacted", 2, 0, 0, 500],
      ["2025-12-12", "KDCB", "due", 0, 1, 2, 10],
      ["2025-12-13", "BRCB", "pending", 0, 0, 1, 0],
    ]);
  });

  it("has a cell for a partition known only from its due work or its quarantined files", () => {
    const grid = buildGrid({
      days: ["2025-12-12"],
      partitions: [],
      due: [due("2025-12-12", "KDCB", 1, 1, true)],
      quarantined: [quarantined("2025-12-12", "KLTA", "x")],
    });
    expect(grid.cells.map((c) => [c.district, c.state, c.quarantined])).toEqual([
      ["KDCB", "due", 0],
      ["KLTA", "empty", 1],
    ]);
  });

  it("colours a partition failing when it is reported failing (the slot for status's failing partitions)", () => {
    const grid = buildGrid({
      days: ["2025-12-12"],
      partitions: [state("2025-12-12", "BRCB", 3)],
      due: [due("2025-12-12", "BRCB", 1, 0, true)],
      quarantined: [],
      failing: new Set(["2025-12-12/BRCB"]),
    });
    expect(grid.cells[0]?.state).toBe("failing");
  });
});
