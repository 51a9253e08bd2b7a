import { resolve } from "node:path";
import { createAwsClients, DynamoManifestStore } from "@compacter/aws";
import { CompacterError, mapLimit, parseIsoDay } from "@compacter/core";
import { explainAwsError } from "../awsErrors.js";
import type { BackfillFlags } from "../commands/backfill.js";
import { UsageError } from "../errors.js";
import { endProgress, printJson, printTable, progressLine } from "../output.js";
import { clockDuration, progressBar, thousands } from "../progressBar.js";
import { configFromFlags } from "../settingsFlags.js";
import { BackfillCheckpoint, type CheckpointScope, defaultCheckpointPath } from "./checkpoint.js";
import { createLimiter } from "./limiter.js";
import { keyDayFolders, type ListedObject, listFolder, listObjects } from "./rawListing.js";
import { type ListedOutcome, registerListedObject } from "./registerListed.js";

/**
 * Test hook, not a setting (like COMPACTER_FAULT_POINT): the process SIGKILLs itself
 * once this many device prefixes are checkpointed, to prove a crashed backfill resumes.
 */
export const BACKFILL_CRASH_AFTER_ENV = "COMPACTER_BACKFILL_CRASH_AFTER";

export interface BackfillSummary {
  readonly bucket: string;
  readonly rawPrefix: string;
  readonly scope: {
    readonly district: string | null;
    readonly from: string | null;
    readonly to: string | null;
  };
  readonly devicePrefixes: { readonly total: number; readonly done: number; readonly resumed: number };
  /** Raw-file keys (`*.txt.gz`) this run listed in range, registered or not. */
  readonly keys: number;
  /** Keys the manifest did not hold before (registered, or rejected with a reason). */
  readonly new: number;
  readonly outcomes: Readonly<Record<ListedOutcome, number>>;
  readonly seconds: number;
  readonly keysPerSecond: number;
  /** Requests per service:operation (what AWS bills). */
  readonly requests: Readonly<Record<string, number>>;
  /** Still there when the run was interrupted; deleted when it completed. */
  readonly checkpoint: string | null;
  readonly interrupted: boolean;
}

interface DeviceUnit {
  readonly district: string;
  /** `{rawPrefix}{district}/{deviceId}/`: the unit of work and of the checkpoint. */
  readonly prefix: string;
}

const OUTCOMES: readonly ListedOutcome[] = [
  "registered",
  "replaced",
  "duplicate",
  "stale",
  "removed",
  "rejected",
  "ignored",
  "outOfRange",
];

/**
 * `compacter backfill`: list the raw bucket — narrowed by district, device and key-day
 * so a date range never lists the whole bucket — and register every raw file through
 * the ingest path's idempotent manifest writes. Compaction then runs as usual.
 */
export async function runBackfill(flags: BackfillFlags): Promise<void> {
  const days = dayRange(flags);
  const config = configFromFlags(flags);
  const clients = createAwsClients();
  const store = new DynamoManifestStore({ client: clients.dynamodb, tableName: config.manifestTable });
  const scope: CheckpointScope = {
    bucket: config.rawBucket,
    rawPrefix: config.rawPrefix,
    manifestTable: config.manifestTable,
    ...(flags.district !== undefined ? { district: flags.district } : {}),
    ...(days ? days : {}),
  };
  const checkpointPath = flags.checkpoint ? resolve(flags.checkpoint) : defaultCheckpointPath(scope);
  const checkpoint = await BackfillCheckpoint.open(checkpointPath, scope, flags.restart === true);
  const crashAfter = Number(process.env[BACKFILL_CRASH_AFTER_ENV] ?? 0);
  const aborter = new AbortController();
  const interrupt = () => aborter.abort();
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);

  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<ListedOutcome, number>;
  const started = performance.now();
  const limit = createLimiter(flags.concurrency);
  const nowIso = () => new Date().toISOString();
  const register = (objects: readonly ListedObject[]) =>
    Promise.all(
      objects.map((object) =>
        limit(async () => {
          const outcome = await registerListedObject(object, {
            store,
            config,
            ...(days ? { days } : {}),
            nowIso: nowIso(),
          });
          counts[outcome] += 1;
        }),
      ),
    );

  let units: DeviceUnit[] = [];
  let done = 0;
  let resumed = 0;
  let failure: unknown;
  const progress = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    const keys = keyCount(counts);
    const todo = units.length - resumed;
    const thisRun = done - resumed;
    const eta = thisRun > 0 ? ((todo - thisRun) * elapsed) / thisRun : undefined;
    progressLine(
      units.length === 0
        ? `backfill: listing devices of s3://${config.rawBucket}/${config.rawPrefix}…`
        : `backfill ${progressBar(done, units.length)} ${done}/${units.length} device prefixes · ` +
            `${thousands(keys)} keys · ${thousands(keys / Math.max(elapsed, 0.001))} keys/s · ETA ${clockDuration(eta)}`,
    );
  }, 200);
  try {
    units = await planUnits(clients.s3, config, flags.district, days === undefined, register);
    resumed = units.filter((u) => checkpoint.has(u.prefix)).length;
    done = resumed;
    await mapLimit(units, flags.concurrency, async (unit) => {
      if (aborter.signal.aborted || checkpoint.has(unit.prefix)) return;
      const prefixes = days
        ? keyDayFolders(days, config).map((day) => `${unit.prefix}${day}`)
        : [unit.prefix];
      for (const prefix of prefixes) {
        for await (const page of listObjects(clients.s3, config.rawBucket, prefix)) await register(page);
      }
      await checkpoint.markDone(unit.prefix);
      done += 1;
      if (crashAfter > 0 && done - resumed >= crashAfter) process.kill(process.pid, "SIGKILL");
    });
  } catch (error) {
    failure = error;
  } finally {
    clearInterval(progress);
    endProgress();
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
  }
  const complete = failure === undefined && done === units.length;
  if (complete) await checkpoint.complete();
  const seconds = (performance.now() - started) / 1000;
  const keys = keyCount(counts);
  const summary: BackfillSummary = {
    bucket: config.rawBucket,
    rawPrefix: config.rawPrefix,
    scope: { district: flags.district ?? null, from: days?.from ?? null, to: days?.to ?? null },
    devicePrefixes: { total: units.length, done, resumed },
    keys,
    new: counts.registered + counts.replaced + counts.rejected,
    outcomes: counts,
    seconds: Math.round(seconds * 1000) / 1000,
    keysPerSecond: Math.round(keys / Math.max(seconds, 0.001)),
    requests: clients.requestCounts(),
    checkpoint: complete ? null : checkpoint.path,
    interrupted: !complete,
  };
  clients.destroy();
  if (flags.json) printJson(summary);
  else printHuman(summary);
  if (failure !== undefined) throw explainAwsError(failure);
  if (!complete) {
    throw new CompacterError(
      `interrupted after ${done} of ${units.length} device prefixes; run the same command again to resume ` +
        `(checkpoint ${checkpoint.path})`,
    );
  }
  if (!flags.json && summary.new > 0) {
    process.stderr.write(
      `${summary.new} new file(s) registered; compaction runs as usual: a running worker (compacter run, ` +
        "compacter dev) takes them at its next sweep, or run `compacter compact --due`\n",
    );
  }
}

