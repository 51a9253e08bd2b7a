import {
  ConcurrentModificationException,
  CreateTableCommand,
  EntityNotFoundException,
  GetTableCommand,
  type GlueClient,
  UpdateTableCommand,
} from "@aws-sdk/client-glue";
import { catalogFollower, GlueLakeTable } from "@compacter/aws";
import { silentLogger, type TypeLedger } from "@compacter/core";
import { describe, expect, it } from "vitest";

/**
 * No Glue emulator exists: this checks the requests the adapter builds, with only the Glue
 * client replaced by a recorder. The table's content is core's lakeTableInput (its own
 * unit tests); what is checked here is the protocol — create when absent, UpdateTable with
 * the read VersionId and SkipArchive, never backwards, re-read on a concurrent change.
 */
const LEDGER: TypeLedger = {
  version: 5,
  columns: [{ name: "load", type: "DOUBLE", firstSeen: "t", lastWidened: "u" }],
  districts: ["BRCB", "KLMN"],
  firstDay: "2026-12-01",
  updatedAt: "u",
};

type Reply = unknown | Error;

function recordingClient(replies: Reply[]) {
  const sent: { name: string; input: Record<string, unknown> }[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      sent.push({ name: command.constructor.name, input: command.input });
      const reply = replies.shift();
      if (reply instanceof Error) throw reply;
      return reply ?? {};
    },
  } as unknown as GlueClient;
  return { client, sent };
}

const table = (client: GlueClient) =>
  new GlueLakeTable({
    client,
    databaseName: "compacter_prod",
    tableName: "telemetry",
    location: "s3://lake/",
  });
const notFound = () => new EntityNotFoundException({ message: "Table telemetry not found", $metadata: {} });

describe("GlueLakeTable.follow", () => {
  it("creates the table when it does not exist", async () => {
    const { client, sent } = recordingClient([notFound(), {}]);
    expect(await table(client).follow(LEDGER)).toBe("created");
    expect(sent.map((s) => s.name)).toEqual([GetTableCommand.name, CreateTableCommand.name]);
    expect(sent[1]?.input).toMatchObject({
      DatabaseName: "compacter_prod",
      TableInput: {
        Name: "telemetry",
        StorageDescriptor: { Columns: expect.arrayContaining([{ Name: "load", Type: "double" }]) },
        Parameters: expect.objectContaining({ "projection.district.values": "BRCB,KLMN" }),
      },
    });
  });

  it("updates with the table's VersionId and SkipArchive when the ledger is newer", async () => {
    const { client, sent } = recordingClient([
      { Table: { VersionId: "41", Parameters: { "compacter.ledger.version": "4" } } },
      {},
    ]);
    expect(await table(client).follow(LEDGER)).toBe("updated");
    expect(sent[1]?.name).toBe(UpdateTableCommand.name);
    expect(sent[1]?.input).toMatchObject({
      DatabaseName: "compacter_prod",
      VersionId: "41",
      SkipArchive: true,
    });
    const update = sent[1]?.input.TableInput as { Parameters: Record<string, string> } | undefined;
    expect(update?.Parameters).toMatchObject({
      "compacter.ledger.version": "5",
      "projection.hiveperiod.range": "2026-12-01,NOW",
    });
  });

  it("never moves a table at the same or a newer ledger version back", async () => {
    const { client, sent } = recordingClient([
      { Table: { VersionId: "9", Parameters: { "compacter.ledger.version": "6" } } },
    ]);
    expect(await table(client).follow(LEDGER)).toBe("unchanged");
    expect(sent).toHaveLength(1);
  });

  it("re-reads and retries when another writer changed the table first", async () => {
    const { client, sent } = recordingClient([
      { Table: { VersionId: "1", Parameters: { "compacter.ledger.version": "3" } } },
      new ConcurrentModificationException({ message: "version mismatch", $metadata: {} }),
      { Table: { VersionId: "2", Parameters: { "compacter.ledger.version": "4" } } },
      {},
    ]);
    expect(await table(client).follow(LEDGER)).toBe("updated");
    expect(sent.map((s) => s.input.VersionId).filter(Boolean)).toEqual(["1", "2"]);
  });

  it("passes other errors on (an operator must fix permissions, not a retry loop)", async () => {
    const denied = Object.assign(new Error("not authorized to perform glue:UpdateTable"), {
      name: "AccessDeniedException",
    });
    const { client } = recordingClient([{ Table: { VersionId: "1" } }, denied]);
    await expect(table(client).follow(LEDGER)).rejects.toThrow(/glue:UpdateTable/);
  });
});

describe("catalogFollower", () => {
  it("is off without a catalog database, and follows the ledger with one", async () => {
    const settings = { catalogTable: "telemetry", lakeBucket: "lake", lakePrefix: "" };
    expect(catalogFollower({ ...settings, catalogDatabase: "" }, silentLogger)).toBeUndefined();
    const { client, sent } = recordingClient([notFound(), {}]);
    const follow = catalogFollower({ ...settings, catalogDatabase: "db" }, silentLogger, client);
    const change = { ledger: LEDGER, changed: true, added: [], widened: [], newDistrict: false };
    await follow?.(LEDGER, change);
    expect(sent[1]?.input).toMatchObject({ DatabaseName: "db", TableInput: { Name: "telemetry" } });
    // Jobs that find the same ledger version ask Glue nothing more.
    await follow?.(LEDGER, { ...change, changed: false });
    expect(sent).toHaveLength(2);
  });

  it("retries at the next job after a failed update, since that version was never applied", async () => {
    const settings = { catalogTable: "telemetry", lakeBucket: "lake", lakePrefix: "", catalogDatabase: "db" };
    const throttled = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
    const { client, sent } = recordingClient([
      { Table: { VersionId: "1", Parameters: { "compacter.ledger.version": "4" } } },
      throttled,
      { Table: { VersionId: "1", Parameters: { "compacter.ledger.version": "4" } } },
      {},
    ]);
    const follow = catalogFollower(settings, silentLogger, client);
    const change = { ledger: LEDGER, changed: false, added: [], widened: [], newDistrict: false };
    await expect(follow?.(LEDGER, change)).rejects.toThrow(/Rate exceeded/);
    await follow?.(LEDGER, change);
    expect(sent.filter((s) => s.name === UpdateTableCommand.name)).toHaveLength(2);
  });
});
