import {
  type ConsumedFile,
  decideCreated,
  decideMark,
  decideRejected,
  decideRemoved,
  fileTiming,
  guardHolds,
  loadConfig,
  MAX_RACE_ROUNDS,
  markConsumedVersion,
  normaliseSequencer,
  parseRawKey,
  type RecordedVersion,
  registerCreatedVersion,
  settleVersion,
  type VersionDecision,
  type VersionWrite,
} from "@compacter/core";
import { describe, expect, it } from "vitest";
import { InMemoryManifestStore } from "../../helpers/inMemoryManifestStore.js";

const seq = (hex: string) => normaliseSequencer(hex);

function recorded(overrides: Partial<RecordedVersion> = {}): RecordedVersion {
  return { status: "pending", eTag: "e1", sequencer: seq("10"), ...overrides };
}

function consumed(overrides: Partial<ConsumedFile> = {}): ConsumedFile {
  return {
    key: "k",
    eTag: "e1",
    sequencer: "10",
    plannedStatus: "pending",
    outcome: "compacted",
    rows: 5,
    badLines: 0,
    late: false,
    ...overrides,
  };
}

describe("ObjectCreated decisions", () => {
  it("registers a new key, guarded on its absence", () => {
    expect(decideCreated(undefined, { eTag: "e1", sequencer: seq("10") })).toEqual({
      outcome: "registered",
      write: { kind: "newVersion", guard: { kind: "absent" } },
    });
  });

  it("calls the same or an older sequencer stale, comparing after left-padding", () => {
    expect(decideCreated(recorded(), { eTag: "e2", sequencer: seq("10") })).toEqual({ outcome: "stale" });
    expect(decideCreated(recorded(), { eTag: "e2", sequencer: seq("F") })).toEqual({ outcome: "stale" });
    expect(
      decideCreated(recorded({ sequencer: seq("FFF") }), { eTag: "e2", sequencer: seq("1000") }).outcome,
    ).toBe("replaced");
  });

  it("treats the same content under a newer sequencer as a duplicate that only advances the sequencer", () => {
    expect(decideCreated(recorded({ status: "compacted" }), { eTag: "e1", sequencer: seq("11") })).toEqual({
      outcome: "duplicate",
      write: { kind: "advanceSequencer", guard: { kind: "sequencerIs", sequencer: seq("10") } },
    });
  });

  it("replaces on new content, and on the same content uploaded again after a removal", () => {
    const replace = { kind: "newVersion", guard: { kind: "sequencerIs", sequencer: seq("10") } };
    expect(decideCreated(recorded(), { eTag: "e2", sequencer: seq("11") })).toEqual({
      outcome: "replaced",
      write: replace,
    });
    expect(decideCreated(recorded({ status: "removed" }), { eTag: "e1", sequencer: seq("11") })).toEqual({
      outcome: "replaced",
      write: replace,
    });
  });
});

describe("ObjectRemoved decisions", () => {
  it("leaves a tombstone when the removal comes before any create", () => {
    expect(decideRemoved(undefined, seq("50"))).toEqual({
      outcome: "removed",
      write: { kind: "tombstone", guard: { kind: "absent" } },
    });
  });

  it("removes a live older version, ignores an older removal and counts a second removal as a duplicate", () => {
    expect(decideRemoved(recorded(), seq("11"))).toEqual({
      outcome: "removed",
      write: { kind: "markRemoved", guard: { kind: "liveAndOlderThan", sequencer: seq("11") } },
    });
    expect(decideRemoved(recorded(), seq("09"))).toEqual({ outcome: "stale" });
    expect(decideRemoved(recorded({ status: "removed" }), seq("12"))).toEqual({
      outcome: "duplicate",
      write: { kind: "advanceSequencer", guard: { kind: "removedAndOlderThan", sequencer: seq("12") } },
    });
    expect(decideRemoved(recorded({ status: "removed", sequencer: seq("12") }), seq("12"))).toEqual({
      outcome: "stale",
    });
  });
});

describe("rejected keys", () => {
  it("are recorded unless a same-or-newer event is, and a failed guard alone proves staleness", () => {
    expect(decideRejected(undefined, seq("1"))).toMatchObject({ outcome: "rejected", ifGuardFails: "stale" });
    expect(decideRejected(recorded({ status: "rejected", sequencer: seq("1") }), seq("2")).outcome).toBe(
      "rejected",
    );
    expect(decideRejected(recorded({ status: "rejected", sequencer: seq("2") }), seq("2"))).toEqual({
      outcome: "stale",
    });
  });
});

