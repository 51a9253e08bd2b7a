import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type AttributeValue, QueryCommand, type QueryCommandInput } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { DynamoManifestStore } from "@compacter/aws";
import type { LocalResources } from "@compacter/local";
import { beforeAll, describe, expect, it } from "vitest";
import { useLocalStack } from "../../helpers/localStack.js";
import { SEED, seedManifest } from "./seedManifest.js";

/**
 * Proves docs/manifest.md: every `aws dynamodb query` on the page is parsed as the aws CLI
 * would (shell quoting, `$VARIABLES`, every option) and sent through the SDK to the local
 * stack, against a manifest seeded by the real store. An option the page uses that this
 * test doesn't know fails the test, so the page can't drift into something unproven.
 */
const stack = useLocalStack();
const DOC = fileURLToPath(new URL("../../../docs/manifest.md", import.meta.url));

let resources: LocalResources;

beforeAll(async () => {
  resources = await stack.createResources("manifest-docs");
  const store = new DynamoManifestStore({
    client: stack.clients.dynamodb,
    tableName: resources.manifestTable,
  });
  await seedManifest(store, stack.config(resources));
});

/** What each example on the page returns for the seeded manifest, in page order. */
const EXPECTED: { readonly items: number; readonly check?: (items: Record<string, unknown>[]) => void }[] = [
  // 1. files of the partition; only pending; one file
  {
    items: 4,
    check: (items) => {
      expect(items.map((i) => i.key)).toContain(SEED.late);
      expect(Object.keys(items[0] ?? {})).not.toContain("pk"); // the projection applied
    },
  },
  { items: 2, check: (items) => expect(items.every((i) => i.status === "pending")).toBe(true) },
  {
    items: 1,
    check: ([i]) =>
      expect(i).toMatchObject({ key: SEED.compacted, status: "compacted", compactedETag: "c0ffee" }),
  },
  // 2. state; state + files
  { items: 1, check: ([i]) => expect(i).toMatchObject({ generation: 1, files: [{ key: SEED.lakeFile }] }) },
  { items: 5 },
  // 3. partitions of a day; of a district over a range
  {
    items: 2,
    check: (items) => expect(items.map((i) => i.partitionDistrict).sort()).toEqual(["BRCB", "KLTA"]),
  },
  {
    items: 3,
    check: (items) =>
      expect(items.map((i) => i.partitionDay)).toEqual(["2025-12-10", "2025-12-11", "2025-12-12"]),
  },
  // 4. due now; everything waiting (2 pending + the partition's merge, 2 on earlier days, 1 in KLTA)
  { items: 6, check: (items) => expect(items.filter((i) => i.kind === "partition")).toHaveLength(1) },
  { items: 6 },
  // 5. problems (a failing partition has no status); quarantined; rejected
  {
    items: 3,
    check: (items) =>
      expect(items.map((i) => i.status ?? i.kind).sort()).toEqual(["partition", "quarantined", "rejected"]),
  },
  {
    items: 1,
    check: ([i]) => expect(i).toMatchObject({ key: SEED.quarantined, error: expect.stringMatching(/gzip/) }),
  },
  {
    items: 1,
    check: ([i]) => expect(i).toMatchObject({ key: SEED.rejected, reason: expect.stringMatching(/segment/) }),
  },
  // 5b. failing partitions; their count (what an alarm reads)
  {
    items: 1,
    check: ([i]) =>
      expect(i).toMatchObject({
        partitionDay: SEED.failing.day,
        partitionDistrict: SEED.failing.district,
        failing: {
          attempts: 3,
          lastError: "AccessDenied: Access Denied",
          nextRetryAt: "2025-12-12T06:00:00.000Z",
        },
      }),
  },
  { items: 1 },
  // 6. history
  {
    items: 1,
    check: ([i]) => expect(i).toMatchObject({ generation: 1, lateFiles: 0, nulledValues: { speed: 4 } }),
  },
  // 7. the type ledger
  {
    items: 1,
    check: ([i]) =>
      expect(i).toMatchObject({
        version: 2,
        districts: ["BRCB"],
        firstDay: "2025-12-12",
        columns: [
          { name: "speed", type: "DOUBLE" },
          { name: "rpm", type: "DOUBLE", lastWidened: "2025-12-13T02:00:00.000Z" },
        ],
      }),
  },
];

