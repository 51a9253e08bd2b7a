import { isBillable, PRICES, priceClassOf } from "./prices.js";
import type { BenchReport, CostLine, RequestLine } from "./report.js";
import { sum } from "./stats.js";
import type { DayResult } from "./tasks/types.js";

/** Raw files per device-day: one per hour. */
const FILES_PER_DEVICE_DAY = 24;
/** The ingest function's batch (infra: batches of 10) and the compactor's memory (infra/sizing.ts default). */
const INGEST_BATCH = 10;
const COMPACTOR_GB = 10;
const LAMBDA_PER_REQUEST = 0.2 / 1_000_000;
const LAMBDA_PER_GB_SECOND = 0.0000166667;

/**
 * Requests per raw file over a steady-state service day, from the counts of the day task's
 * clients, plus the two requests the clients cannot see: the device's own PUT (not ours)
 * and S3's delivery of the notification to the ingest queue (an SQS SendMessage, billed to
 * the queue's owner: us).
 */
export function requestFigures(
  day: DayResult,
  files: number,
  compactionJobs: number,
): BenchReport["requests"] {
  const lines: RequestLine[] = [
    { operation: "s3:PutObject", role: "device", count: files, perFile: 1, billable: false },
    { operation: "sqs:SendMessage", role: "S3", count: files, perFile: 1, billable: true },
  ];
  for (const role of ["ingest", "sweep", "compaction"] as const) {
    for (const [operation, count] of Object.entries(day.requests[role]).sort(([a], [b]) =>
      a.localeCompare(b),
    )) {
      lines.push({ operation, role, count, perFile: count / files, billable: isBillable(operation) });
    }
  }
  const ours = lines.filter((l) => l.role !== "device");
  const billablePerFile = sum(ours.filter((l) => l.billable).map((l) => l.perFile));
  const perClass = (cls: string) =>
    sum(ours.filter((l) => l.billable && priceClassOf(l.operation) === cls).map((l) => l.perFile));
  const compactionSeconds = sum(day.steps.map((s) => s.compactMs)) / 1000;
  const cost = (item: string, perFile: number, unitPrice: number, note?: string): CostLine => ({
    item,
    perFile,
    unitPrice,
    costPerFile: perFile * unitPrice,
    costPerDeviceDay: perFile * unitPrice * FILES_PER_DEVICE_DAY,
    ...(note ? { note } : {}),
  });
  const costs = [
    cost(PRICES.s3Put.label, perClass("s3Put"), PRICES.s3Put.perUnit),
    cost(PRICES.s3Get.label, perClass("s3Get"), PRICES.s3Get.perUnit),
    cost(PRICES.sqs.label, perClass("sqs"), PRICES.sqs.perUnit, "S3's delivery included"),
    cost(
      PRICES.dynamoWrite.label,
      (day.capacity.tableWrite + day.capacity.indexWriteEstimate) / files,
      PRICES.dynamoWrite.perUnit,
      "table units as the emulator reports them + estimated index writes",
    ),
    cost(PRICES.dynamoRead.label, day.capacity.tableRead / files, PRICES.dynamoRead.perUnit),
    cost(
      "Lambda requests",
      1 / INGEST_BATCH + compactionJobs / files,
      LAMBDA_PER_REQUEST,
      `one ingest invocation per ${INGEST_BATCH} notifications, one compactor invocation per job`,
    ),
    cost(
      "Lambda compute (GB-s), compactor",
      (compactionSeconds * COMPACTOR_GB) / files,
      LAMBDA_PER_GB_SECOND,
      `estimate: this machine's compaction seconds × ${COMPACTOR_GB} GB; a 10 GB Lambda has 6 vCPUs to this machine's 2, so this is high`,
    ),
  ];
  const costPerFile = sum(costs.map((c) => c.costPerFile));
  return {
    files,
    lines,
    billablePerFile,
    emptyReceives: day.emptyReceives,
    capacity: day.capacity,
    costs,
    costPerFile,
    costPerDeviceDay: costPerFile * FILES_PER_DEVICE_DAY,
  };
}
