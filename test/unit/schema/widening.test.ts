import {
  columnNameForField,
  kindOfValue,
  mergeDiscoveredFields,
  numberKind,
  resolveColumn,
  typeForNewColumn,
  unifyColumnTypes,
  ValueKind,
  widerNumeric,
} from "@compacter/core";
import { describe, expect, it } from "vitest";

describe("numberKind", () => {
  it("classifies integer literals by the type that holds them", () => {
    expect(numberKind("0")).toBe(ValueKind.INT32);
    expect(numberKind("-1000")).toBe(ValueKind.INT32);
    expect(numberKind("2147483647")).toBe(ValueKind.INT32);
    expect(numberKind("-2147483648")).toBe(ValueKind.INT32);
    expect(numberKind("2147483648")).toBe(ValueKind.INT64);
    expect(numberKind("-2147483649")).toBe(ValueKind.INT64);
    expect(numberKind("9223372036854775807")).toBe(ValueKind.INT64);
    expect(numberKind("-9223372036854775808")).toBe(ValueKind.INT64);
    expect(numberKind("9223372036854775808")).toBe(ValueKind.BIGNUM);
    expect(numberKind("123456789012345678901234")).toBe(ValueKind.BIGNUM);
  });

  it("treats a fraction or an exponent as REAL, even when the value is whole", () => {
    expect(numberKind("12.0")).toBe(ValueKind.REAL);
    expect(numberKind("1e2")).toBe(ValueKind.REAL);
    expect(numberKind("-0.5E-3")).toBe(ValueKind.REAL);
  });

  it("classifies parsed JSON values", () => {
    expect(kindOfValue(null)).toBe(ValueKind.NULL);
    expect(kindOfValue(true)).toBe(ValueKind.BOOLEAN);
    expect(kindOfValue(7)).toBe(ValueKind.INT32);
    expect(kindOfValue(1765472400123)).toBe(ValueKind.INT64);
    expect(kindOfValue(54.3)).toBe(ValueKind.REAL);
    expect(kindOfValue("N/A")).toBe(ValueKind.STRING);
    expect(kindOfValue({ a: 1 })).toBe(ValueKind.NESTED);
    expect(kindOfValue([1])).toBe(ValueKind.NESTED);
  });
});

describe("typeForNewColumn", () => {
  it("maps a single kind to its type", () => {
    expect(typeForNewColumn(ValueKind.INT32)).toBe("INTEGER");
    expect(typeForNewColumn(ValueKind.INT64)).toBe("BIGINT");
    expect(typeForNewColumn(ValueKind.REAL)).toBe("DOUBLE");
    expect(typeForNewColumn(ValueKind.BIGNUM)).toBe("DOUBLE");
    expect(typeForNewColumn(ValueKind.STRING)).toBe("VARCHAR");
    expect(typeForNewColumn(ValueKind.BOOLEAN)).toBe("BOOLEAN");
    expect(typeForNewColumn(ValueKind.NESTED)).toBe("JSON");
  });

  it("keeps a field numeric when some of its values are strings", () => {
    expect(typeForNewColumn(ValueKind.REAL | ValueKind.STRING | ValueKind.NULL)).toBe("DOUBLE");
    expect(typeForNewColumn(ValueKind.INT32 | ValueKind.INT64 | ValueKind.BOOLEAN)).toBe("BIGINT");
  });

  it("uses text for strings mixed with booleans and JSON for anything nested", () => {
    expect(typeForNewColumn(ValueKind.STRING | ValueKind.BOOLEAN)).toBe("VARCHAR");
    expect(typeForNewColumn(ValueKind.NESTED | ValueKind.INT32)).toBe("JSON");
  });

  it("has no type for a field that was only ever null", () => {
    expect(typeForNewColumn(ValueKind.NULL)).toBeUndefined();
    expect(typeForNewColumn(0)).toBeUndefined();
  });
});