describe("docs/manifest.md", () => {
  it("documents one `aws dynamodb query` per access pattern, each running against the local stack", async () => {
    const env = {
      COMPACTER_MANIFEST_TABLE: resources.manifestTable,
      NOW: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    };
    const commands = queryCommands(readFileSync(DOC, "utf8"));
    expect(commands).toHaveLength(EXPECTED.length);
    for (const [index, command] of commands.entries()) {
      const input = toQueryInput(shellWords(command, env));
      const { Items = [], Count } = await stack.clients.dynamodb.send(new QueryCommand(input));
      const items = Items.map((item: Record<string, AttributeValue>) => unmarshall(item));
      const expected = EXPECTED[index];
      if (input.Select === "COUNT") expect(Count, command).toBe(expected?.items ?? -1);
      else expect(items, command).toHaveLength(expected?.items ?? -1);
      expected?.check?.(items);
    }
  });

  it("never names an endpoint: the environment decides between AWS and the local stack", () => {
    expect(readFileSync(DOC, "utf8")).not.toMatch(/aws [^\n]*--endpoint-url/);
  });
});

/** The `aws dynamodb query` commands of the page's ```sh blocks, continuation lines joined. */
function queryCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const [, block = ""] of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block.replace(/\\\n/g, " ").split("\n")) {
      if (line.trim().startsWith("aws dynamodb query")) commands.push(line.trim());
    }
  }
  return commands;
}

/** POSIX shell words: '…' literal, "…" with $VAR, bare words with $VAR; adjacent pieces join. */
function shellWords(command: string, env: Readonly<Record<string, string>>): string[] {
  const words: string[] = [];
  let word: string | undefined;
  const variable = (from: number): [string, number] => {
    const match = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(command.slice(from));
    const name = match?.[1] ?? match?.[2];
    if (!match || !name) throw new Error(`unsupported $ at ${from} in: ${command}`);
    const value = env[name];
    if (value === undefined) throw new Error(`the docs use $${name}, which the test does not set`);
    return [value, from + match[0].length];
  };
  let i = 0;
  while (i < command.length) {
    const c = command[i] ?? "";
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      i += 1;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${command}`);
      word = (word ?? "") + command.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      word ??= "";
      i += 1;
      while (command[i] !== '"') {
        if (i >= command.length) throw new Error(`unterminated " in: ${command}`);
        if (command[i] === "$") {
          const [value, next] = variable(i);
          word += value;
          i = next;
        } else {
          word += command[i];
          i += 1;
        }
      }
      i += 1;
    } else if (c === "$") {
      const [value, next] = variable(i);
      word = (word ?? "") + value;
      i = next;
    } else {
      word = (word ?? "") + c;
      i += 1;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

function toQueryInput(words: readonly string[]): QueryCommandInput {
  expect(words.slice(0, 3)).toEqual(["aws", "dynamodb", "query"]);
  const input: QueryCommandInput = { TableName: undefined };
  const args = words.slice(3);
  const value = (i: number) => {
    const v = args[i];
    if (v === undefined) throw new Error(`${args[i - 1]} has no value`);
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    switch (args[i]) {
      case "--table-name":
        input.TableName = value(++i);
        break;
      case "--index-name":
        input.IndexName = value(++i);
        break;
      case "--key-condition-expression":
        input.KeyConditionExpression = value(++i);
        break;
      case "--filter-expression":
        input.FilterExpression = value(++i);
        break;
      case "--projection-expression":
        input.ProjectionExpression = value(++i);
        break;
      case "--expression-attribute-names":
        input.ExpressionAttributeNames = JSON.parse(value(++i));
        break;
      case "--expression-attribute-values":
        input.ExpressionAttributeValues = JSON.parse(value(++i));
        break;
      case "--select":
        input.Select = value(++i) as QueryCommandInput["Select"];
        break;
      case "--consistent-read":
        input.ConsistentRead = true;
        break;
      case "--no-scan-index-forward":
        input.ScanIndexForward = false;
        break;
      default:
        throw new Error(`the docs use ${args[i]}, which this test does not translate`);
    }
  }
  return input;
}
