/// <reference path="./.sst/platform/config.d.ts" />

/**
 * Compacter on AWS. One module per concern under infra/; docs/deploy.md explains the knobs.
 *
 *   raw bucket ──notification (prefix, .txt.gz)──▶ ingest queue (+DLQ) ──▶ ingest fn ──▶ manifest table
 *   schedule ──▶ sweep fn ──▶ compaction queue (+DLQ) ──▶ compactor fn (DuckDB) ──▶ lake bucket
 *                                                 optional Fargate task (same CLI) ──┘
 *
 * SST requires a default export here; infra/ modules are imported inside run() because the
 * platform's globals only exist once it runs.
 */
export default $config({
  app(input) {
    const production = input?.stage === "prod";
    return {
      name: "compacter",
      home: "aws",
      // Buckets and the table outlive `sst remove` in prod; other stages clean up after themselves.
      removal: production ? "retain" : "remove",
      protect: production,
    };
  },
  async run() {
    await import("./infra/storage.js");
    await import("./infra/queues.js");
    await import("./infra/notifications.js");
    await import("./infra/manifest.js");
    await import("./infra/catalog.js");
    const { compactorTaskOutputs } = await import("./infra/fargate.js");
    await import("./infra/functions.js");
    await import("./infra/schedule.js");
    await import("./infra/alarms.js");
    await import("./infra/dashboard.js");
    const { workerEnvironment } = await import("./infra/environment.js");
    // The COMPACTER_* variables a CLI needs to work on this stage (`compacter backfill`,
    // `status`, `query`); SST writes them to .sst/outputs.json.
    return { ...workerEnvironment(), ...compactorTaskOutputs };
  },
});