/**
 * The device folders to work through. Objects that sit outside any device folder (at the
 * prefix's root or a district's root) can't be raw files, but the notification would
 * have reported them, so an unfiltered run registers them too (rejected, with the reason).
 */
async function planUnits(
  s3: Parameters<typeof listFolder>[0],
  config: { rawBucket: string; rawPrefix: string },
  district: string | undefined,
  includeStrays: boolean,
  register: (objects: readonly ListedObject[]) => Promise<unknown>,
): Promise<DeviceUnit[]> {
  let districts: string[];
  if (district !== undefined) {
    districts = [district];
  } else {
    const root = await listFolder(s3, config.rawBucket, config.rawPrefix);
    if (includeStrays) await register(root.objects);
    districts = root.folders.map((folder) => folder.slice(config.rawPrefix.length, -1));
  }
  const perDistrict = await mapLimit(districts, 4, async (name) => {
    const listing = await listFolder(s3, config.rawBucket, `${config.rawPrefix}${name}/`);
    if (includeStrays) await register(listing.objects);
    return listing.folders.map((prefix) => ({ district: name, prefix }));
  });
  return perDistrict.flat();
}

function dayRange(flags: BackfillFlags): { from: string; to: string } | undefined {
  if (flags.from === undefined) {
    if (flags.to !== undefined) throw new UsageError("--to needs --from");
    return undefined;
  }
  const to = flags.to ?? flags.from;
  for (const [flag, value] of [
    ["--from", flags.from],
    ["--to", to],
  ] as const) {
    try {
      parseIsoDay(value);
    } catch (error) {
      throw new UsageError(`${flag}: ${(error as Error).message}`);
    }
  }
  if (to < flags.from) throw new UsageError(`--to ${to} is before --from ${flags.from}`);
  return { from: flags.from, to };
}

function keyCount(counts: Readonly<Record<ListedOutcome, number>>): number {
  return OUTCOMES.filter((o) => o !== "ignored" && o !== "outOfRange").reduce((n, o) => n + counts[o], 0);
}

function printHuman(s: BackfillSummary): void {
  printTable(
    [
      { "": "bucket", value: `s3://${s.bucket}/${s.rawPrefix}` },
      {
        "": "scope",
        value: `${s.scope.district ?? "every district"}, ${s.scope.from ? `${s.scope.from}..${s.scope.to}` : "every day"}`,
      },
      {
        "": "device prefixes",
        value: `${s.devicePrefixes.done}/${s.devicePrefixes.total} done (${s.devicePrefixes.resumed} from the checkpoint)`,
      },
      { "": "raw-file keys listed", value: thousands(s.keys) },
      { "": "new (registered / rejected)", value: `${s.outcomes.registered} / ${s.outcomes.rejected}` },
      { "": "already known (stale / duplicate)", value: `${s.outcomes.stale} / ${s.outcomes.duplicate}` },
      {
        "": "ignored (not *.txt.gz / out of range)",
        value: `${s.outcomes.ignored} / ${s.outcomes.outOfRange}`,
      },
      { "": "seconds", value: String(s.seconds) },
      { "": "keys/s", value: thousands(s.keysPerSecond) },
    ],
    ["", "value"],
  );
}
