import { RowAssembler, VALUE_KIND } from "@compacter/simulator";
import { describe, expect, it } from "vitest";

const text = (row: Uint8Array) => `${Buffer.from(row).toString("latin1")}}`;

describe("RowAssembler", () => {
  it("writes fixed-point numbers, strings and literals as JSON", () => {
    const row = new RowAssembler(
      ["a", "b", "c", "d", "e"],
      [VALUE_KIND.number, VALUE_KIND.number, VALUE_KIND.quoted, VALUE_KIND.literal, VALUE_KIND.number],
      [2, 0, 0, 0, 6],
    );
    row.setNumber(0, -1.05);
    row.setScaled(1, -42);
    row.setText(2, "N");
    row.setText(3, "true");
    row.setNumber(4, -22.000004);
    row.assemble();
    expect(text(row.row())).toBe('{"a":-1.05,"b":-42,"c":"N","d":true,"e":-22.000004}');
    expect(JSON.parse(text(row.row()))).toEqual({ a: -1.05, b: -42, c: "N", d: true, e: -22.000004 });
  });

  it("builds each row from the previous one, changing only what was set", () => {
    const row = new RowAssembler(
      ["x", "y", "long_name_to_force_a_copy", "z"],
      [VALUE_KIND.number, VALUE_KIND.number, VALUE_KIND.quoted, VALUE_KIND.number],
      [1, 2, 0, 0],
    );
    row.setNumber(0, 0.04);
    row.setNumber(1, 0.05);
    row.setText(2, "RUNNING");
    row.setScaled(3, 7);
    row.assemble();
    expect(text(row.row())).toBe('{"x":0.0,"y":0.05,"long_name_to_force_a_copy":"RUNNING","z":7}');
    row.setNumber(1, 123.456);
    row.assemble();
    expect(text(row.row())).toBe('{"x":0.0,"y":123.46,"long_name_to_force_a_copy":"RUNNING","z":7}');
    row.setText(2, "IDLE");
    row.setScaled(3, 1234567);
    row.assemble();
    expect(text(row.row())).toBe('{"x":0.0,"y":123.46,"long_name_to_force_a_copy":"IDLE","z":1234567}');
    const bytes = row.row();
    expect(Buffer.from(bytes.subarray(row.valueStart[2], row.valueEnd[2])).toString()).toBe('"IDLE"');
    expect(Buffer.from(bytes.subarray(row.valueStart[3], row.valueEnd[3])).toString()).toBe("1234567");
    expect(row.numberText(1)).toBe("123.46");
  });
});
