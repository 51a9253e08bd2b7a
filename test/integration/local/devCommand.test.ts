import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { createAwsClients } from "@compacter/aws";
import { parseEnvFile, type S3EventMessage } from "@compacter/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, cleanEnv, groupGone, killGroup, type Running, spawnInGroup } from "../../helpers/cli.js";

/**
 * `compacter dev` as a user runs it: a separate process whose env file lets another
 * process (an SDK client, the aws CLI) use the stack, and that leaves nothing behind
 * on SIGTERM / Ctrl-C.
 */
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "compacter-dev-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function waitForFile(
  path: string,
  running: Running,
  previous?: string,
): Promise<Record<string, string>> {
  for (let i = 0; i < 600; i++) {
    if (existsSync(path)) {
      const text = await readFile(path, "utf8");
      if (text !== previous) return parseEnvFile(text);
    }
    if (running.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no env file at ${path}; stderr:\n${running.stderr()}`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

function portIsOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    let connected = false;
    const socket = new Socket();
    socket.once("connect", () => {
      connected = true;
      socket.destroy();
    });
    socket.once("error", () => {});
    // 'close' comes once the probe's own handle is released
    socket.once("close", () => done(connected));
    socket.connect(Number(port), hostname);
  });
}

/** Runs `body` with `vars` in process.env (the SDK reads endpoints from there). */
async function withEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, vars);
  try {
    return await body();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

describe("compacter dev --write-env", () => {
  const envFile = () => join(dir, "local.env");
  let first: Record<string, string>;

  it("writes an env file another process can use, prints the same lines, and stops cleanly on SIGTERM", async () => {
    const [s3Port, dynamodbPort] = [await freePort(), await freePort()];
    const dev = spawnInGroup(
      BIN,
      [
        "dev",
        "--no-worker", // the stack alone: this test reads the ingest queue itself
        "--write-env",
        envFile(),
        "--s3-port",
        String(s3Port),
        "--dynamodb-port",
        String(dynamodbPort),
        "--raw-prefix",
        "raw/",
        "--close-after",
        "10s",
      ],
      cleanEnv(),
    );
    try {
      first = await waitForFile(envFile(), dev);
      expect(first).toMatchObject({
        AWS_ENDPOINT_URL: `http://127.0.0.1:${s3Port}`,
        AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${dynamodbPort}`,
        AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: expect.any(String),
        AWS_SECRET_ACCESS_KEY: expect.any(String),
        COMPACTER_RAW_BUCKET: "compacter-raw",
        COMPACTER_RAW_PREFIX: "raw/",
        COMPACTER_LAKE_BUCKET: "compacter-lake",
        COMPACTER_MANIFEST_TABLE: "compacter-manifest",
        COMPACTER_INGEST_QUEUE_URL: expect.stringContaining(`127.0.0.1:${s3Port}/`),
        COMPACTER_INGEST_DLQ_URL: expect.stringContaining("compacter-ingest-dlq"),
        COMPACTER_COMPACTION_QUEUE_URL: expect.stringContaining("compacter-compaction"),
        COMPACTER_COMPACTION_DLQ_URL: expect.stringContaining("compacter-compaction-dlq"),
        COMPACTER_CLOSE_AFTER: "10s",
      });
      expect(parseEnvFile(dev.stdout())).toEqual(first);

      // a fresh SDK client configured by nothing but these variables
      await withEnv(first, async () => {
        const clients = createAwsClients();
        try {
          await clients.s3.send(
            new PutObjectCommand({
              Bucket: first.COMPACTER_RAW_BUCKET,
              Key: "raw/BRCB/d 1/2025121201/2025121201.txt.gz",
              Body: "x",
            }),
          );
          const { Messages = [] } = await clients.sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: first.COMPACTER_INGEST_QUEUE_URL,
              MaxNumberOfMessages: 10,
            }),
          );
          const keys = Messages.map(
            (m) => (JSON.parse(m.Body ?? "{}") as Partial<S3EventMessage>).Records?.[0]?.s3.object.key,
          );
          expect(keys).toContain("raw/BRCB/d+1/2025121201/2025121201.txt.gz");
          const { TableNames } = await clients.dynamodb.send(new ListTablesCommand({}));
          expect(TableNames).toContain("compacter-manifest");
        } finally {
          clients.destroy();
        }
      });

      // the aws CLI, when installed, is a client that is not ours at all
      const aws = spawnSync(
        "aws",
        ["s3api", "put-object", "--bucket", "compacter-raw", "--key", "raw/cli ä.txt.gz", "--body", BIN],
        {
          env: { ...cleanEnv(), ...first },
          encoding: "utf8",
        },
      );
      if (!aws.error) {
        expect(aws.status, aws.stderr).toBe(0);
        await withEnv(first, async () => {
          const clients = createAwsClients();
          try {
            const { Messages = [] } = await clients.sqs.send(
              new ReceiveMessageCommand({
                QueueUrl: first.COMPACTER_INGEST_QUEUE_URL,
                MaxNumberOfMessages: 10,
              }),
            );
            expect(Messages.map((m) => m.Body).join()).toContain('"key":"raw/cli+%C3%A4.txt.gz"');
          } finally {
            clients.destroy();
          }
        });
      }

      dev.child.kill("SIGTERM");
      expect(await dev.exited).toEqual({ code: 0, signal: null });
      expect(await groupGone(dev)).toBe(true);
      expect(await portIsOpen(first.AWS_ENDPOINT_URL!)).toBe(false);
      expect(await portIsOpen(first.AWS_ENDPOINT_URL_DYNAMODB!)).toBe(false);
    } finally {
      killGroup(dev);
    }
  });

  it("works through npx over a stale env file, which node itself preloads (nodejs/node#54232), and stops on Ctrl-C", async () => {
    expect(first).toBeDefined();
    const stale = await readFile(envFile(), "utf8");
    const dev = spawnInGroup(
      "npx",
      ["compacter", "dev", "--no-worker", "--write-env", envFile()],
      cleanEnv(),
    );
    try {
      const fresh = await waitForFile(envFile(), dev, stale);
      expect(fresh.COMPACTER_CLOSE_AFTER).toBeUndefined(); // the old run's setting is not taken as given
      expect(fresh.COMPACTER_RAW_PREFIX).toBe("");
      expect(await portIsOpen(fresh.AWS_ENDPOINT_URL!)).toBe(true);

      process.kill(-dev.child.pid!, "SIGINT"); // what Ctrl-C sends: the whole foreground group
      await dev.exited;
      expect(await groupGone(dev)).toBe(true);
      expect(await portIsOpen(fresh.AWS_ENDPOINT_URL!)).toBe(false);
      expect(await portIsOpen(fresh.AWS_ENDPOINT_URL_DYNAMODB!)).toBe(false);
      expect(dev.stderr()).toContain("stopping the local stack");
    } finally {
      killGroup(dev);
    }
  });
});
