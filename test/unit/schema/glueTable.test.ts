import { athenaDdl, lakeTableInput, type TypeLedger } from "@compacter/core";
import { describe, expect, it } from "vitest";

const LEDGER: TypeLedger = {
  version: 7,
  columns: [
    { name: "speed", type: "DOUBLE", firstSeen: "t", lastWidened: "u" },
    { name: "odo", type: "BIGINT", firstSeen: "t" },
    { name: "ignition", type: "BOOLEAN", firstSeen: "t" },
    { name: "status", type: "VARCHAR", firstSeen: "t" },
    { name: "extra", type: "JSON", firstSeen: "t" },
    { name: "speed__0123456789ab", type: "INTEGER", firstSeen: "t", field: "Speed" },
  ],
  districts: ["BRCB", "KLMN"],
  firstDay: "2025-12-01",
  updatedAt: "u",
};
const OPTIONS = { tableName: "telemetry", location: "s3://lake/lake/", fallbackFirstDay: "2026-01-01" };

describe("lakeTableInput", () => {
  it("maps every ledger column to its Glue type, then the added columns", () => {
    const input = lakeTableInput(LEDGER, OPTIONS);
    expect(input.StorageDescriptor.Columns.map((c) => [c.Name, c.Type])).toEqual([
      ["speed", "double"],
      ["odo", "bigint"],
      ["ignition", "boolean"],
      ["status", "string"],
      ["extra", "string"],
      ["speed__0123456789ab", "int"],
      ["device_id", "string"],
      ["source_file", "string"],
      ["event_time", "timestamp"],
    ]);
    expect(input.StorageDescriptor.Columns[5]?.Comment).toBe('raw key "Speed"');
    expect(input.PartitionKeys.map((k) => k.Name)).toEqual(["hiveperiod", "district"]);
    expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toContain("ParquetHiveSerDe");
  });

  it("projects hiveperiod as a date from the first day and district as the ledger's districts", () => {
    const p = lakeTableInput(LEDGER, OPTIONS).Parameters;
    expect(p["projection.enabled"]).toBe("true");
    expect(p["projection.hiveperiod.type"]).toBe("date");
    expect(p["projection.hiveperiod.range"]).toBe("2025-12-01,NOW");
    expect(p["projection.hiveperiod.format"]).toBe("yyyy-MM-dd");
    expect(p["projection.district.type"]).toBe("enum");
    expect(p["projection.district.values"]).toBe("BRCB,KLMN");
    expect(p["storage.location.template"]).toBe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's template placeholders, not JavaScript's
      "s3://lake/lake/hiveperiod=${hiveperiod}/district=${district}/",
    );
  });

  it("a new district extends the projection; an empty ledger still makes a valid table", () => {
    const more = { ...LEDGER, districts: [...LEDGER.districts, "ZZZZ"] };
    expect(lakeTableInput(more, OPTIONS).Parameters["projection.district.values"]).toBe("BRCB,KLMN,ZZZZ");
    const empty = lakeTableInput(undefined, { ...OPTIONS, location: "s3://lake" });
    expect(empty.Parameters["projection.hiveperiod.range"]).toBe("2026-01-01,NOW");
    expect(empty.StorageDescriptor.Location).toBe("s3://lake/");
    expect(empty.StorageDescriptor.Columns.map((c) => c.Name)).toEqual([
      "device_id",
      "source_file",
      "event_time",
    ]);
  });
});

describe("athenaDdl", () => {
  it("prints the same table as CREATE EXTERNAL TABLE with partition projection", () => {
    const ddl = athenaDdl(lakeTableInput(LEDGER, OPTIONS), "compacter");
    expect(ddl).toContain("CREATE EXTERNAL TABLE `compacter`.`telemetry` (");
    expect(ddl).toContain("  `speed` double,");
    expect(ddl).toContain("  `speed__0123456789ab` int COMMENT 'raw key \"Speed\"',");
    expect(ddl).toContain("PARTITIONED BY (\n  `hiveperiod` string COMMENT");
    expect(ddl).toContain("STORED AS PARQUET\nLOCATION 's3://lake/lake/'");
    expect(ddl).toContain("'projection.district.values' = 'BRCB,KLMN'");
    expect(ddl).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's template placeholders, not JavaScript's
      "'storage.location.template' = 's3://lake/lake/hiveperiod=${hiveperiod}/district=${district}/'",
    );
    expect(ddl.endsWith(");")).toBe(true);
  });
});
