import {
  ConfigError,
  flagName,
  loadConfig,
  parseBytes,
  parseDurationMs,
  requireSetting,
  SETTINGS,
} from "@compacter/core";
import { describe, expect, it } from "vitest";

describe("loadConfig", () => {
  it("uses documented defaults", () => {
    const config = loadConfig();
    expect(config.closeAfterMs).toBe(60 * 60_000);
    expect(config.lateDebounceMs).toBe(5 * 60_000);
    expect(config.maxFileSizeBytes).toBe(512 * 2 ** 20);
    expect(config.keyTimeZone.minutes).toBe(480);
  });

  it("takes flags over environment over defaults", () => {
    const config = loadConfig({
      env: { COMPACTER_CLOSE_AFTER: "90s", COMPACTER_LATE_DEBOUNCE: "1m" },
      overrides: { closeAfterMs: "2s" },
    });
    expect(config.closeAfterMs).toBe(2000);
    expect(config.lateDebounceMs).toBe(60_000);
  });

  it("reports every invalid value at once, naming the variable", () => {
    const error = (() => {
      try {
        loadConfig({
          env: { COMPACTER_CLOSE_AFTER: "90", COMPACTER_THREADS: "x", COMPACTER_MEMORY_LIMIT: "1MB" },
        });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toMatch(
      /COMPACTER_CLOSE_AFTER \/ --close-after \(closeAfterMs\) from the environment: '90' is not a duration/,
    );
    expect(error?.message).toMatch(/COMPACTER_THREADS \/ --threads \(threads\)/);
    expect(error?.message).toMatch(
      /COMPACTER_MEMORY_LIMIT \/ --memory-limit \(memoryLimitBytes\) from the environment: must be at least 64MiB/,
    );
    // One line: the CLI prints it after `compacter: ` and exits 2.
    expect(error?.message).not.toContain("\n");
  });

  it("caps the ZSTD levels at 22, the highest level ZSTD has", () => {
    expect(loadConfig({ env: { COMPACTER_ZSTD_LEVEL: "22" } }).zstdLevel).toBe(22);
    expect(() => loadConfig({ env: { COMPACTER_ZSTD_LEVEL: "23" } })).toThrow(
      /COMPACTER_ZSTD_LEVEL \/ --zstd-level \(zstdLevel\) from the environment: must be at most 22/,
    );
    expect(() => loadConfig({ overrides: { mergeZstdLevel: "30" } })).toThrow(
      /--merge-zstd-level \(mergeZstdLevel\) from the flag: must be at most 22/,
    );
  });

  it("names the variable and the flag of a setting a role cannot run without", () => {
    const config = loadConfig({ env: {} });
    expect(() => requireSetting(config, "ingestQueueUrl", "the ingest role")).toThrow(ConfigError);
    expect(() => requireSetting(config, "ingestQueueUrl", "the ingest role")).toThrow(
      /^COMPACTER_INGEST_QUEUE_URL \/ --ingest-queue-url \(ingestQueueUrl\) is not set, and the ingest role needs it/,
    );
    const set = loadConfig({ env: { COMPACTER_INGEST_QUEUE_URL: "http://queue" } });
    expect(() => requireSetting(set, "ingestQueueUrl", "the ingest role")).not.toThrow();
  });

  it("refuses a staging prefix the orphan sweep or a lake reader would trip over", () => {
    expect(() => loadConfig({ overrides: { stagingPrefix: "" } })).toThrow(/stagingPrefix must not be empty/);
    expect(() =>
      loadConfig({ overrides: { lakePrefix: "lake/", stagingPrefix: "lake/hiveperiod=tmp/" } }),
    ).toThrow(/outside the lake's Hive tree/);
  });

  it("gives every setting a COMPACTER_ variable and a distinct flag", () => {
    const names = Object.keys(SETTINGS) as (keyof typeof SETTINGS)[];
    expect(new Set(names.map(flagName)).size).toBe(names.length);
    for (const name of names) expect(SETTINGS[name].env).toMatch(/^COMPACTER_[A-Z0-9_]+$/);
  });
});

describe("units", () => {
  it.each([
    ["90s", 90_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["250ms", 250],
    ["1.5h", 5_400_000],
    ["0", 0],
  ])("duration %s", (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it.each(["90", "5 minutes", "-1s", ""])("refuses duration %s", (text) => {
    expect(() => parseDurationMs(text)).toThrow(RangeError);
  });

  it.each([
    ["512MiB", 512 * 2 ** 20],
    ["1GB", 1e9],
    ["2gib", 2 * 2 ** 30],
    ["1048576", 1048576],
  ])("size %s", (text, bytes) => expect(parseBytes(text)).toBe(bytes));

  it("refuses an unknown size unit", () => expect(() => parseBytes("5 parsecs")).toThrow(RangeError));
});
