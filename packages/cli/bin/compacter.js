#!/usr/bin/env -S node --
// The CLI is written in TypeScript and run through tsx's loader, so a fresh clone
// needs no build step: `npm install && npx compacter --help` works on Node 20 and 22.
// The `--` ends node's own options: without it node reads a script argument
// `--env-file FILE` as its own flag (nodejs/node#54232) and exits when FILE is missing.
import { register } from "tsx/esm/api";

// Versions are pinned in package-lock.json, so the SDK's notice about its future Node
// support is noise on every command's stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
