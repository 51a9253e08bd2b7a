import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The project's structural rules, checked on every test run so anyone can see them fail:
 * no source file over 400 lines, and a core that decides without doing I/O of its own
 * (no AWS SDK, no DuckDB, no file system: adapters implement its interfaces).
 * Import cycles are checked by `npm run check:cycles` (dpdm), part of `npm run check`.
 */
const REPO = fileURLToPath(new URL("../..", import.meta.url));
const MAX_LINES = 400;

/** Module specifiers packages/core must never load. */
const FORBIDDEN_IN_CORE: readonly { readonly what: string; readonly pattern: RegExp }[] = [
  { what: "an AWS SDK", pattern: /^(@aws-sdk\/|@smithy\/|aws-sdk$)/ },
  { what: "DuckDB", pattern: /^(@duckdb\/|duckdb($|\/))/ },
  { what: "the file system", pattern: /^(node:)?fs($|\/)/ },
];

/**
 * Known, named exceptions, each with the reason it still exists. The test fails when an
 * exception is no longer needed, so this list can only shrink.
 */
const KNOWN_CORE_EXCEPTIONS: Readonly<Record<string, string>> = {};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

function packageSources(): string[] {
  return readdirSync(join(REPO, "packages"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      try {
        return sourceFiles(join(REPO, "packages", entry.name, "src"));
      } catch {
        return [];
      }
    });
}

/** Every module a file loads: static imports and re-exports, `import("…")`, `require("…")`. */
function importedSpecifiers(text: string): string[] {
  const found = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gm),
    ...text.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
    ...text.matchAll(/\b(?:import|require)\s*\(\s*["']([^"']+)["']\s*\)/g),
  ];
  return found.map((match) => match[1] ?? "");
}

describe("source files", () => {
  it(`stay under ${MAX_LINES} lines each`, () => {
    const files = packageSources();
    expect(files.length).toBeGreaterThan(100);
    const tooLong = files
      .map((path) => ({
        file: relative(REPO, path),
        lines: readFileSync(path, "utf8").split("\n").length - 1,
      }))
      .filter(({ lines }) => lines > MAX_LINES);
    expect(tooLong).toEqual([]);
  });
});

describe("packages/core", () => {
  it("imports no AWS SDK, no DuckDB and no file system (adapters do I/O)", () => {
    const files = packageSources().filter((path) => relative(REPO, path).startsWith("packages/core/"));
    expect(files.length).toBeGreaterThan(20);
    const violations: Record<string, string> = {};
    for (const path of files) {
      for (const specifier of importedSpecifiers(readFileSync(path, "utf8"))) {
        const rule = FORBIDDEN_IN_CORE.find(({ pattern }) => pattern.test(specifier));
        if (rule) violations[relative(REPO, path)] = specifier;
      }
    }
    expect(violations).toEqual(KNOWN_CORE_EXCEPTIONS);
  });

  it("declares no dependency on them either", () => {
    const manifest = JSON.parse(readFileSync(join(REPO, "packages/core/package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    const forbidden = Object.keys(manifest.dependencies ?? {}).filter((name) =>
      FORBIDDEN_IN_CORE.some(({ pattern }) => pattern.test(name)),
    );
    expect(forbidden).toEqual([]);
  });

  it("recognises every way a module is loaded (so the rule above can fail)", () => {
    const text = [
      'import { readFile } from "node:fs/promises";',
      'import type { S3Client } from "@aws-sdk/client-s3";',
      "export { DuckDBInstance } from '@duckdb/node-api';",
      'import "fs";',
      'const fs = await import("node:fs");',
      'const sdk = require("aws-sdk");',
      'import {\n  a,\n  b,\n} from "@smithy/types";',
    ].join("\n");
    const specifiers = importedSpecifiers(text);
    expect(specifiers.sort()).toEqual(
      [
        "node:fs/promises",
        "@aws-sdk/client-s3",
        "@duckdb/node-api",
        "fs",
        "node:fs",
        "aws-sdk",
        "@smithy/types",
      ].sort(),
    );
    for (const specifier of specifiers) {
      expect(
        FORBIDDEN_IN_CORE.some(({ pattern }) => pattern.test(specifier)),
        specifier,
      ).toBe(true);
    }
  });
});
