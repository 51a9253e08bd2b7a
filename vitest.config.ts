import { defineConfig } from "vitest/config";

// Versions are pinned in package-lock.json; the SDK's notice about its future Node
// support would otherwise repeat in every test worker's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One local AWS stack for the whole run; tests reach it through test/helpers/localStack.ts.
    globalSetup: ["test/helpers/globalSetup.ts"],
    // Integration tests run real emulators and DuckDB; give them room without
    // asserting on time anywhere.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
