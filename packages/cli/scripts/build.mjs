/**
 * Compiles the `compacter` CLI to JavaScript: packages/cli/src/main.ts and every workspace
 * package it reaches (@compacter/*, TypeScript sources) become one ES-module bundle in
 * packages/cli/dist/, split at the commands' dynamic imports so `--help` loads only the
 * command definitions. Third-party packages stay external: they load from node_modules as
 * they do under tsx, with their native bindings (DuckDB) and their own file layouts.
 *
 * Runs as the root `prepare` script, so `npm install` / `npm ci` leave a built CLI (about
 * a second). bin/compacter.js runs dist/ while it is newer than every source file and
 * falls back to tsx otherwise, so an edit is never hidden behind a stale build.
 *
 * Plain JavaScript on purpose: it runs before anything else is installed or built.
 */
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const CLI = fileURLToPath(new URL("..", import.meta.url));
// `--outdir DIR` (tests): somewhere else inside the repository, so node_modules still resolve.
const outdirFlag = process.argv.indexOf("--outdir");
const OUT = outdirFlag > 0 ? process.argv[outdirFlag + 1] : `${CLI}dist`;

/** Workspace packages are bundled (their `exports` point at .ts sources Node 20 cannot load). */
const WORKSPACE = /^@compacter\//;

const keepThirdPartyExternal = {
  name: "third-party-external",
  setup(esbuild) {
    esbuild.onResolve({ filter: /^[^./]/ }, (args) =>
      WORKSPACE.test(args.path) ? undefined : { path: args.path, external: true },
    );
  },
};

// A removed source file must not leave its chunk behind.
await rm(OUT, { recursive: true, force: true });
await build({
  entryPoints: { main: `${CLI}src/main.ts` },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // ScanPool's workers run helpers from their toString(): names must survive as written.
  minify: false,
  sourcemap: true,
  logLevel: "warning",
  plugins: [keepThirdPartyExternal],
});
