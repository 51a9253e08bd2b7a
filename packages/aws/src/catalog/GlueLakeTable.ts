import {
  ConcurrentModificationException,
  CreateTableCommand,
  EntityNotFoundException,
  GetTableCommand,
  type GetTableCommandOutput,
  type GlueClient,
  type TableInput,
  UpdateTableCommand,
} from "@aws-sdk/client-glue";
import {
  CompacterError,
  type GlueTableInput,
  LEDGER_VERSION_PARAMETER,
  lakeTableInput,
  type TypeLedger,
} from "@compacter/core";

export interface GlueLakeTableOptions {
  readonly client: GlueClient;
  readonly databaseName: string;
  readonly tableName: string;
  /** `s3://bucket/prefix/` of the lake. */
  readonly location: string;
  /** Used while the ledger has no day yet. */
  readonly fallbackFirstDay?: string;
}

export type CatalogOutcome = "created" | "updated" | "unchanged";

const MAX_ATTEMPTS = 5;

/**
 * The Glue table over the lake, following the type ledger. Thin: the table's content is
 * core's `lakeTableInput` (pure, unit-tested); this only sends it. UpdateTable carries the
 * table's `VersionId` (a concurrent writer makes it fail, and we re-read) and `SkipArchive`
 * (Glue keeps at most 100k versions per table; a ledger that changes with every new field
 * must not use them up). A table already at this ledger version or newer is left alone, so
 * workers that raced never move the table backwards.
 */
export class GlueLakeTable {
  constructor(private readonly options: GlueLakeTableOptions) {}

  /** The TableInput for `ledger` (what create/update send). */
  tableInput(ledger: TypeLedger | undefined): GlueTableInput {
    return lakeTableInput(ledger, {
      tableName: this.options.tableName,
      location: this.options.location,
      fallbackFirstDay: this.options.fallbackFirstDay ?? new Date().toISOString().slice(0, 10),
    });
  }

  async follow(ledger: TypeLedger): Promise<CatalogOutcome> {
    const { client, databaseName, tableName } = this.options;
    const input = this.tableInput(ledger) as unknown as TableInput;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let table: GetTableCommandOutput;
      try {
        table = await client.send(new GetTableCommand({ DatabaseName: databaseName, Name: tableName }));
      } catch (error) {
        if (!(error instanceof EntityNotFoundException)) throw error;
        await client.send(new CreateTableCommand({ DatabaseName: databaseName, TableInput: input }));
        return "created";
      }
      const stored = Number(table.Table?.Parameters?.[LEDGER_VERSION_PARAMETER] ?? "0");
      if (stored >= ledger.version) return "unchanged";
      try {
        await client.send(
          new UpdateTableCommand({
            DatabaseName: databaseName,
            TableInput: input,
            ...(table.Table?.VersionId ? { VersionId: table.Table.VersionId } : {}),
            SkipArchive: true,
          }),
        );
        return "updated";
      } catch (error) {
        if (!(error instanceof ConcurrentModificationException)) throw error;
      }
    }
    throw new CompacterError(
      `Glue table ${databaseName}.${tableName} kept changing under us; the next ledger change (or sweep) retries`,
      { retryable: true },
    );
  }
}
