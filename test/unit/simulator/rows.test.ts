import { FIRMWARE, firmwareFields } from "@compacter/simulator";
import { describe, expect, it } from "vitest";
import { LAYOUT, lines, objects, START_MS, simulateInMemory } from "./support.js";

describe("simulated rows", () => {
  it("writes one row per second of the hour, heartbeats covering it exactly", async () => {
    const { summary, sink } = await simulateInMemory({
      districts: ["BRCB"],
      devicesPerDistrict: 1,
      hours: 1,
      rowsPerFile: 3600,
    });
    expect(summary.files).toHaveLength(1);
    for (const file of summary.files) {
      const rows = objects(sink.objects.get(file.key)!);
      expect(rows).toHaveLength(3600);
      const start = START_MS / 1000;
      expect(rows.map((r) => r.heartbeat)).toEqual(Array.from({ length: 3600 }, (_, i) => start + i));
      expect([file.heartbeatMin, file.heartbeatMax]).toEqual([start, start + 3599]);
      expect(file).toMatchObject({ rowsWritten: 3600, validRows: 3600, badLines: 0, kind: "ok" });
    }
  });

  it("spreads fewer rows evenly over the hour", async () => {
    const { summary, sink } = await simulateInMemory({ devicesPerDistrict: 1, hours: 1, rowsPerFile: 7 });
    const rows = objects(sink.objects.get(summary.files[0]!.key)!);
    const offsets = rows.map((r) => (r.heartbeat as number) - START_MS / 1000);
    expect(offsets).toEqual([0, 514, 1028, 1542, 2057, 2571, 3085]);
  });

  it("writes ~179 fields in the firmware's order with stable JSON types", async () => {
    const fields = firmwareFields(FIRMWARE.base);
    expect(fields).toHaveLength(179);
    expect(fields[0]?.name).toBe("heartbeat");
    const { sink } = await simulateInMemory({ devicesPerDistrict: 3, hours: 2, rowsPerFile: 120 });
    const problems: string[] = [];
    const seen = { negativeInteger: false, positiveInteger: false, negativeDouble: false };
    const names = fields.map((f) => f.name).join(",");
    for (const body of sink.objects.values()) {
      for (const line of lines(body)) {
        const row = JSON.parse(line) as Record<string, unknown>;
        if (Object.keys(row).join(",") !== names) problems.push(`field order: ${line.slice(0, 80)}`);
        for (const field of fields) {
          const value = row[field.name];
          const ok =
            field.type === "INTEGER"
              ? Number.isInteger(value)
              : field.type === "DOUBLE"
                ? typeof value === "number"
                : field.type === "VARCHAR"
                  ? typeof value === "string"
                  : typeof value === "boolean";
          if (!ok) problems.push(`${field.name} (${field.type}) = ${JSON.stringify(value)}`);
          if (field.type === "INTEGER" && (value as number) < 0) seen.negativeInteger = true;
          if (field.type === "INTEGER" && (value as number) > 0) seen.positiveInteger = true;
          if (field.type === "DOUBLE" && (value as number) < 0) seen.negativeDouble = true;
        }
        // A DOUBLE is always written with a decimal point, so readers infer DOUBLE, never INTEGER.
        for (const match of line.matchAll(/"([a-z0-9_]+)":(-?[0-9.]+)[,}]/g)) {
          const field = fields.find((f) => f.name === match[1]);
          if (field?.type === "DOUBLE" && !match[2]!.includes("."))
            problems.push(`${match[1]} = ${match[2]}`);
        }
      }
    }
    expect(problems.slice(0, 10)).toEqual([]);
    expect(seen).toEqual({ negativeInteger: true, positiveInteger: true, negativeDouble: true });
  });

  it("keeps unitno stable per device and moves the vehicle", async () => {
    const { summary, sink } = await simulateInMemory({ devicesPerDistrict: 2, hours: 2, rowsPerFile: 360 });
    const unitsByDevice = new Map<string, Set<unknown>>();
    for (const file of summary.files) {
      const rows = objects(sink.objects.get(file.key)!);
      const units = unitsByDevice.get(file.deviceId) ?? new Set();
      for (const row of rows) units.add(row.unitno);
      unitsByDevice.set(file.deviceId, units);
      const positions = new Set(rows.map((r) => `${r.gps_lat},${r.gps_lon}`));
      expect(positions.size).toBeGreaterThan(100);
      const speeds = rows.map((r) => r.speed_kmh as number);
      expect(Math.max(...speeds)).toBeGreaterThan(15);
      expect(Math.max(...speeds)).toBeLessThan(60);
    }
    const units = [...unitsByDevice.values()].map((set) => [...set]);
    for (const set of units) expect(set).toHaveLength(1);
    expect(new Set(units.flat()).size).toBe(unitsByDevice.size);
  });

  it("names each key by the layout and the hour in keyTimeZone", async () => {
    const { summary } = await simulateInMemory({ devicesPerDistrict: 1, hours: 2, districts: ["BRCB"] });
    expect(summary.files.map((f) => f.key)).toEqual([
      `${LAYOUT.rawPrefix}BRCB/SLS30I001/2025121200/2025121200.txt.gz`,
      `${LAYOUT.rawPrefix}BRCB/SLS30I001/2025121201/2025121201.txt.gz`,
    ]);
    expect(summary.files.map((f) => f.partition)).toEqual([
      "hiveperiod=2025-12-12/district=BRCB",
      "hiveperiod=2025-12-12/district=BRCB",
    ]);
  });
});
