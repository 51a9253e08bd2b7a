import {
  columnsBehindLedger,
  ledgerTypes,
  narrowColumnsAfter,
  partitionsToRewrite,
  type TypeLedger,
  widenLedger,
} from "@compacter/core";
import { describe, expect, it } from "vitest";

const T1 = "2026-12-01T00:00:00.000Z";
const T2 = "2026-12-02T00:00:00.000Z";

function ledgerWith(
  columns: TypeLedger["columns"],
  districts = ["BRCB"],
  firstDay = "2026-12-01",
): TypeLedger {
  return { version: 3, columns, districts, firstDay, updatedAt: T1 };
}

describe("widenLedger", () => {
  it("starts a ledger from the first compaction: columns, district, first day, version 1", () => {
    const change = widenLedger(
      undefined,
      {
        columns: [
          { name: "speed", type: "INTEGER" },
          { name: "speed__0123456789ab", type: "DOUBLE" },
        ],
        renamedFields: [{ field: "Speed", column: "speed__0123456789ab" }],
        district: "BRCB",
        day: "2026-12-01",
      },
      T1,
    );
    expect(change.changed).toBe(true);
    expect(change.newDistrict).toBe(true);
    expect(change.ledger).toEqual({
      version: 1,
      columns: [
        { name: "speed", type: "INTEGER", firstSeen: T1 },
        { name: "speed__0123456789ab", type: "DOUBLE", firstSeen: T1, field: "Speed" },
      ],
      districts: ["BRCB"],
      firstDay: "2026-12-01",
      updatedAt: T1,
    });
  });

  it("widens INTEGER → BIGINT → DOUBLE, stamping lastWidened and keeping firstSeen", () => {
    let ledger = ledgerWith([{ name: "odo", type: "INTEGER", firstSeen: T1 }]);
    const toBigint = widenLedger(
      ledger,
      { columns: [{ name: "odo", type: "BIGINT" }], district: "BRCB", day: "2026-12-02" },
      T2,
    );
    expect(toBigint.widened).toEqual([{ name: "odo", from: "INTEGER", to: "BIGINT" }]);
    ledger = toBigint.ledger;
    expect(ledger.version).toBe(4);
    const toDouble = widenLedger(
      ledger,
      { columns: [{ name: "odo", type: "DOUBLE" }], district: "BRCB", day: "2026-12-02" },
      T2,
    );
    expect(toDouble.ledger.columns).toEqual([
      { name: "odo", type: "DOUBLE", firstSeen: T1, lastWidened: T2 },
    ]);
  });

  it("never narrows, never drops, never turns a numeric column into text (or back)", () => {
    const ledger = ledgerWith([
      { name: "temp", type: "DOUBLE", firstSeen: T1 },
      { name: "status", type: "VARCHAR", firstSeen: T1 },
      { name: "rpm", type: "BIGINT", firstSeen: T1 },
    ]);
    const change = widenLedger(
      ledger,
      {
        columns: [
          { name: "temp", type: "INTEGER" },
          { name: "status", type: "DOUBLE" },
          { name: "rpm", type: "VARCHAR" },
        ],
        district: "BRCB",
        day: "2026-12-02",
      },
      T2,
    );
    expect(change.changed).toBe(false);
    expect(change.ledger).toBe(ledger);
  });

  it("adds a new district (sorted) and moves the first day back for an older partition", () => {
    const change = widenLedger(ledgerWith([]), { columns: [], district: "ABCD", day: "2026-11-30" }, T2);
    expect(change.newDistrict).toBe(true);
    expect(change.ledger.districts).toEqual(["ABCD", "BRCB"]);
    expect(change.ledger.firstDay).toBe("2026-11-30");
  });

  it("converges whichever order two racing observations are applied in", () => {
    const a = { columns: [{ name: "x", type: "DOUBLE" as const }], district: "A", day: "2026-12-02" };
    const b = {
      columns: [
        { name: "x", type: "BIGINT" as const },
        { name: "y", type: "BOOLEAN" as const },
      ],
      district: "B",
      day: "2026-12-01",
    };
    const ab = widenLedger(widenLedger(undefined, a, T1).ledger, b, T1).ledger;
    const ba = widenLedger(widenLedger(undefined, b, T1).ledger, a, T1).ledger;
    expect(ledgerTypes(ab)).toEqual(ledgerTypes(ba));
    expect(ab.districts).toEqual(ba.districts);
    expect(ab.firstDay).toBe(ba.firstDay);
  });
});

