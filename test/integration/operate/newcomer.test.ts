import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import cliPackage from "../../../packages/cli/package.json" with { type: "json" };
import { NO_REGION } from "../../../packages/cli/src/awsErrors.js";
import { cleanEnv, REPO, spawnCompacter } from "../../helpers/cli.js";

const run = promisify(execFile);

/** What a person meets on a fresh clone, run the way they run it: a child process. */
describe("a command run without the local stack's env file", () => {
  let home: string;
  beforeAll(async () => {
    // No ~/.aws either: nothing tells the SDK a region.
    home = await mkdtemp(join(tmpdir(), "compacter-home-"));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it("says what to load or set, on one line, and exits 2 (no SDK stack trace)", async () => {
    const status = spawnCompacter(["status"], cleanEnv({ HOME: home }));
    const { code } = await status.exited;
    expect(status.stderr()).toBe(`compacter: ${NO_REGION}\n`);
    expect(code).toBe(2);
  });
});

describe("the compiled CLI (what `npm install` builds and the Fargate image runs)", () => {
  // Inside the repository, so the bundle's third-party imports resolve from node_modules
  // like packages/cli/dist's do; not dist itself, which other tests may be running.
  const outdir = join(REPO, "packages", "cli", `.dist-test-${process.pid}`);
  beforeAll(async () => {
    await run(process.execPath, [join(REPO, "packages/cli/scripts/build.mjs"), "--outdir", outdir]);
  });
  afterAll(async () => {
    await rm(outdir, { recursive: true, force: true });
  });

  async function compiled(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    const script = `const { main } = await import(${JSON.stringify(join(outdir, "main.js"))}); process.exitCode = await main(${JSON.stringify(args)});`;
    return run(process.execPath, ["--input-type=module", "-e", script], { env: cleanEnv() });
  }

  it("bundles every workspace package (Node cannot load their .ts sources) and answers --version and --help", async () => {
    const chunks = (await readdir(outdir)).filter((name) => name.endsWith(".js"));
    for (const chunk of chunks) {
      expect(await readFile(join(outdir, chunk), "utf8"), chunk).not.toMatch(/from\s*"@compacter\//);
    }
    expect((await compiled("--version")).stdout).toBe(`${cliPackage.version}\n`);
    const help = await compiled("--help");
    for (const command of ["dev", "run", "simulate", "backfill", "compact", "query", "status", "ui"]) {
      expect(help.stdout).toContain(`  ${command}`);
    }
  });
});
