import type { DistrictSchema, TypeLedger } from "@compacter/core";
import type { DynamoTable } from "./DynamoTable.js";
import { Expression } from "./expressions.js";
import { ITEM_KIND, LEDGER_PK, SK, schemaPk, toTypeLedger } from "./manifestItems.js";

/**
 * The versioned single items: a district's schema and the lake-wide type ledger. Both are
 * written compare-and-set on their version, so a writer that raced another re-reads and
 * merges. Split out of DynamoManifestStore, which delegates here.
 */
export class SchemaLedger {
  constructor(private readonly table: DynamoTable) {}

  async getSchema(district: string): Promise<DistrictSchema | undefined> {
    const item = await this.table.getItem({ pk: schemaPk(district), sk: SK.schema });
    if (!item) return undefined;
    return {
      district: String(item.district),
      version: Number(item.version),
      columns: item.columns as DistrictSchema["columns"],
    };
  }

  async putSchema(schema: DistrictSchema): Promise<boolean> {
    const e = new Expression();
    const condition = nextVersion(e, schema.version);
    return this.table.put(
      {
        pk: schemaPk(schema.district),
        sk: SK.schema,
        kind: ITEM_KIND.schema,
        district: schema.district,
        version: schema.version,
        columns: schema.columns,
      },
      condition,
      e,
    );
  }

  // ── Lake-wide type ledger ─────────────────────────────────────────────────────────

  async getLedger(): Promise<TypeLedger | undefined> {
    const item = await this.table.getItem({ pk: LEDGER_PK, sk: SK.schema });
    return item ? toTypeLedger(item) : undefined;
  }

  async putLedger(ledger: TypeLedger): Promise<boolean> {
    const e = new Expression();
    // The one conditional write of a widening: a writer that raced us re-reads and merges.
    const condition = nextVersion(e, ledger.version);
    return this.table.put({ ...ledger, pk: LEDGER_PK, sk: SK.schema, kind: ITEM_KIND.ledger }, condition, e);
  }
}

/**
 * The condition for writing `version` of a versioned item: core's isNextVersion
 * (manifest/partitionRules.ts) encoded for DynamoDB — schema and ledger share this one rule.
 */
function nextVersion(e: Expression, version: number): string {
  return version <= 1
    ? `attribute_not_exists(${e.name("pk")})`
    : `${e.name("version")} = ${e.value(version - 1)}`;
}
