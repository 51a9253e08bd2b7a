import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_ENV_FILE } from "../../../packages/cli/src/dev/devStack.js";

/** What a newcomer copies from the docs must work on a fresh clone after `npm start`. */
const REPO = fileURLToPath(new URL("../../..", import.meta.url));
const DOCS = [
  join(REPO, "README.md"),
  ...readdirSync(join(REPO, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => join(REPO, "docs", name)),
];

function shellLines(path: string): string[] {
  const blocks = readFileSync(path, "utf8").match(/```sh\n[\s\S]*?```/g) ?? [];
  return blocks.flatMap((block) => block.split("\n"));
}

describe("the docs' examples", () => {
  it("query a day the demo wrote, not a fixed date that no fresh stack has", () => {
    const queries = shellLines(join(REPO, "README.md")).filter((line) =>
      /compacter query|--day|--to /.test(line),
    );
    expect(queries.length).toBeGreaterThan(2);
    expect(queries.filter((line) => /--(day|to) \d{4}-\d{2}-\d{2}/.test(line))).toEqual([]);
  });

  it(`load the env file \`compacter dev\` writes (${DEFAULT_ENV_FILE}) and never pass the retired --env-file`, () => {
    for (const path of DOCS) {
      const text = readFileSync(path, "utf8");
      // Usage lines and examples; prose may still say the flag is retired.
      const usage = [
        ...shellLines(path),
        ...text.split("\n").filter((line) => line.startsWith("| `compacter")),
      ];
      expect(
        usage.filter((line) => line.includes("--env-file")),
        path,
      ).toEqual([]);
      for (const [, file] of text.matchAll(/set -a; \. ([^;]+); set \+a/g)) {
        // The local stack's file, however it is spelled (a deployment's own .env.prod is fine).
        if (!file?.endsWith("local.env")) continue;
        expect(file, path).toBe(DEFAULT_ENV_FILE);
      }
    }
  });
});