describe("resolveColumn", () => {
  it("widens numeric columns along INTEGER → BIGINT → DOUBLE only", () => {
    expect(resolveColumn("INTEGER", ValueKind.INT32)).toEqual({ type: "INTEGER", needsCast: false });
    expect(resolveColumn("INTEGER", ValueKind.INT64)).toEqual({
      type: "BIGINT",
      widenedFrom: "INTEGER",
      needsCast: false,
    });
    expect(resolveColumn("INTEGER", ValueKind.REAL)).toEqual({
      type: "DOUBLE",
      widenedFrom: "INTEGER",
      needsCast: false,
    });
    expect(resolveColumn("BIGINT", ValueKind.INT32)).toEqual({ type: "BIGINT", needsCast: false });
    expect(resolveColumn("DOUBLE", ValueKind.INT32 | ValueKind.INT64)).toEqual({
      type: "DOUBLE",
      needsCast: false,
    });
  });

  it("never turns a numeric column into text: strings are cast (and counted when they do not fit)", () => {
    expect(resolveColumn("DOUBLE", ValueKind.REAL | ValueKind.STRING)).toEqual({
      type: "DOUBLE",
      needsCast: true,
    });
    expect(resolveColumn("INTEGER", ValueKind.STRING)).toEqual({ type: "INTEGER", needsCast: true });
    expect(resolveColumn("BOOLEAN", ValueKind.INT32)).toEqual({ type: "BOOLEAN", needsCast: true });
  });

  it("stores anything in text and JSON columns", () => {
    const everything = 255;
    expect(resolveColumn("VARCHAR", everything)).toEqual({ type: "VARCHAR", needsCast: false });
    expect(resolveColumn("JSON", everything)).toEqual({ type: "JSON", needsCast: false });
  });

  it("needs no cast for nulls", () => {
    expect(resolveColumn("BOOLEAN", ValueKind.NULL | ValueKind.BOOLEAN)).toEqual({
      type: "BOOLEAN",
      needsCast: false,
    });
  });
});

describe("widerNumeric / unifyColumnTypes", () => {
  it("picks the wider numeric type", () => {
    expect(widerNumeric("INTEGER", "DOUBLE")).toBe("DOUBLE");
    expect(widerNumeric("BIGINT", "INTEGER")).toBe("BIGINT");
    expect(unifyColumnTypes("INTEGER", "BIGINT")).toBe("BIGINT");
  });

  it("keeps the schema's type when the other is not numeric", () => {
    expect(unifyColumnTypes("DOUBLE", "VARCHAR")).toBe("DOUBLE");
    expect(unifyColumnTypes("VARCHAR", "DOUBLE")).toBe("VARCHAR");
  });
});

describe("mergeDiscoveredFields", () => {
  const schema = [
    { name: "heartbeat", type: "INTEGER" },
    { name: "speed", type: "DOUBLE" },
    { name: "status", type: "VARCHAR" },
  ] as const;

  it("keeps the schema's order, widens in place and appends new fields in first-seen order", () => {
    const merge = mergeDiscoveredFields(schema, [
      { field: "heartbeat", kinds: ValueKind.INT64 },
      { field: "zeta", kinds: ValueKind.INT32 },
      { field: "speed", kinds: ValueKind.REAL },
      { field: "alpha", kinds: ValueKind.STRING },
    ]);
    expect(merge.columns).toEqual([
      { name: "heartbeat", type: "BIGINT" },
      { name: "speed", type: "DOUBLE" },
      { name: "status", type: "VARCHAR" },
      { name: "zeta", type: "INTEGER" },
      { name: "alpha", type: "VARCHAR" },
    ]);
    expect(merge.added).toEqual(["zeta", "alpha"]);
    expect(merge.widened).toEqual([{ name: "heartbeat", from: "INTEGER", to: "BIGINT" }]);
    expect(merge.castColumns).toEqual([]);
  });

  it("lists the columns whose values must be cast, new ones included", () => {
    const merge = mergeDiscoveredFields(schema, [
      { field: "speed", kinds: ValueKind.REAL | ValueKind.STRING },
      { field: "fuel", kinds: ValueKind.REAL | ValueKind.STRING },
    ]);
    expect(merge.castColumns).toEqual(["speed", "fuel"]);
    expect(merge.columns.at(-1)).toEqual({ name: "fuel", type: "DOUBLE" });
  });

  it("escapes reserved and case-twin fields into their own columns and reports null-only fields", () => {
    const merge = mergeDiscoveredFields(schema, [
      { field: "device_id", kinds: ValueKind.STRING },
      { field: "later", kinds: ValueKind.NULL },
      { field: "Speed", kinds: ValueKind.REAL },
    ]);
    expect(merge.added).toEqual([columnNameForField("device_id"), columnNameForField("Speed")]);
    expect(merge.added[0]).toMatch(/^device_id__[0-9a-f]{12}$/);
    expect(merge.nullOnlyFields).toEqual(["later"]);
    expect(merge.conflictingFields).toEqual([]);
  });

  it("still reports a field whose column is a case twin of a column named before the naming rule", () => {
    const merge = mergeDiscoveredFields(
      [{ name: "Speed", type: "DOUBLE" }],
      [{ field: "speed", kinds: ValueKind.REAL }],
    );
    expect(merge.conflictingFields).toEqual(["speed"]);
  });

  it("is a no-op for a batch that only repeats the schema", () => {
    const merge = mergeDiscoveredFields(schema, [
      { field: "heartbeat", kinds: ValueKind.INT32 | ValueKind.NULL },
      { field: "status", kinds: ValueKind.STRING },
    ]);
    expect(merge.columns).toEqual(schema);
    expect(merge.added).toEqual([]);
    expect(merge.widened).toEqual([]);
  });
});
