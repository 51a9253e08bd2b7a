import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DynamoManifestStore } from "@compacter/aws";
import type { LocalResources } from "@compacter/local";
import { beforeAll, describe, expect, it } from "vitest";
import { inProcess } from "../../helpers/cli.js";
import { useLocalStack } from "../../helpers/localStack.js";
import { SEED, seedManifest } from "./seedManifest.js";

const stack = useLocalStack();
const CLI = fileURLToPath(new URL("../../../packages/cli/bin/compacter.js", import.meta.url));
let resources: LocalResources;

beforeAll(async () => {
  resources = await stack.createResources("manifest-cli");
  const store = new DynamoManifestStore({
    client: stack.clients.dynamodb,
    tableName: resources.manifestTable,
  });
  await seedManifest(store, stack.config(resources));
  // In-process runs below read the same environment a spawned `compacter` gets.
  Object.assign(process.env, stack.env(resources), { COMPACTER_LOG_LEVEL: "warn" });
});

function compacter(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...stack.env(resources), COMPACTER_LOG_LEVEL: "warn" } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function json(...args: string[]): Promise<unknown> {
  const result = await inProcess(...args, "--json");
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

describe("compacter manifest", () => {
  it("answers each access pattern as JSON", async () => {
    const ofDay = await json("manifest", "partitions", "--day", "2025-12-12");
    const range = await json(
      "manifest",
      "partitions",
      "--district",
      "BRCB",
      "--from",
      "2025-12-10",
      "--to",
      "2025-12-12",
    );
    const pending = await json(
      "manifest",
      "files",
      "--day",
      "2025-12-12",
      "--district",
      "BRCB",
      "--status",
      "pending",
    );
    const history = await json("manifest", "history", "--day", "2025-12-12", "--district", "BRCB");
    const problems = await json("manifest", "problems");
    expect(ofDay).toEqual([
      expect.objectContaining({
        partition: SEED.partition,
        generation: 1,
        files: [{ key: SEED.lakeFile, rows: 3600, bytes: 150_000 }],
        pendingFiles: 2,
        dueAt: "2025-12-12T17:00:00.000Z",
      }),
      expect.objectContaining({
        partition: { day: "2025-12-12", district: "KLTA" },
        generation: 0,
        pendingFiles: 1,
      }),
    ]);
    expect((range as { partition: { day: string } }[]).map((p) => p.partition.day)).toEqual([
      "2025-12-10",
      "2025-12-11",
      "2025-12-12",
    ]);
    expect((pending as { key: string; late: boolean }[]).map((f) => [f.key, f.late])).toEqual([
      [SEED.pending, false],
      [SEED.late, true],
    ]);
    expect(history).toEqual([
      expect.objectContaining({ generation: 1, plan: "append", rowsOut: 3600, badLines: 2 }),
    ]);
    expect(problems).toEqual([
      expect.objectContaining({
        key: SEED.rejected,
        status: "rejected",
        reason: expect.stringMatching(/segment/),
      }),
      expect.objectContaining({
        key: SEED.quarantined,
        status: "quarantined",
        error: expect.stringMatching(/gzip/),
      }),
    ]);
  });

  it("prints aligned tables for people", async () => {
    const files = await inProcess("manifest", "files", "--day", "2025-12-12", "--district", "BRCB");
    const problems = await inProcess("manifest", "problems", "--status", "rejected");
    // One real process: the binary, its tsx loader and the environment-only configuration.
    const status = await compacter("status");
    const lines = files.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2 + 4);
    expect(lines[0]).toMatch(/^key\s+status\s+hour\s+size/);
    expect(lines[1]).toMatch(/^-+ {2}-+/);
    // Columns line up: every row has its status where the header has it.
    const statusColumn = lines[0]?.indexOf("status") ?? -1;
    for (const row of lines.slice(2))
      expect(row.slice(statusColumn)).toMatch(/^(compacted|quarantined|pending)\b/);
    expect(problems.stdout).toContain(SEED.rejected);
    expect(problems.stdout).not.toContain(SEED.quarantined);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^Queues\n/);
    expect(status.stdout).toContain("ingest DLQ");
    expect(status.stdout).toMatch(/Partitions with due work\n/);
  });

  it("exits 2 on usage errors", async () => {
    const results = [
      await inProcess("manifest", "partitions"),
      await inProcess("manifest", "partitions", "--day", "2025-12-12", "--district", "BRCB"),
      await inProcess(
        "manifest",
        "partitions",
        "--district",
        "BRCB",
        "--from",
        "2025-12-12",
        "--to",
        "2025-12-10",
      ),
      await inProcess("manifest", "files", "--day", "2025-12-12"),
      await inProcess("manifest", "files", "--day", "2025-02-30", "--district", "BRCB"),
      await inProcess("manifest", "files", "--day", "2025-12-12", "--district", "BRCB", "--status", "bogus"),
      await inProcess("manifest", "problems", "--status", "pending"),
    ];
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(results[4]?.stderr).toMatch(/2025-02-30/);
  });
});
