/**
 * The manifest table, built from the same spec the local stack and the DynamoDB adapter use.
 * The component bills on demand and turns on point-in-time recovery by itself.
 */
import { MANIFEST_TABLE_SPEC } from "../packages/core/src/manifest/tableSpec.js";

type DynamoArgs = sst.aws.DynamoArgs;
type GlobalIndexes = $util.Unwrap<NonNullable<DynamoArgs["globalIndexes"]>>;

const fields: Record<string, "string"> = Object.fromEntries(
  MANIFEST_TABLE_SPEC.attributes.map((attribute) => [attribute, "string" as const]),
);

const globalIndexes: GlobalIndexes = Object.fromEntries(
  MANIFEST_TABLE_SPEC.indexes.map((index) => [
    index.name,
    {
      hashKey: index.hashKey,
      rangeKey: index.rangeKey,
      projection: index.projection === "all" ? ("all" as const) : [...index.projection],
    },
  ]),
);

export const manifestTable = new sst.aws.Dynamo("ManifestTable", {
  fields,
  primaryIndex: { hashKey: MANIFEST_TABLE_SPEC.hashKey, rangeKey: MANIFEST_TABLE_SPEC.rangeKey },
  globalIndexes,
  deletionProtection: $app.protect,
});
