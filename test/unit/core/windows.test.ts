import {
  dayWindowClosesAt,
  fileTiming,
  isNewerSequencer,
  normaliseSequencer,
  parseUtcOffset,
} from "@compacter/core";
import { describe, expect, it } from "vitest";

const windows = { closeAfterMs: 60 * 60_000, lateDebounceMs: 5 * 60_000 };
const hourStart = Date.parse("2025-12-11T17:00:00Z");

describe("fileTiming", () => {
  it("makes an on-time file due when its hour's window closes", () => {
    expect(fileTiming(hourStart, hourStart + 61 * 60_000, windows)).toEqual({
      late: false,
      dueAtMs: hourStart + 120 * 60_000,
    });
  });

  it("counts a file arriving exactly at the close as on time", () => {
    expect(fileTiming(hourStart, hourStart + 120 * 60_000, windows).late).toBe(false);
  });

  it("makes a late file due lateDebounce after it arrived", () => {
    const arrived = hourStart + 5 * 3_600_000;
    expect(fileTiming(hourStart, arrived, windows)).toEqual({ late: true, dueAtMs: arrived + 5 * 60_000 });
  });

  it("closes a partition day closeAfter after its last hour ends, in the partition zone", () => {
    expect(dayWindowClosesAt("2025-12-12", parseUtcOffset("+08:00"), windows)).toBe(
      Date.parse("2025-12-12T17:00:00Z"),
    );
    expect(dayWindowClosesAt("2025-12-12", parseUtcOffset("+05:30"), windows)).toBe(
      Date.parse("2025-12-12T19:30:00Z"),
    );
  });
});

describe("sequencer", () => {
  it("orders sequencers of different lengths as AWS documents (left-pad with zeros)", () => {
    expect(isNewerSequencer("0055AED6DCD90281E6", "0055AED6DCD90281E5")).toBe(true);
    expect(isNewerSequencer("1000", "FFF")).toBe(true);
    expect(isNewerSequencer("FFF", "1000")).toBe(false);
    expect(normaliseSequencer("abc") > normaliseSequencer("ABB")).toBe(true);
  });

  it("refuses a sequencer that is not hexadecimal", () => {
    expect(() => normaliseSequencer("xyz")).toThrow(RangeError);
  });
});