describe("a generation's marks", () => {
  it("marks the planned version", () => {
    expect(decideMark(recorded(), consumed(), 2)).toMatchObject({
      outcome: "marked",
      write: { kind: "markPlanned" },
    });
    const drop = consumed({ plannedStatus: "removed", outcome: "dropped", eTag: "", sequencer: "50" });
    const tombstone = recorded({ status: "removed", eTag: "", sequencer: seq("50"), dueAt: "t" });
    expect(decideMark(tombstone, drop, 2).outcome).toBe("marked");
  });

  it("records only the lake's version when a newer one arrived, guarded on the generation it read", () => {
    expect(decideMark(recorded({ eTag: "e2", sequencer: seq("20") }), consumed(), 2)).toEqual({
      outcome: "newerVersion",
      write: { kind: "recordLakeVersion", guard: { kind: "compactedGenerationIs", generation: undefined } },
    });
    expect(decideMark(recorded({ eTag: "e2", compactedGeneration: 1 }), consumed(), 2).write?.guard).toEqual({
      kind: "compactedGenerationIs",
      generation: 1,
    });
    // A newer removal is another version even with the same eTag.
    const drop = consumed({ plannedStatus: "removed", outcome: "dropped", sequencer: "11" });
    expect(
      decideMark(recorded({ status: "removed", sequencer: seq("12"), dueAt: "t" }), drop, 2).outcome,
    ).toBe("newerVersion");
  });

  it("is a no-op when repeated: the first mark left compactedGeneration, or a drop its due mark", () => {
    expect(decideMark(recorded({ status: "compacted", compactedGeneration: 2 }), consumed(), 2)).toEqual({
      outcome: "repeat",
    });
    const drop = consumed({ plannedStatus: "removed", outcome: "dropped" });
    expect(decideMark(recorded({ status: "removed", compactedGeneration: 2 }), drop, 2)).toEqual({
      outcome: "repeat",
    });
    expect(decideMark(undefined, consumed(), 2)).toEqual({ outcome: "gone" });
  });
});

describe("guards", () => {
  it("hold exactly on the state their decision was taken from", () => {
    const r = recorded({ dueAt: "t", compactedGeneration: 1 });
    expect(guardHolds({ kind: "absent" }, undefined)).toBe(true);
    expect(guardHolds({ kind: "absent" }, r)).toBe(false);
    expect(guardHolds({ kind: "sequencerIs", sequencer: seq("10") }, r)).toBe(true);
    expect(guardHolds({ kind: "sequencerIs", sequencer: seq("11") }, r)).toBe(false);
    expect(guardHolds({ kind: "liveAndOlderThan", sequencer: seq("11") }, r)).toBe(true);
    expect(guardHolds({ kind: "liveAndOlderThan", sequencer: seq("11") }, { ...r, status: "removed" })).toBe(
      false,
    );
    expect(guardHolds({ kind: "liveAndOlderThan", sequencer: seq("10") }, r)).toBe(false);
    expect(
      guardHolds({ kind: "removedAndOlderThan", sequencer: seq("11") }, { ...r, status: "removed" }),
    ).toBe(true);
    expect(guardHolds({ kind: "removedAndOlderThan", sequencer: seq("11") }, r)).toBe(false);
    expect(guardHolds({ kind: "absentOrOlderThan", sequencer: seq("11") }, undefined)).toBe(true);
    expect(guardHolds({ kind: "absentOrOlderThan", sequencer: seq("10") }, r)).toBe(false);
    const planned = { kind: "asPlanned", status: "pending", eTag: "e1", stillDue: true } as const;
    expect(guardHolds(planned, r)).toBe(true);
    expect(guardHolds(planned, { ...r, eTag: "e2" })).toBe(false);
    expect(guardHolds(planned, recorded())).toBe(false);
    expect(guardHolds({ ...planned, sequencer: seq("11") }, r)).toBe(false);
    expect(guardHolds({ kind: "compactedGenerationIs", generation: 1 }, r)).toBe(true);
    expect(guardHolds({ kind: "compactedGenerationIs", generation: undefined }, recorded())).toBe(true);
    expect(guardHolds({ kind: "compactedGenerationIs", generation: undefined }, undefined)).toBe(false);
    expect(guardHolds({ kind: "statusIs", status: "quarantined" }, r)).toBe(false);
  });
});