describe("narrow columns and rewrites", () => {
  it("an append keeps the narrowest type of the older files; a merge keeps only the new file's", () => {
    const before = { a: "INTEGER", b: "BIGINT" } as const;
    const written = [
      { name: "a", type: "DOUBLE" as const },
      { name: "b", type: "INTEGER" as const },
      { name: "c", type: "BIGINT" as const },
      { name: "s", type: "VARCHAR" as const },
    ];
    expect(narrowColumnsAfter(before, written, false)).toEqual({ a: "INTEGER", b: "INTEGER", c: "BIGINT" });
    expect(narrowColumnsAfter(before, written, true)).toEqual({ b: "INTEGER", c: "BIGINT" });
  });

  it("a partition is behind only where the ledger is wider than its files", () => {
    const types = new Map([
      ["a", "DOUBLE"],
      ["b", "BIGINT"],
      ["c", "BIGINT"],
    ] as const);
    expect(columnsBehindLedger({ a: "INTEGER", b: "INTEGER", c: "BIGINT" }, types)).toEqual(["a", "b"]);
    expect(columnsBehindLedger({ c: "BIGINT" }, types)).toEqual([]);
    expect(columnsBehindLedger(undefined, types)).toEqual([]);
  });

  it("a partition whose files agree with the ledger is not picked", () => {
    const ledger = ledgerWith([{ name: "x", type: "BIGINT", firstSeen: T1 }]);
    const agreeing = {
      partition: { day: "2026-12-01", district: "A" },
      generation: 3,
      narrowColumns: { x: "BIGINT" as const },
    };
    expect(partitionsToRewrite([agreeing], ledger, 5)).toEqual({ behind: 0, next: [] });
    // Written before the ledger but holding no file: a merge would do nothing, so it is never sent
    // (it would otherwise take a rewrite slot at every sweep).
    const empty = { partition: { day: "2026-12-02", district: "A" }, generation: 2, files: [] };
    expect(partitionsToRewrite([empty], ledger, 5).behind).toBe(0);
    expect(partitionsToRewrite([{ ...empty, files: [{}] }], ledger, 5).behind).toBe(1);
  });

  it("picks partitions behind the ledger newest day first, bounded by the limit", () => {
    const ledger = ledgerWith([{ name: "x", type: "DOUBLE", firstSeen: T1 }]);
    const p = (
      day: string,
      district: string,
      narrow?: Record<string, "INTEGER" | "BIGINT">,
      generation = 2,
    ) => ({
      partition: { day, district },
      generation,
      ...(narrow ? { narrowColumns: narrow } : {}),
    });
    const partitions = [
      p("2026-12-01", "B", { x: "INTEGER" }),
      p("2026-12-03", "B", { x: "BIGINT" }),
      p("2026-12-03", "A", { x: "INTEGER" }),
      p("2026-12-02", "A"),
      p("2026-12-04", "A", { x: "INTEGER" }, 0),
    ];
    const { behind, next } = partitionsToRewrite(partitions, ledger, 2);
    // 2026-12-02/A has no record of its columns: written before the ledger, rewritten once.
    expect(behind).toBe(4);
    expect(next.map((x) => `${x.partition.day}/${x.partition.district}`)).toEqual([
      "2026-12-03/A",
      "2026-12-03/B",
    ]);
    expect(partitionsToRewrite(partitions, ledger, 0).next).toEqual([]);
  });
});
