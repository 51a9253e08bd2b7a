import { duckDbTimeZone, parseUtcOffset } from "@compacter/core";
import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";

const OFFSETS = ["+08:00", "-03:00", "+00:00", "+14:00", "-12:00", "+05:30", "+05:45", "-09:30", "+09:30"];

describe("duckDbTimeZone", () => {
  it("maps whole-hour offsets to Etc/GMT names (POSIX sign) and known fractional ones to fixed zones", () => {
    expect(duckDbTimeZone(parseUtcOffset("+08:00"))).toBe("Etc/GMT-8");
    expect(duckDbTimeZone(parseUtcOffset("-03:00"))).toBe("Etc/GMT+3");
    expect(duckDbTimeZone(parseUtcOffset("UTC"))).toBe("UTC");
    expect(duckDbTimeZone(parseUtcOffset("+05:30"))).toBe("Asia/Kolkata");
    expect(duckDbTimeZone(parseUtcOffset("-13:00"))).toBeUndefined();
    expect(duckDbTimeZone(parseUtcOffset("+01:15"))).toBeUndefined();
  });

  it("every name it gives makes DuckDB print an instant at exactly that offset", async () => {
    const db = await DuckDBInstance.create(":memory:");
    const connection = await db.connect();
    try {
      for (const text of OFFSETS) {
        const offset = parseUtcOffset(text);
        const zone = duckDbTimeZone(offset);
        expect(zone, text).toBeDefined();
        await connection.run(`SET TimeZone = '${zone}'`);
        const reader = await connection.runAndReadAll(
          "SELECT TIMESTAMPTZ '2026-06-15 12:00:00+00'::VARCHAR AS winter, TIMESTAMPTZ '2026-12-15 12:00:00+00'::VARCHAR AS summer",
        );
        const [row] = reader.getRowObjectsJson();
        const expected = new Date(Date.parse("2026-06-15T12:00:00Z") + offset.minutes * 60_000)
          .toISOString()
          .slice(0, 16)
          .replace("T", " ");
        expect(String(row?.winter).startsWith(expected), `${text} ${zone} ${row?.winter}`).toBe(true);
        // No daylight saving: the offset is the same half a year later.
        expect(String(row?.summer).slice(19), zone).toBe(String(row?.winter).slice(19));
      }
    } finally {
      connection.closeSync();
      db.closeSync();
    }
  });
});