describe("settling a decision under races", () => {
  /** A record in a variable, written only when the guard holds, with `interfere` run before each write. */
  function racingRecord(
    initial: RecordedVersion | undefined,
    interfere: (round: number) => RecordedVersion | undefined,
  ) {
    let current = initial;
    const writes: VersionWrite[] = [];
    let round = 0;
    return {
      writes,
      get current() {
        return current;
      },
      write: async (write: VersionWrite) => {
        current = interfere(round++) ?? current;
        if (!guardHolds(write.guard, current)) return { ok: false as const, current: async () => current };
        writes.push(write);
        current = { ...(current ?? recorded()), sequencer: seq("99") };
        return { ok: true as const };
      },
    };
  }

  it("re-decides on the record a lost race left: a create that finds a newer event is stale", async () => {
    // Another event for the key lands between our read-free first try and our write.
    const r = racingRecord(undefined, (round) =>
      round === 0 ? recorded({ sequencer: seq("30") }) : undefined,
    );
    expect(await registerCreatedVersion({ key: "k", eTag: "e2", sequencer: "20" }, r.write)).toBe("stale");
    expect(r.writes).toEqual([]);
  });

  it("re-decides after a lost compare-and-set: an older record that moved on becomes a replace of the new one", async () => {
    const r = racingRecord(recorded(), (round) =>
      round === 1 ? recorded({ eTag: "e3", sequencer: seq("15") }) : undefined,
    );
    expect(await registerCreatedVersion({ key: "k", eTag: "e2", sequencer: "20" }, r.write)).toBe("replaced");
    expect(r.writes).toEqual([{ kind: "newVersion", guard: { kind: "sequencerIs", sequencer: seq("15") } }]);
  });

  it("gives up with a retryable error when the key never stops changing", async () => {
    let n = 0;
    const r = racingRecord(recorded(), () => recorded({ sequencer: seq((++n).toString(16)), eTag: `x${n}` }));
    await expect(
      registerCreatedVersion({ key: "k", eTag: "e2", sequencer: "FFFF" }, r.write),
    ).rejects.toMatchObject({
      retryable: true,
    });
    expect(n).toBe(MAX_RACE_ROUNDS + 1);
  });

  it("answers from a failed guard alone when it proves the outcome", async () => {
    const decision: VersionDecision<"rejected" | "stale"> = {
      outcome: "rejected",
      write: { kind: "rejected", guard: { kind: "absent" } },
      ifGuardFails: "stale",
    };
    const outcome = await settleVersion({
      first: decision,
      decide: () => {
        throw new Error("must not re-read");
      },
      write: async () => ({ ok: false, current: async () => recorded() }),
      exhausted: () => "rejected",
    });
    expect(outcome).toBe("stale");
  });

  it("falls back to recording the lake's version when the mark's planned version changed", async () => {
    const r = racingRecord(recorded(), (round) =>
      round === 0 ? recorded({ eTag: "e2", sequencer: seq("20") }) : undefined,
    );
    expect(await markConsumedVersion(consumed(), 2, r.write)).toBe("newerVersion");
    expect(r.writes.map((w) => w.kind)).toEqual(["recordLakeVersion"]);
  });
});

describe("the in-memory store registers with these rules", () => {
  const config = loadConfig({ env: { COMPACTER_RAW_BUCKET: "raw" } });
  const layout = {
    rawPrefix: "",
    keyTimeZone: config.keyTimeZone,
    partitionTimeZone: config.partitionTimeZone,
  };
  const parsed = parseRawKey("BRCB/DEV1/2025121209/2025121209.txt.gz", layout);
  if (!parsed.ok) throw new Error(parsed.reason);
  const file = parsed.value;
  const now = "2025-12-12T03:00:00.000Z";
  const timing = fileTiming(file.hourStartMs, Date.parse("2025-12-12T01:10:00.000Z"), config);
  const created = (store: InMemoryManifestStore, eTag: string, sequencer: string) =>
    store.registerCreated({
      file,
      version: { key: file.key, eTag, size: 1, sequencer, arrivedAt: now },
      timing,
      nowIso: now,
    });
  const removed = (store: InMemoryManifestStore, sequencer: string) =>
    store.registerRemoved({ file, sequencer, arrivedAt: now, timing, nowIso: now });

  it("answers the sequence the DynamoDB store answers (dynamoManifestStore.test.ts)", async () => {
    const store = new InMemoryManifestStore();
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => created(store, "e1", "0055AED6DCD90281E5")));
    expect(results.map((r) => r.result).sort()).toEqual(["registered", "stale", "stale", "stale", "stale"]);
    expect(await store.listFiles(file.partition)).toHaveLength(1);
    expect((await created(store, "e1", "0055AED6DCD90281E6")).result).toBe("duplicate");
    expect((await removed(store, "0055AED6DCD90281E4")).result).toBe("stale");
    expect((await removed(store, "0055AED6DCD90281E7")).result).toBe("removed");
    expect((await removed(store, "0055AED6DCD90281E8")).result).toBe("duplicate");
    expect((await created(store, "e1", "0055AED6DCD90281E9")).result).toBe("replaced");
    expect(await store.getFile(file.partition, file.key)).toMatchObject({ status: "pending", versions: 2 });

    const other = new InMemoryManifestStore();
    expect((await removed(other, "50")).result).toBe("removed");
    expect((await created(other, "e1", "40")).result).toBe("stale");
    expect(await other.getFile(file.partition, file.key)).toMatchObject({ status: "removed", versions: 0 });
  });

  it("re-queues a quarantined file and nothing else", async () => {
    const store = new InMemoryManifestStore();
    await created(store, "e1", "10");
    expect(await store.requeueQuarantined(file.partition, file.key, now, now)).toBe(false);
    const mark: ConsumedFile = { ...consumed({ key: file.key, outcome: "quarantined", error: "bad" }) };
    await store.markConsumed(file.partition, 1, [mark], now);
    expect(await store.listProblems("quarantined")).toHaveLength(1);
    expect(await store.requeueQuarantined(file.partition, file.key, "2025-12-12T05:00:00.000Z", now)).toBe(
      true,
    );
    expect(await store.getFile(file.partition, file.key)).toMatchObject({
      status: "pending",
      dueAt: "2025-12-12T05:00:00.000Z",
    });
    expect(await store.listProblems("quarantined")).toEqual([]);
    expect(await store.requeueQuarantined(file.partition, file.key, now, now)).toBe(false);
  });
});
