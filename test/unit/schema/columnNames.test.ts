import {
  columnNameForField,
  isEscapedColumnName,
  isPlainColumnName,
  RESERVED_COLUMN_NAMES,
  renamedFields,
  wtf8Bytes,
} from "@compacter/core";
import { FIRMWARE, firmwareFields } from "@compacter/simulator";
import { describe, expect, it } from "vitest";

const FIELD_NAMES = [
  ...new Set([...firmwareFields(FIRMWARE.base), ...firmwareFields(FIRMWARE.drifted)].map((f) => f.name)),
  "heartbeat",
];

const GLUE_NAME = /^[a-z0-9_]{1,255}$/;

/** Every awkward key we could think of; the integration test feeds the same kinds through DuckDB. */
const AWKWARD = [
  "",
  " ",
  "Speed",
  "speed",
  "SPEED",
  "café", // NFC
  "cafe\u0301", // NFD: the same text, other code points
  "x".repeat(129),
  "y".repeat(5000),
  'quo"te',
  "apo'strophe",
  "a.b",
  "a[0]",
  "nul\u0000byte",
  "lone\ud800surrogate",
  "lone\udbffsurrogate",
  "device_id",
  "Device_ID",
  "source_file",
  "event_time",
  "district",
  "hiveperiod",
  "rowid",
  "filename",
  "file_row_number",
  "__compacter_path",
  "_leading",
  "9lives",
  "speed__0123456789ab",
  "emoji😀",
  "日本語",
  "raw_device_id",
];

describe("columnNameForField", () => {
  it("keeps a plain lower-case key as its column: the fleet's snake_case keys are unchanged", () => {
    expect(FIELD_NAMES.length).toBeGreaterThan(100);
    for (const key of FIELD_NAMES) expect(columnNameForField(key)).toBe(key);
    expect(columnNameForField("speed")).toBe("speed");
    expect(columnNameForField("raw_device_id")).toBe("raw_device_id");
  });

  it("escapes every other key as <prefix>__<12 hex digits of SHA-256>", () => {
    expect(columnNameForField("Speed")).toMatch(/^speed__[0-9a-f]{12}$/);
    expect(columnNameForField("")).toMatch(/^field__[0-9a-f]{12}$/);
    expect(columnNameForField("café")).toMatch(/^cafe__[0-9a-f]{12}$/);
    expect(columnNameForField("a.b")).toMatch(/^a_b__[0-9a-f]{12}$/);
    expect(columnNameForField("9lives")).toMatch(/^field_9lives__[0-9a-f]{12}$/);
    expect(columnNameForField("device_id")).toMatch(/^device_id__[0-9a-f]{12}$/);
    // Pinned: the rule is lake-wide and must never change under existing data.
    expect(columnNameForField("Speed")).toBe("speed__c372fee9b456");
    expect(columnNameForField("")).toBe("field__e3b0c44298fc");
  });

  it("maps every awkward key to its own name that Glue, Athena, DuckDB and Parquet accept", () => {
    const names = AWKWARD.map(columnNameForField);
    expect(new Set(names).size).toBe(AWKWARD.length);
    for (const name of names) {
      expect(name).toMatch(GLUE_NAME);
      expect(name).toMatch(/^[a-z]/);
      expect(RESERVED_COLUMN_NAMES).not.toContain(name);
    }
    // Case-insensitive engines see distinct names too.
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(AWKWARD.length);
  });

  it("depends on the key alone, so the same key is the same column in every file", () => {
    for (const key of AWKWARD) expect(columnNameForField(key)).toBe(columnNameForField(`${key}`));
  });

  it("never gives an escaped name to a plain key or a plain name to an escaped one", () => {
    for (const key of AWKWARD) {
      const name = columnNameForField(key);
      expect(isPlainColumnName(key) ? name === key : isEscapedColumnName(name)).toBe(true);
    }
    // A key shaped like an escaped name is escaped itself, so it cannot take another key's column.
    expect(isPlainColumnName("speed__0123456789ab")).toBe(false);
    expect(columnNameForField("speed__0123456789ab")).not.toBe("speed__0123456789ab");
  });

  it("hashes lone surrogates as distinct bytes (WTF-8), not as U+FFFD", () => {
    expect(wtf8Bytes("\ud800")).toEqual(Uint8Array.from([0xed, 0xa0, 0x80]));
    expect(wtf8Bytes("é")).toEqual(Uint8Array.from(Buffer.from("é", "utf8")));
    expect(wtf8Bytes("😀")).toEqual(Uint8Array.from(Buffer.from("😀", "utf8")));
    expect(columnNameForField("\ud800")).not.toBe(columnNameForField("\udbff"));
  });

  it("lists only the keys whose column differs from the key", () => {
    expect(renamedFields(["speed", "Speed"])).toEqual([
      { field: "Speed", column: columnNameForField("Speed") },
    ]);
  });
});
