import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { lines, simulateInMemory } from "./support.js";

const ALL_KNOBS = {
  drift: 0.3,
  strayStrings: 0.05,
  badLines: 0.05,
  truncatedGzip: 0.1,
  badTrailer: 0.1,
  notJson: 0.1,
  emptyObjects: 0.1,
  late: 0.2,
  reupload: 0.2,
  msHeartbeat: 0.3,
  oddKeys: 0.3,
};

describe("simulator determinism", () => {
  it("writes byte-identical objects for the same seed and flags", async () => {
    const a = await simulateInMemory({ seed: 7, knobs: ALL_KNOBS });
    const b = await simulateInMemory({ seed: 7, knobs: ALL_KNOBS, concurrency: 1 });
    // Uploads run concurrently, so compare every version of every key, not the put order.
    const versions = (puts: readonly { key: string; body: Buffer }[]) =>
      puts.map((p) => `${p.key} ${createHash("sha256").update(p.body).digest("hex")}`).sort();
    expect(a.sink.puts).toHaveLength(a.summary.totals.uploads);
    expect(versions(b.sink.puts)).toEqual(versions(a.sink.puts));
    expect(b.summary.files).toEqual(a.summary.files);
    expect(b.summary.expected).toEqual(a.summary.expected);
  });

  it("writes different rows for a different seed", async () => {
    const a = await simulateInMemory({ seed: 1 });
    const b = await simulateInMemory({ seed: 2 });
    expect([...b.sink.objects.keys()].sort()).toEqual([...a.sink.objects.keys()].sort());
    for (const [key, body] of a.sink.objects) {
      expect(body.equals(b.sink.objects.get(key)!), key).toBe(false);
    }
  });

  it("gives every device and hour its own rows", async () => {
    const { sink } = await simulateInMemory({ hours: 2 });
    const bodies = [...sink.objects.values()].map((body) => lines(body).slice(1).join("\n"));
    expect(new Set(bodies).size).toBe(bodies.length);
  });

  it("leaves the rows a knob doesn't hit unchanged", async () => {
    const clean = await simulateInMemory({ seed: 3 });
    const dirty = await simulateInMemory({ seed: 3, knobs: { badLines: 0.1, strayStrings: 0.1 } });
    for (const [key, body] of clean.sink.objects) {
      const before = lines(body);
      const after = lines(dirty.sink.objects.get(key)!);
      expect(after).toHaveLength(before.length);
      const changed = after.filter((line, i) => line !== before[i]).length;
      const file = dirty.summary.files.find((f) => f.key === key)!;
      expect(changed).toBe(file.badLines + file.strayStrings);
    }
  });
});
