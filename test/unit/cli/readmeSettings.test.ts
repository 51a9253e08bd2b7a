import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SETTINGS } from "@compacter/core";
import { describe, expect, it } from "vitest";
import {
  SETTINGS_TABLE_END,
  SETTINGS_TABLE_START,
  settingsMarkdownTable,
} from "../../../packages/cli/src/settingsTable.js";

/**
 * The README's settings table is SETTINGS, rendered. When a setting is added, renamed or
 * its default changes, this fails until the README is regenerated:
 *   UPDATE_README=1 npx vitest run test/unit/cli/readmeSettings.test.ts
 */
const README = fileURLToPath(new URL("../../../README.md", import.meta.url));

function tableIn(text: string): string | undefined {
  const start = text.indexOf(SETTINGS_TABLE_START);
  const end = text.indexOf(SETTINGS_TABLE_END);
  if (start < 0 || end < start) return undefined;
  return text.slice(start + SETTINGS_TABLE_START.length, end).trim();
}

function cells(table: string): string[][] {
  return table
    .split("\n")
    .filter((line) => line.trim().startsWith("|") && !/^\|[\s|:-]+\|$/.test(line.trim()))
    .map((line) =>
      line
        .trim()
        .replace(/^\||\|$/g, "")
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

describe("README settings table", () => {
  it("is exactly what SETTINGS generates", () => {
    let text = readFileSync(README, "utf8");
    const generated = settingsMarkdownTable();
    if (process.env.UPDATE_README === "1" && tableIn(text) !== undefined) {
      const start = text.indexOf(SETTINGS_TABLE_START) + SETTINGS_TABLE_START.length;
      text = `${text.slice(0, start)}\n${generated}\n${text.slice(text.indexOf(SETTINGS_TABLE_END))}`;
      writeFileSync(README, text);
    }
    const inReadme = tableIn(text);
    expect(inReadme, "README.md has no settings table markers").toBeDefined();
    // Cell by cell: a Markdown formatter may pad the columns.
    expect(cells(inReadme ?? "")).toEqual(cells(generated));
  });

  it("names every setting with its variable, flag and default", () => {
    const table = settingsMarkdownTable();
    for (const spec of Object.values(SETTINGS)) {
      const line = table.split("\n").find((l) => l.startsWith(`| \`${spec.env}\` |`));
      expect(line, spec.env).toBeDefined();
      expect(line).toContain(spec.default === "" ? "(unset)" : `\`${spec.default}\``);
    }
  });
});
