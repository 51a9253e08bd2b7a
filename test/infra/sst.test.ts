/**
 * Offline verification of the SST program, as CI runs it on a fresh machine:
 * 1. `sst install` unpacks the platform's types into .sst/ (npm only, no AWS; skipped when
 *    .sst/ already holds the installed sst version's platform);
 * 2. tsc over sst.config.ts + infra/ (tsconfig.infra.json) must pass, and a copy of the program
 *    with a misspelt component property and an unknown S3 event name must fail, naming both;
 * 3. the compactor's `nodejs.install` list, installed the way SST installs it, must yield a
 *    working linux-x64 DuckDB.
 * `sst deploy` itself needs AWS and cannot run here.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMPACTOR_NODEJS_INSTALL } from "../../infra/sizing.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "node_modules", ".bin");
const PLATFORM = join(ROOT, ".sst", "platform");

/** A cold install downloads ~320 MB of providers with npm; CI machines start cold. */
const INSTALL_TIMEOUT_MS = 15 * 60_000;
/** tsc loads the whole AWS provider's types: ~30 s on 2 cores. */
const TSC_TIMEOUT_MS = 5 * 60_000;

interface Run {
  readonly code: number;
  readonly output: string;
}

function run(file: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  return new Promise<Run>((resolve) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, env: options.env ?? process.env, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

async function installedSstVersion(): Promise<string> {
  const manifest = JSON.parse(await readFile(join(ROOT, "node_modules", "sst", "package.json"), "utf8"));
  return manifest.version as string;
}

/** True when .sst/ holds a complete platform for the sst version in node_modules. */
async function platformIsCurrent(): Promise<boolean> {
  const complete =
    existsSync(join(PLATFORM, "config.d.ts")) &&
    existsSync(join(PLATFORM, "node_modules", "@pulumi", "aws", "package.json"));
  if (!complete) return false;
  const version = (await readFile(join(PLATFORM, "version"), "utf8")).trim();
  return version === (await installedSstVersion());
}

/**
 * Two test runs at once (a developer's and an editor's, say) must not unpack the platform
 * over each other, nor type-check one half unpacked: whoever holds this lock installs, the
 * other waits and then finds the platform current.
 */
async function withInstallLock<T>(work: () => Promise<T>): Promise<T> {
  const lock = join(ROOT, ".sst", "install.lock");
  await mkdir(dirname(lock), { recursive: true });
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      // A run killed mid-install leaves its lock behind; no install takes this long.
      if (age > INSTALL_TIMEOUT_MS) await rm(lock, { recursive: true, force: true });
      else if (Date.now() > deadline)
        throw new Error(`${lock} is still held; another sst install is running`);
      else await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function typecheck(cwd: string): Promise<Run> {
  return run(join(BIN, "tsc"), ["-p", "tsconfig.infra.json", "--pretty", "false"], { cwd });
}

/** Replaces `from` (which must occur) in a copied file, so a mutation can never silently miss. */
async function mutate(file: string, from: string, to: string): Promise<void> {
  const text = await readFile(file, "utf8");
  if (!text.includes(from)) throw new Error(`${file} no longer contains ${from}; update the mutation`);
  await writeFile(file, text.replace(from, to));
}

const scratch: string[] = [];

async function scratchDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("the SST program type-checks offline", () => {
  beforeAll(() => withInstallLock(installPlatform), INSTALL_TIMEOUT_MS);

  async function installPlatform(): Promise<void> {
    if (await platformIsCurrent()) return;
    const started = performance.now();
    const result = await run(join(BIN, "sst"), ["install"], {
      cwd: ROOT,
      env: {
        ...process.env,
        SST_SKIP_DEPENDENCY_CHECK: "1",
        SST_TELEMETRY_DISABLED: "1",
        SST_NO_BUN: "1",
        SST_STAGE: "ci",
      },
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    if (result.code !== 0) throw new Error(`sst install failed after ${seconds} s:\n${result.output}`);
    process.stderr.write(`sst install: ${seconds} s\n`);
    expect(await platformIsCurrent()).toBe(true);
  }

  it.concurrent(
    "sst.config.ts and infra/ compile without errors",
    async () => {
      const result = await typecheck(ROOT);
      // The first errors are enough to act on; tsc can print thousands.
      expect(result.output.split("\n").slice(0, 30).join("\n")).toBe("");
      expect(result.code).toBe(0);
    },
    TSC_TIMEOUT_MS,
  );

  it.concurrent(
    "a misspelt component property and an unknown event name fail the check, named",
    async () => {
      const copy = await scratchDir("compacter-sst-");
      await cp(join(ROOT, "infra"), join(copy, "infra"), { recursive: true });
      for (const file of ["sst.config.ts", "tsconfig.infra.json", "package.json"]) {
        await cp(join(ROOT, file), join(copy, file));
      }
      // The platform types, the core modules infra imports, and the workspace's packages.
      for (const shared of [".sst", "packages", "node_modules"]) {
        await symlink(join(ROOT, shared), join(copy, shared), "dir");
      }
      await mutate(join(copy, "infra", "queues.ts"), "  visibilityTimeout:", "  visibilityTimout:");
      await mutate(join(copy, "infra", "notifications.ts"), '"s3:ObjectRemoved:*"', '"s3:ObjectRemove:*"');

      const result = await typecheck(copy);
      expect(result.code).not.toBe(0);
      expect(result.output).toMatch(/infra\/queues\.ts\(\d+,\d+\): error TS\d+: .*'visibilityTimout'/);
      expect(result.output).toMatch(
        /infra\/notifications\.ts\(\d+,\d+\): error TS\d+: .*"s3:ObjectRemove:\*"/,
      );
    },
    TSC_TIMEOUT_MS,
  );
});

describe("the compactor's bundle carries DuckDB's linux-x64 binding", () => {
  const functionsRequire = createRequire(join(ROOT, "packages", "functions", "package.json"));

  it("pins @duckdb/node-api to the version the workspace installs and tests", async () => {
    const workspace = JSON.parse(await readFile(join(ROOT, "packages", "duckdb", "package.json"), "utf8"));
    const apiVersion = JSON.parse(
      await readFile(functionsRequire.resolve("@duckdb/node-api/package.json"), "utf8"),
    ).version;
    expect(COMPACTOR_NODEJS_INSTALL["@duckdb/node-api"]).toBe(workspace.dependencies["@duckdb/node-api"]);
    expect(COMPACTOR_NODEJS_INSTALL["@duckdb/node-api"]).toBe(apiVersion);
  });

  it("resolves the linux-x64 glibc binding from packages/functions, native library included", async () => {
    const bindingDir = dirname(functionsRequire.resolve("@duckdb/node-bindings-linux-x64/package.json"));
    const binding = JSON.parse(await readFile(join(bindingDir, "package.json"), "utf8"));
    expect(binding).toMatchObject({ os: ["linux"], cpu: ["x64"], libc: ["glibc"] });
    expect(binding.version).toBe(COMPACTOR_NODEJS_INSTALL["@duckdb/node-bindings-linux-x64"]);
    expect(existsSync(join(bindingDir, "duckdb.node"))).toBe(true);
  });

  /**
   * SST installs `nodejs.install` with `npm install --force --platform=linux --os=linux
   * --arch=x64 --cpu=x64` next to the bundle (pkg/runtime/node/build.go). `--libc=unknown`
   * stands for a deploying machine whose libc npm cannot match to glibc, e.g. a Mac.
   */
  async function installLikeSst(dependencies: Readonly<Record<string, string>>): Promise<string> {
    const dir = await scratchDir("compacter-bundle-");
    await writeFile(join(dir, "package.json"), JSON.stringify({ dependencies }));
    const result = await run(
      "npm",
      [
        "install",
        "--force",
        "--platform=linux",
        "--os=linux",
        "--arch=x64",
        "--cpu=x64",
        "--libc=unknown",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
      ],
      { cwd: dir },
    );
    if (result.code !== 0) throw new Error(`npm install failed:\n${result.output}`);
    return dir;
  }

  it(
    "installed the way SST does, from any machine, the list yields a DuckDB that runs",
    async () => {
      const bundle = await installLikeSst(COMPACTOR_NODEJS_INSTALL);
      expect(
        existsSync(join(bundle, "node_modules", "@duckdb", "node-bindings-linux-x64", "duckdb.node")),
      ).toBe(true);
      const probe = await run(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `import { DuckDBInstance } from "@duckdb/node-api";
           const connection = await (await DuckDBInstance.create()).connect();
           const reader = await connection.runAndReadAll("SELECT 6 * 7 AS answer");
           console.log(JSON.stringify(reader.getRowObjectsJson()));`,
        ],
        { cwd: bundle },
      );
      expect(probe.output.trim()).toBe('[{"answer":42}]');
    },
    TSC_TIMEOUT_MS,
  );

  it(
    "without the binding listed, such a machine would ship no binding at all",
    async () => {
      const bundle = await installLikeSst({
        "@duckdb/node-api": COMPACTOR_NODEJS_INSTALL["@duckdb/node-api"],
      });
      expect(existsSync(join(bundle, "node_modules", "@duckdb", "node-api"))).toBe(true);
      expect(existsSync(join(bundle, "node_modules", "@duckdb", "node-bindings-linux-x64"))).toBe(false);
    },
    TSC_TIMEOUT_MS,
  );
});
