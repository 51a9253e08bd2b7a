/**
 * The analysts' table: a Glue database and an Athena/Spark-readable table over the lake,
 * so nobody writes DDL. Its content comes from core's lakeTableInput (the same function
 * `compacter schema --athena-ddl` prints): Parquet, Hive partition keys `hiveperiod` and
 * `district`, partition projection (no crawler, no MSCK REPAIR).
 *
 * Deploy creates it from an empty ledger; from then on the compactor owns the columns and
 * the projection (UpdateTable with VersionId + SkipArchive whenever the ledger changes), so
 * a redeploy must not reset them: those two properties are `ignoreChanges`.
 *
 * The compactor gets only glue:GetTable and glue:UpdateTable on this one table (and the
 * database and catalog ARNs that Glue checks for a table action), nothing else.
 */
import { type GlueColumn, lakeTableInput } from "../packages/core/src/schema/glueTable.js";
import { workerConfig } from "./deployConfig.js";
import { lakeBucket } from "./storage.js";

/** Glue names are lower-case [a-z0-9_]: the stage may hold other characters. */
export const catalogDatabaseName = `compacter_${$app.stage.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`;
export const catalogTableName = workerConfig.catalogTable;

export const catalogDatabase = new aws.glue.CatalogDatabase("LakeDatabase", {
  name: catalogDatabaseName,
  description: "Compacter's telemetry lake (tables kept current by the compactor)",
});

const tableInput = (bucket: string) =>
  lakeTableInput(undefined, {
    tableName: catalogTableName,
    location: `s3://${bucket}/${workerConfig.lakePrefix}`,
    // The compactor moves the range's start to the ledger's first day on its first update.
    fallbackFirstDay: new Date().toISOString().slice(0, 10),
  });

const columns = (list: readonly GlueColumn[]) =>
  list.map((c) => ({ name: c.Name, type: c.Type, ...(c.Comment ? { comment: c.Comment } : {}) }));

export const catalogTable = new aws.glue.CatalogTable(
  "LakeTable",
  {
    name: catalogTableName,
    databaseName: catalogDatabase.name,
    tableType: "EXTERNAL_TABLE",
    parameters: lakeBucket.name.apply((bucket) => ({ ...tableInput(bucket).Parameters })),
    partitionKeys: columns(tableInput("").PartitionKeys),
    storageDescriptor: lakeBucket.name.apply((bucket) => {
      const sd = tableInput(bucket).StorageDescriptor;
      return {
        location: sd.Location,
        inputFormat: sd.InputFormat,
        outputFormat: sd.OutputFormat,
        serDeInfo: {
          serializationLibrary: sd.SerdeInfo.SerializationLibrary,
          parameters: { ...sd.SerdeInfo.Parameters },
        },
        columns: columns(sd.Columns),
      };
    }),
  },
  { ignoreChanges: ["parameters", "storageDescriptor.columns"] },
);

const region = aws.getRegionOutput().name;
const account = aws.getCallerIdentityOutput().accountId;

/** What the compactor may do to the catalog: read and update this one table. */
export const catalogLink = new sst.Linkable("LakeCatalog", {
  properties: { database: catalogDatabase.name, table: catalogTable.name },
  include: [
    sst.aws.permission({
      actions: ["glue:GetTable", "glue:UpdateTable"],
      resources: [
        $interpolate`arn:aws:glue:${region}:${account}:catalog`,
        $interpolate`arn:aws:glue:${region}:${account}:database/${catalogDatabaseName}`,
        $interpolate`arn:aws:glue:${region}:${account}:table/${catalogDatabaseName}/${catalogTableName}`,
      ],
    }),
  ],
});
