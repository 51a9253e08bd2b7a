import { gunzipSync, inflateRawSync } from "node:zlib";
import { parseRawKey } from "@compacter/core";
import {
  DRIFT_ADDED_FIELDS,
  DRIFT_RENAME,
  FIRMWARE,
  type FileSummary,
  firmwareFields,
  isStrayCandidate,
} from "@compacter/simulator";
import { describe, expect, it } from "vitest";
import { LAYOUT, lines, objects, parseObject, START_MS, simulateInMemory } from "./support.js";

const BASE_NAMES = firmwareFields(FIRMWARE.base).map((f) => f.name);
const DRIFTED_NAMES = firmwareFields(FIRMWARE.drifted).map((f) => f.name);
const NUMERIC = new Set(
  [...firmwareFields(FIRMWARE.base), ...firmwareFields(FIRMWARE.drifted)]
    .filter(isStrayCandidate)
    .map((f) => f.name),
);

const filesOfKind = (files: readonly FileSummary[], kind: FileSummary["kind"]) =>
  files.filter((f) => f.versions.some((v) => v.kind === kind));

describe("simulator knobs", () => {
  it("is clean with every knob off", async () => {
    const { summary, sink } = await simulateInMemory();
    expect(summary.totals).toMatchObject({ files: 16, uploads: 16, rowsWritten: 960, validRows: 960 });
    for (const counts of Object.values(summary.knobs)) {
      const { fraction, renamed: _r, added: _a, delayMs: _d, ...hits } = counts as Record<string, unknown>;
      expect(fraction).toBe(0);
      expect(Object.values(hits).every((n) => n === 0)).toBe(true);
    }
    for (const body of sink.objects.values()) expect(objects(body)).toHaveLength(60);
  });

  it("hits exactly the rounded fraction of files, at least one", async () => {
    const { summary } = await simulateInMemory({ knobs: { late: 0.25, reupload: 0.01, emptyObjects: 0.5 } });
    expect(summary.knobs.late.files).toBe(4);
    expect(summary.knobs.reupload.files).toBe(1);
    expect(summary.knobs.emptyObjects.files).toBe(8);
  });

  it("cuts gzip streams short so they fail to gunzip", async () => {
    const { summary, sink } = await simulateInMemory({ knobs: { truncatedGzip: 0.5 } });
    const truncated = filesOfKind(summary.files, "truncated-gzip");
    expect(truncated).toHaveLength(8);
    expect(summary.knobs.truncatedGzip.files).toBe(8);
    for (const file of summary.files) {
      const body = sink.objects.get(file.key)!;
      if (file.kind === "truncated-gzip") {
        expect(() => gunzipSync(body), file.key).toThrow();
        expect(file.validRows).toBe(0);
        expect(summary.expected.unreadable).toContainEqual({ key: file.key, kind: "truncated-gzip" });
      } else {
        expect(objects(body)).toHaveLength(file.validRows);
      }
    }
    // Both ways of cutting happen: mid-stream, and only the trailer missing.
    const faults = truncated.map((f) => f.versions[0]?.fault ?? "");
    expect(faults).toContain("trailer missing");
    expect(faults.some((f) => f.startsWith("cut at"))).toBe(true);
  });

  it("corrupts gzip trailers so gunzip fails though the deflate data is whole", async () => {
    const { summary, sink } = await simulateInMemory({ knobs: { badTrailer: 0.5 } });
    const bad = filesOfKind(summary.files, "bad-trailer");
    expect(bad).toHaveLength(8);
    for (const file of bad) {
      const body = sink.objects.get(file.key)!;
      expect(() => gunzipSync(body), file.key).toThrow(/incorrect (data|length) check/);
      // Everything but the trailer is intact: a reader that skips the check gets every row.
      const text = inflateRawSync(body.subarray(10)).toString("utf8");
      expect(text.split("\n").filter((l) => parseObject(l))).toHaveLength(file.rowsWritten);
      expect(file.validRows).toBe(0);
    }
    const faults = new Set(bad.map((f) => f.versions[0]?.fault));
    expect(faults).toEqual(new Set(["CRC-32 wrong", "length wrong"]));
  });

  it("uploads gzip'd plain text with no JSON object in it", async () => {
    const { summary, sink } = await simulateInMemory({ knobs: { notJson: 0.25 } });
    const notJson = filesOfKind(summary.files, "not-json");
    expect(notJson).toHaveLength(4);
    for (const file of notJson) {
      const text = lines(sink.objects.get(file.key)!);
      expect(text.length).toBeGreaterThan(10);
      expect(text.filter((l) => parseObject(l))).toEqual([]);
      expect(file).toMatchObject({ rowsWritten: 0, validRows: 0 });
    }
  });

  it("uploads 0-byte objects", async () => {
    const { summary, sink } = await simulateInMemory({ knobs: { emptyObjects: 0.25 } });
    const empty = filesOfKind(summary.files, "empty");
    expect(empty).toHaveLength(4);
    for (const file of empty) {
      expect(sink.objects.get(file.key)!.length).toBe(0);
      expect(file).toMatchObject({ bytesGz: 0, validRows: 0 });
    }
  });

  it("never gives one file two fault kinds", async () => {
    const { summary } = await simulateInMemory({
      knobs: { emptyObjects: 0.25, notJson: 0.25, truncatedGzip: 0.25, badTrailer: 0.25 },
    });
    const kinds = summary.files.map((f) => f.kind);
    for (const kind of ["empty", "not-json", "truncated-gzip", "bad-trailer"] as const) {
      expect(kinds.filter((k) => k === kind)).toHaveLength(4);
    }
  });

  it("cuts lines short, every other one right after a ':', and counts them exactly", async () => {
    const { summary, sink } = await simulateInMemory({ knobs: { badLines: 0.1 }, rowsPerFile: 200 });
    let bad = 0;
    let afterColon = 0;
    for (const file of summary.files) {
      const all = lines(sink.objects.get(file.key)!);
      const broken = all.filter((l) => parseObject(l) === undefined);
      expect(broken, file.key).toHaveLength(file.badLines);
      expect(all.length - broken.length).toBe(file.validRows);
      expect(file.rowsWritten).toBe(all.length);
      expect(summary.expected.rowsBySourceFile[file.key]).toBe(file.validRows);
      for (const line of broken) expect(line.startsWith("{")).toBe(true);
      const endingInColon = broken.filter((l) => l.endsWith(":")).length;
      expect(endingInColon).toBe(Math.ceil(file.badLines / 2));
      bad += broken.length;
      afterColon += endingInColon;
    }
    expect(bad).toBeGreaterThan(200);
    expect(summary.knobs.badLines).toEqual({ fraction: 0.1, lines: bad, afterColon });
  });

  it("puts stray strings in numeric fields of valid rows", async () => {
    const { summary, sink } = await simulateInMemory({ knobs: { strayStrings: 0.2 } });
    let total = 0;
    const values = new Set<string>();
    for (const file of summary.files) {
      let strays = 0;
      const byField: Record<string, number> = {};
      for (const row of objects(sink.objects.get(file.key)!)) {
        const stringFields = Object.entries(row).filter(
          ([name, value]) => NUMERIC.has(name) && typeof value === "string",
        );
        expect(stringFields.length).toBeLessThanOrEqual(1);
        for (const [name, value] of stringFields) {
          strays++;
          byField[name] = (byField[name] ?? 0) + 1;
          values.add(String(value) === "N/A" ? "N/A" : "comma");
          expect(String(value)).toMatch(/^(N\/A|-?\d+,\d+)$/);
        }
      }
      expect(strays, file.key).toBe(file.strayStrings);
      expect(byField).toEqual(file.versions[0]?.strayFields);
      total += strays;
    }
    expect(total).toBeGreaterThan(100);
    expect(summary.knobs.strayStrings.rows).toBe(total);
    expect(summary.expected.nulledValues).toBe(total);
    expect(values).toEqual(new Set(["N/A", "comma"]));
  });

  it("drifts the firmware of the chosen devices from the stated hour on, and only theirs", async () => {
    const { summary, sink } = await simulateInMemory({ knobs: { drift: 0.25 }, hours: 4 });
    const drifted = summary.devices.filter((d) => d.driftFromHour !== null);
    expect(drifted).toHaveLength(2);
    expect(summary.knobs.drift.devices).toBe(2);
    expect(summary.knobs.drift.renamed).toEqual(DRIFT_RENAME);
    expect(summary.knobs.drift.added).toEqual(DRIFT_ADDED_FIELDS);
    let driftedFiles = 0;
    for (const file of summary.files) {
      const device = summary.devices.find(
        (d) => d.deviceId === file.deviceId && d.district === file.district,
      )!;
      const expectDrift = device.driftFromHour !== null && file.hour >= device.driftFromHour;
      expect(file.drifted).toBe(expectDrift);
      const names = Object.keys(objects(sink.objects.get(file.key)!)[0]!);
      expect(names).toEqual(expectDrift ? DRIFTED_NAMES : BASE_NAMES);
      if (expectDrift) {
        driftedFiles++;
        expect(names).toContain(DRIFT_RENAME.to);
        expect(names).not.toContain(DRIFT_RENAME.from);
      }
    }
    expect(summary.knobs.drift.files).toBe(driftedFiles);
    // Each drifted device wrote the old firmware first: drift starts after the first hour.
    for (const device of drifted) expect(device.driftFromHour! > summary.settings.startHour).toBe(true);
  });

  it("writes millisecond heartbeats for the chosen devices", async () => {
    const { summary, sink } = await simulateInMemory({ knobs: { msHeartbeat: 0.25 } });
    expect(summary.knobs.msHeartbeat).toMatchObject({ devices: 2, files: 4 });
    for (const file of summary.files) {
      const beats = objects(sink.objects.get(file.key)!).map((r) => r.heartbeat as number);
      const hourStartS = file.hourStartMs / 1000;
      if (file.heartbeatUnit === "ms") {
        for (const beat of beats) {
          expect(beat).toBeGreaterThanOrEqual(file.hourStartMs);
          expect(beat).toBeLessThan(file.hourStartMs + 3_600_000);
        }
        // A device clock's phase: milliseconds that are not whole seconds.
        expect(beats[0]! % 1000).not.toBe(0);
      } else {
        for (const beat of beats) {
          expect(beat).toBeGreaterThanOrEqual(hourStartS);
          expect(beat).toBeLessThan(hourStartS + 3600);
        }
      }
      expect([file.heartbeatMin, file.heartbeatMax]).toEqual([beats[0], beats.at(-1)]);
    }
  });

  it("gives the chosen devices ids with a space, unicode, + and quotes that round-trip through parseRawKey", async () => {
    const { summary, sink } = await simulateInMemory({ knobs: { oddKeys: 0.25 } });
    const odd = summary.files.filter((f) => f.oddKey);
    expect(odd).toHaveLength(4);
    expect(summary.knobs.oddKeys).toMatchObject({ devices: 2, files: 4 });
    for (const file of odd) {
      expect(file.deviceId).toMatch(/ /);
      expect([...file.deviceId].some((c) => c.charCodeAt(0) > 127)).toBe(true);
      expect(file.deviceId).toContain("+");
      expect(file.deviceId).toContain("'");
      expect(file.deviceId).toContain('"');
      const parsed = parseRawKey(file.key, LAYOUT);
      expect(parsed).toEqual({
        ok: true,
        value: expect.objectContaining({
          district: file.district,
          deviceId: file.deviceId,
          hourKey: file.hour,
        }),
      });
      expect(sink.objects.has(file.key)).toBe(true);
    }
    for (const file of summary.files.filter((f) => !f.oddKey)) expect(file.deviceId).toMatch(/^[A-Z0-9]+$/);
  });

  it("uploads late files after every on-time file", async () => {
    const { summary, sink } = await simulateInMemory({ knobs: { late: 0.25 }, lateDelayMs: 20 });
    const late = new Set(summary.files.filter((f) => f.late).map((f) => f.key));
    expect(late.size).toBe(4);
    const order = sink.puts.map((p) => late.has(p.key));
    expect(order).toEqual([...Array(12).fill(false), ...Array(4).fill(true)]);
    expect(summary.files.filter((f) => f.late).every((f) => f.versions[0]?.phase === "late")).toBe(true);
  });

  it("re-uploads keys later with different rows; the final version is what the lake must hold", async () => {
    const { summary, sink } = await simulateInMemory({ knobs: { reupload: 0.25, late: 0.25 } });
    const reuploaded = summary.files.filter((f) => f.reuploaded);
    expect(reuploaded).toHaveLength(4);
    expect(summary.totals.uploads).toBe(20);
    const firstPut = new Map<string, number>();
    sink.puts.forEach((p, i) => {
      if (!firstPut.has(p.key)) firstPut.set(p.key, i);
    });
    for (const file of reuploaded) {
      const puts = sink.puts.filter((p) => p.key === file.key);
      expect(puts).toHaveLength(2);
      const [first, second] = file.versions;
      expect(first).toMatchObject({ version: 1, phase: file.late ? "late" : "on-time" });
      expect(second).toMatchObject({ version: 2, phase: "reupload", kind: "ok" });
      const firstRows = objects(puts[0]!.body);
      const finalRows = objects(puts[1]!.body);
      expect(firstRows).toHaveLength(first!.validRows);
      expect(finalRows).toHaveLength(second!.validRows);
      expect(first!.validRows).toBeLessThan(second!.validRows);
      expect(finalRows[0]).not.toEqual(firstRows[0]);
      expect(sink.objects.get(file.key)!.equals(puts[1]!.body)).toBe(true);
      expect(file.validRows).toBe(second!.validRows);
      expect(summary.expected.rowsBySourceFile[file.key]).toBe(second!.validRows);
      // Re-uploads come after every first upload, late ones included.
      const reuploadIndex = sink.puts.indexOf(puts[1]!);
      expect(Math.max(...firstPut.values())).toBeLessThan(reuploadIndex);
    }
  });

  it("states the lake's final state exactly, all knobs on", async () => {
    const { summary, sink } = await simulateInMemory({
      knobs: {
        drift: 0.3,
        strayStrings: 0.05,
        badLines: 0.05,
        truncatedGzip: 0.1,
        badTrailer: 0.1,
        notJson: 0.1,
        emptyObjects: 0.1,
        late: 0.3,
        reupload: 0.3,
        msHeartbeat: 0.3,
        oddKeys: 0.3,
      },
      hours: 3,
    });
    const actual: Record<string, number> = {};
    const byPartition: Record<string, number> = {};
    const unreadable: { key: string; kind: string }[] = [];
    for (const file of summary.files) {
      const body = sink.objects.get(file.key)!;
      let rows: number;
      try {
        rows = body.length === 0 ? -1 : lines(body).filter((l) => parseObject(l)).length;
      } catch {
        rows = -1;
      }
      if (rows < 0 || (rows === 0 && file.kind === "not-json")) {
        unreadable.push({ key: file.key, kind: file.kind });
        continue;
      }
      actual[file.key] = rows;
      byPartition[file.partition] = (byPartition[file.partition] ?? 0) + rows;
    }
    expect(actual).toEqual(summary.expected.rowsBySourceFile);
    expect(byPartition).toEqual(summary.expected.rowsByPartition);
    expect(unreadable).toEqual(summary.expected.unreadable);
    expect(summary.expected.rows).toBe(Object.values(actual).reduce((a, b) => a + b, 0));
    expect(summary.totals.validRows).toBe(summary.expected.rows);
    expect(START_MS).toBe(summary.settings.startHourMs);
  });
});
