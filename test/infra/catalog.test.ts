/**
 * infra/catalog.ts: the Glue database and table over the lake, and the compactor's
 * least-privilege access to it, read from the program as SST would run it (fakePlatform).
 */
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { describeValue, installFakePlatform, removeFakePlatform } from "./fakePlatform.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

async function synthesize(stage: string) {
  vi.resetModules();
  const saved = Object.entries(process.env).filter(([n]) => n.startsWith("COMPACTER_"));
  for (const [name] of saved) delete process.env[name];
  const platform = installFakePlatform(stage);
  try {
    const module = (await import(pathToFileURL(join(ROOT, "sst.config.ts")).href)) as {
      default: { run(): Promise<Record<string, unknown>> };
    };
    const outputs = describeValue(await module.default.run()) as Record<string, string>;
    return { platform, outputs };
  } finally {
    for (const [name, value] of saved) process.env[name] = value;
  }
}

afterEach(() => removeFakePlatform());

describe("infra/catalog.ts", () => {
  it("declares a Glue database named after the stage and a Parquet table with the two Hive partition keys", async () => {
    const { platform } = await synthesize("Prod-EU");
    const database = describeValue(platform.declared("aws.glue.CatalogDatabase", "LakeDatabase").args) as {
      name: string;
    };
    expect(database.name).toBe("compacter_prod_eu");
    const table = platform.declared("aws.glue.CatalogTable", "LakeTable");
    expect(describeValue(table.args)).toMatchObject({
      name: "telemetry",
      databaseName: "LakeDatabase.name",
      tableType: "EXTERNAL_TABLE",
      partitionKeys: [
        { name: "hiveperiod", type: "string" },
        { name: "district", type: "string" },
      ],
    });
    // The compactor owns the columns and the projection after the first deploy.
    expect(table.opts).toEqual({ ignoreChanges: ["parameters", "storageDescriptor.columns"] });
  });

  it("builds the table's parameters and storage from core's lakeTableInput (projection, template, Parquet)", async () => {
    const { platform } = await synthesize("dev");
    const applies = platform.calls.filter((c) => c.target === "Lake.name.apply");
    expect(applies).toHaveLength(2);
    const [parameters, storage] = applies.map((c) => (c.args[0] as (bucket: string) => unknown)("my-lake"));
    expect(parameters).toMatchObject({
      "projection.enabled": "true",
      "projection.hiveperiod.type": "date",
      "projection.district.type": "enum",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's template placeholders, not JavaScript's
      "storage.location.template": "s3://my-lake/hiveperiod=${hiveperiod}/district=${district}/",
    });
    expect(storage).toMatchObject({
      location: "s3://my-lake/",
      serDeInfo: { serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" },
      columns: [
        { name: "device_id", type: "string" },
        { name: "source_file", type: "string" },
        { name: "event_time", type: "timestamp" },
      ],
    });
  });

  it("lets only the compactor read and update this one table, and tells it the names", async () => {
    const { platform, outputs } = await synthesize("prod");
    const link = describeValue(platform.declared("sst.Linkable", "LakeCatalog").args) as {
      include: { actions: string[]; resources: string[] }[];
    };
    expect(link.include.flatMap((p) => p.actions)).toEqual(["glue:GetTable", "glue:UpdateTable"]);
    const resources = link.include.flatMap((p) => p.resources);
    expect(resources).toHaveLength(3);
    expect(resources[2]).toMatch(/:table\/compacter_prod\/telemetry$/);
    expect(resources.some((r) => r.includes("*"))).toBe(false);
    const linkedTo = platform.calls
      .filter((c) => c.target.endsWith(".subscribe"))
      .map((c) => ({
        queue: c.target,
        link: describeValue((c.args[0] as { link: unknown }).link) as string[],
      }));
    expect(linkedTo.filter((l) => l.link.includes("LakeCatalog")).map((l) => l.queue)).toEqual([
      "CompactionQueue.subscribe",
    ]);
    const sweep = describeValue(platform.declared("sst.aws.Function", "Sweep").args) as { link: string[] };
    expect(sweep.link).not.toContain("LakeCatalog");
    expect(outputs.COMPACTER_CATALOG_TABLE).toBe("LakeTable.name");
  });
});
