#!/usr/bin/env -S node --
// The `--` ends node's own options: without it node reads a script argument
// `--env-file FILE` as its own flag (nodejs/node#54232) and exits when FILE is missing.
//
// Runs the compiled CLI (dist/, built by `npm install` through the root `prepare` script:
// scripts/build.mjs) while it is newer than every source file of the workspace; otherwise
// the TypeScript sources through tsx's loader, so an edit is never hidden behind a stale
// build and a checkout without a build still works (slower to start: ~1 s instead of ~0.2 s).
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

// Versions are pinned in package-lock.json, so the SDK's notice about its future Node
// support is noise on every command's stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const COMPILED = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const PACKAGES = fileURLToPath(new URL("../../", import.meta.url));

/** Newest modification time under `dir` (a few ms for the whole workspace). */
function newestMtimeMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    const mtimeMs = entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs;
    if (mtimeMs > newest) newest = mtimeMs;
  }
  return newest;
}

function compiledIsCurrent() {
  if (process.env.COMPACTER_FROM_SOURCE === "1" || !existsSync(COMPILED)) return false;
  const builtMs = statSync(COMPILED).mtimeMs;
  for (const name of readdirSync(PACKAGES)) {
    const sources = `${PACKAGES}${name}/src`;
    if (existsSync(sources) && newestMtimeMs(sources) > builtMs) return false;
  }
  return true;
}

let main;
if (compiledIsCurrent()) {
  // Stack traces then name the TypeScript lines, not the bundle's.
  process.setSourceMapsEnabled(true);
  ({ main } = await import("../dist/main.js"));
} else {
  if (existsSync(COMPILED) && process.stderr.isTTY && process.env.COMPACTER_FROM_SOURCE !== "1") {
    process.stderr.write(
      "compacter: sources changed since the last build; running them through tsx (npm run build)\n",
    );
  }
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/main.ts"));
}
process.exitCode = await main(process.argv.slice(2));
