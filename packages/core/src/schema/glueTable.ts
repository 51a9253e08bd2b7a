import type { ColumnType } from "./columns.js";
import type { TypeLedger } from "./ledger.js";

/**
 * The ledger as a Glue/Athena table: the shape of Glue's `TableInput` (plain data, so the
 * core needs no SDK) and the equivalent `CREATE EXTERNAL TABLE` for users who manage their
 * own catalog. Both come from the same function, so the deployed table and the printed DDL
 * cannot drift apart.
 *
 * Partitions are found by projection, never by crawling or `MSCK REPAIR`:
 * - `hiveperiod` is a date projection from the ledger's first day to NOW (partitions that
 *   don't exist yet read as empty);
 * - `district` is an `enum` the compactor extends when a district first compacts. An
 *   `injected` projection would need no upkeep, but Athena then refuses every query that
 *   does not pin `district` with an equality — and the first thing an analyst asks is a
 *   fleet-wide aggregate. An enum keeps `SELECT … GROUP BY district` working.
 */
export interface GlueColumn {
  readonly Name: string;
  readonly Type: string;
  readonly Comment?: string;
}

export interface GlueTableInput {
  readonly Name: string;
  readonly TableType: "EXTERNAL_TABLE";
  readonly Parameters: Readonly<Record<string, string>>;
  readonly PartitionKeys: readonly GlueColumn[];
  readonly StorageDescriptor: {
    readonly Columns: readonly GlueColumn[];
    readonly Location: string;
    readonly InputFormat: string;
    readonly OutputFormat: string;
    readonly SerdeInfo: {
      readonly SerializationLibrary: string;
      readonly Parameters: Readonly<Record<string, string>>;
    };
  };
}

export interface LakeTableOptions {
  readonly tableName: string;
  /** `s3://bucket/prefix/` of the lake (ends with `/`). */
  readonly location: string;
  /** Used when the ledger has no day yet. */
  readonly fallbackFirstDay: string;
}

/** The table parameter holding the ledger version it shows: a table at a newer version is never moved back. */
export const LEDGER_VERSION_PARAMETER = "compacter.ledger.version";

/** Hive/Glue type of a ledger type. JSON columns hold JSON text. */
export function glueTypeOf(type: ColumnType): string {
  switch (type) {
    case "BOOLEAN":
      return "boolean";
    case "INTEGER":
      return "int";
    case "BIGINT":
      return "bigint";
    case "DOUBLE":
      return "double";
    case "VARCHAR":
    case "JSON":
      return "string";
  }
}

/** The columns Compacter adds after the raw ones (writeOutputs.ts writes them last). */
const ADDED_GLUE_COLUMNS: readonly GlueColumn[] = [
  { Name: "device_id", Type: "string", Comment: "device id from the raw key" },
  { Name: "source_file", Type: "string", Comment: "raw object key the row came from" },
  { Name: "event_time", Type: "timestamp", Comment: "from heartbeat, unit normalised (UTC instant)" },
];

/** The Glue TableInput of the lake table for `ledger`. */
export function lakeTableInput(ledger: TypeLedger | undefined, options: LakeTableOptions): GlueTableInput {
  const location = options.location.endsWith("/") ? options.location : `${options.location}/`;
  const columns: GlueColumn[] = (ledger?.columns ?? []).map((c) => ({
    Name: c.name,
    Type: glueTypeOf(c.type),
    ...(c.field !== undefined ? { Comment: `raw key ${JSON.stringify(c.field)}`.slice(0, 255) } : {}),
  }));
  const districts = ledger?.districts ?? [];
  const firstDay = ledger?.firstDay ?? options.fallbackFirstDay;
  return {
    Name: options.tableName,
    TableType: "EXTERNAL_TABLE",
    Parameters: {
      classification: "parquet",
      EXTERNAL: "TRUE",
      "projection.enabled": "true",
      "projection.hiveperiod.type": "date",
      "projection.hiveperiod.format": "yyyy-MM-dd",
      "projection.hiveperiod.range": `${firstDay},NOW`,
      "projection.hiveperiod.interval": "1",
      "projection.hiveperiod.interval.unit": "DAYS",
      "projection.district.type": "enum",
      // An enum needs at least one value; a lake with no district yet has no rows either.
      "projection.district.values": districts.length > 0 ? districts.join(",") : "none",
      "storage.location.template": `${location}hiveperiod=\${hiveperiod}/district=\${district}/`,
      [LEDGER_VERSION_PARAMETER]: String(ledger?.version ?? 0),
    },
    PartitionKeys: [
      { Name: "hiveperiod", Type: "string", Comment: "day in partitionTimeZone (YYYY-MM-DD)" },
      { Name: "district", Type: "string" },
    ],
    StorageDescriptor: {
      Columns: [...columns, ...ADDED_GLUE_COLUMNS],
      Location: location,
      InputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
      OutputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
      SerdeInfo: {
        SerializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        Parameters: { "serialization.format": "1" },
      },
    },
  };
}

/** Athena's `CREATE EXTERNAL TABLE` for a TableInput (same table, as SQL). */
export function athenaDdl(input: GlueTableInput, database?: string): string {
  const quote = (s: string) => `'${s.replaceAll("'", "\\'")}'`;
  const column = (c: GlueColumn) =>
    `  \`${c.Name}\` ${c.Type}${c.Comment !== undefined ? ` COMMENT ${quote(c.Comment)}` : ""}`;
  const name = database ? `\`${database}\`.\`${input.Name}\`` : `\`${input.Name}\``;
  const properties = Object.entries(input.Parameters)
    .filter(([key]) => key !== "EXTERNAL")
    .map(([key, value]) => `  ${quote(key)} = ${quote(value)}`);
  return [
    `CREATE EXTERNAL TABLE ${name} (`,
    input.StorageDescriptor.Columns.map(column).join(",\n"),
    ")",
    "PARTITIONED BY (",
    input.PartitionKeys.map(column).join(",\n"),
    ")",
    "STORED AS PARQUET",
    `LOCATION ${quote(input.StorageDescriptor.Location)}`,
    "TBLPROPERTIES (",
    properties.join(",\n"),
    ");",
  ].join("\n");
}
