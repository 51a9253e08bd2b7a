import { ConfigError } from "@compacter/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import cliPackage from "../../../packages/cli/package.json" with { type: "json" };
import { explainAwsError, NO_REGION } from "../../../packages/cli/src/awsErrors.js";
import { inProcess } from "../../helpers/cli.js";

/** The CLI's contract at its edge: exit codes and the one line a person reads. */
afterEach(() => {
  vi.unstubAllEnvs();
});

describe("compacter", () => {
  it("prints its version", async () => {
    const result = await inProcess("--version");
    expect(result).toMatchObject({ code: 0, stdout: `${cliPackage.version}\n` });
  });

  it("exits 2 with one line naming the variable and the flag when a role's setting is missing", async () => {
    vi.stubEnv("COMPACTER_INGEST_QUEUE_URL", "");
    vi.stubEnv("COMPACTER_LOG_LEVEL", "silent");
    const result = await inProcess("run", "--no-sweep", "--no-compaction");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^compacter: COMPACTER_INGEST_QUEUE_URL \/ --ingest-queue-url \(ingestQueueUrl\) is not set, and the ingest role needs it/,
    );
    // One line, no stack trace.
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("exits 2 with one line for an invalid setting, naming the variable and the flag", async () => {
    vi.stubEnv("COMPACTER_ZSTD_LEVEL", "40");
    const result = await inProcess("run");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^compacter: invalid settings: COMPACTER_ZSTD_LEVEL \/ --zstd-level .*at most 22/,
    );
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("turns the SDK's missing region into what to load or set (a configuration error)", () => {
    const explained = explainAwsError(new Error("Region is missing"));
    expect(explained).toBeInstanceOf(ConfigError);
    expect((explained as Error).message).toBe(NO_REGION);
    expect(NO_REGION).toContain("set -a; . .compacter/local.env; set +a");
    expect(NO_REGION).toContain("AWS_REGION");
  });
});

describe("compacter dev", () => {
  it("shows the log level it runs with by default (warn), not the registry's", async () => {
    const result = await inProcess("dev", "--help");
    expect(result.code).toBe(0);
    expect(result.stdout.replace(/\s+/g, " ")).toContain("[COMPACTER_LOG_LEVEL, default warn]");
  });

  it("retires --env-file (Node 20 takes it as its own) in favour of --write-env", async () => {
    const help = await inProcess("dev", "--help");
    expect(help.stdout).toContain("--write-env <file>");
    expect(help.stdout).not.toContain("--env-file");
    const result = await inProcess("dev", "--env-file", "local.env");
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "compacter: --env-file is now --write-env (compacter dev --write-env local.env)\n",
    );
  });
});
