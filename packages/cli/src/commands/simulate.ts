import { resolve } from "node:path";
import { CompacterError, formatBytes, parseDurationMs } from "@compacter/core";
import type { FileSummary, ObjectSink, SimulationProgress, SimulationSummary } from "@compacter/simulator";
// The options alone: the simulator's S3 sink (and the AWS SDK) load when the command runs.
import { KNOB_NAMES, type Knobs, SIMULATION_DEFAULTS } from "@compacter/simulator/options";
import { type Command, InvalidArgumentError, Option } from "commander";
import { endProgress, formatTable, printJson, progressLine, type Row } from "../output.js";
import { addSettingFlags, configFromFlags } from "../settingsFlags.js";

interface SimulateFlags extends Partial<Record<keyof Knobs, number>> {
  devices: number;
  districts: string;
  hours: number;
  start?: string;
  rowsPerFile: number;
  seed: number;
  gzipLevel: number;
  concurrency: number;
  lateDelay: number;
  out?: string;
  files?: FileListing;
  json?: boolean;
}

const FILE_LISTINGS = ["all", "faults", "none"] as const;
type FileListing = (typeof FILE_LISTINGS)[number];
/** Above this many files the table lists only the ones a knob touched, unless --files all. */
const LIST_ALL_UP_TO = 100;

const KNOB_HELP: Record<keyof Knobs, string> = {
  drift: "fraction of devices whose firmware, from some hour on, adds fields and renames one",
  strayStrings: 'fraction of rows where a numeric field holds "N/A" or "12,5"',
  badLines: "fraction of lines cut short mid-object (every other one right after a ':')",
  truncatedGzip: "fraction of files whose gzip is cut short",
  badTrailer: "fraction of files whose gzip trailer (CRC-32 or length) is wrong",
  notJson: "fraction of files that are gzip'd plain text",
  emptyObjects: "fraction of files that are 0-byte objects",
  late: "fraction of files uploaded after all the others (see --late-delay)",
  reupload: "fraction of files uploaded again later, same key, different rows",
  msHeartbeat: "fraction of devices whose heartbeat is epoch milliseconds",
  oddKeys: "fraction of devices whose id holds a space, unicode, + and quotes",
};

/**
 * `compacter simulate`: a fleet of devices uploading an hour of 1 Hz telemetry each, with
 * dirty-data knobs, and a summary of exactly what was written (what the lake must hold).
 */
export function registerSimulate(program: Command): Command {
  const command = program
    .command("simulate")
    .description(
      "Upload simulated device telemetry (gzip'd NDJSON, one file per device-hour, ~179 fields) to the raw " +
        "bucket through the S3 API, or write it to a directory; print what was written. Deterministic per --seed.",
    )
    .addOption(
      new Option("--devices <n>", "devices per district")
        .argParser(wholeNumber)
        .default(SIMULATION_DEFAULTS.devicesPerDistrict),
    )
    .addOption(
      new Option("--districts <list>", "comma-separated districts").default(
        SIMULATION_DEFAULTS.districts.join(","),
      ),
    )
    .addOption(
      new Option("--hours <n>", "hours per device").argParser(wholeNumber).default(SIMULATION_DEFAULTS.hours),
    )
    .option(
      "--start <YYYYMMDDHH>",
      "first hour, in the key time zone (default: the last --hours closed hours)",
    )
    .addOption(
      new Option("--rows-per-file <n>", "rows per file, spread evenly over the hour (max 3600)")
        .argParser(wholeNumber)
        .default(SIMULATION_DEFAULTS.rowsPerFile),
    )
    .addOption(
      new Option("--seed <n>", "random seed").argParser(wholeNumber).default(SIMULATION_DEFAULTS.seed),
    )
    .addOption(
      new Option("--gzip-level <n>", "gzip level 1-9 (6 is what devices use; 1 is ~2x faster, ~1.8x bigger)")
        .argParser(wholeNumber)
        .default(SIMULATION_DEFAULTS.gzipLevel),
    )
    .addOption(
      new Option("--concurrency <n>", "objects built, compressed or uploaded at once")
        .argParser(wholeNumber)
        .default(SIMULATION_DEFAULTS.concurrency),
    );
  for (const knob of KNOB_NAMES) {
    command.addOption(
      new Option(`--${kebab(knob)} <fraction>`, `${KNOB_HELP[knob]} (0-1, default 0)`).argParser(fraction),
    );
  }
  command
    .addOption(
      new Option("--late-delay <duration>", "pause before the late uploads start (e.g. 30s, 5m)")
        .argParser(duration)
        .default(0, "0"),
    )
    .option("--out <dir>", "write files under this directory (same key layout) instead of the raw bucket")
    .addOption(
      new Option(
        "--files <which>",
        `per-file rows in the table (default: all up to ${LIST_ALL_UP_TO} files, else faults)`,
      ).choices(FILE_LISTINGS),
    )
    .option("--json", "print the summary as JSON")
    .action(async (flags: SimulateFlags & Record<string, unknown>) => {
      const summary = await simulate(flags);
      if (flags.json) return printJson(summary);
      process.stdout.write(formatSummary(summary, flags.files));
    });
  return addSettingFlags(command, ["rawBucket", "rawPrefix", "keyTimeZone", "partitionTimeZone"]);
}

async function simulate(flags: SimulateFlags & Record<string, unknown>): Promise<SimulationSummary> {
  const config = configFromFlags(flags);
  const layout = {
    rawPrefix: config.rawPrefix,
    keyTimeZone: config.keyTimeZone,
    partitionTimeZone: config.partitionTimeZone,
  };
  const knobs: Partial<Record<keyof Knobs, number>> = {};
  for (const knob of KNOB_NAMES) {
    const value = flags[knob];
    if (typeof value === "number") knobs[knob] = value;
  }
  const [{ createAwsClients }, { directorySink, parseStartHour, runSimulation, s3Sink }] = await Promise.all([
    import("@compacter/aws"),
    import("@compacter/simulator"),
  ]);
  const clients = flags.out ? undefined : createAwsClients();
  const sink: ObjectSink = flags.out
    ? directorySink(resolve(flags.out))
    : s3Sink(clients!.s3, config.rawBucket);
  const aborter = new AbortController();
  const interrupt = () => aborter.abort();
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  let last: SimulationProgress | undefined;
  let shownAt = 0;
  try {
    return await runSimulation(
      {
        layout,
        seed: flags.seed,
        districts: flags.districts
          .split(",")
          .map((d) => d.trim())
          .filter((d) => d !== ""),
        devicesPerDistrict: flags.devices,
        hours: flags.hours,
        ...(flags.start ? { startHourMs: parseStartHour(flags.start, config.keyTimeZone) } : {}),
        rowsPerFile: flags.rowsPerFile,
        gzipLevel: flags.gzipLevel,
        concurrency: flags.concurrency,
        lateDelayMs: flags.lateDelay,
        knobs,
      },
      sink,
      {
        signal: aborter.signal,
        onProgress: (progress) => {
          last = progress;
          const now = performance.now();
          if (now - shownAt < 200 && progress.uploadsDone < progress.uploadsTotal) return;
          shownAt = now;
          progressLine(describeProgress(progress));
        },
      },
    );
  } catch (error) {
    if (aborter.signal.aborted) {
      throw new CompacterError(
        `interrupted after ${last?.uploadsDone ?? 0} of ${last?.uploadsTotal ?? "?"} uploads to ${sink.description}`,
      );
    }
    if ((error as { name?: string }).name === "NoSuchBucket") {
      throw new CompacterError(
        `bucket '${config.rawBucket}' does not exist at the S3 endpoint; start the local stack (compacter dev) ` +
          "and load its env file, set COMPACTER_RAW_BUCKET / --raw-bucket, or write to a directory with --out",
        { cause: error },
      );
    }
    throw error;
  } finally {
    endProgress();
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    clients?.destroy();
  }
}

function describeProgress(p: SimulationProgress): string {
  if (p.phase === "waiting") {
    return `waiting ${Math.ceil((p.waitingMs ?? 0) / 1000)}s before the late uploads · ${p.uploadsDone}/${p.uploadsTotal} uploaded`;
  }
  const seconds = p.elapsedMs / 1000;
  return (
    `${p.phase}: ${p.uploadsDone}/${p.uploadsTotal} uploads · ${p.rowsWritten.toLocaleString("en-US")} rows · ` +
    `${formatBytes(p.bytesGz)} gz · ${seconds > 0 ? Math.round(p.rowsWritten / seconds).toLocaleString("en-US") : 0} rows/s`
  );
}

export function formatSummary(summary: SimulationSummary, listing?: FileListing): string {
  const { settings, totals, knobs, expected } = summary;
  const overview: Row[] = [
    { "": "sink", value: settings.sink },
    { "": "devices", value: `${settings.devicesPerDistrict} × ${settings.districts.join(", ")}` },
    { "": "hours", value: `${settings.hours} from ${settings.startHour} (${settings.keyTimeZone})` },
    { "": "seed", value: String(settings.seed) },
    { "": "gzip level", value: String(settings.gzipLevel) },
    { "": "files", value: String(totals.files) },
    { "": "uploads", value: String(totals.uploads) },
    { "": "rows written", value: String(totals.rowsWritten) },
    { "": "rows the lake must hold", value: String(expected.rows) },
    { "": "bytes gz", value: `${totals.bytesGz} (${formatBytes(totals.bytesGz)})` },
    { "": "seconds", value: String(totals.seconds) },
    { "": "rows/s", value: String(totals.rowsPerSecond) },
  ];
  const knobRows: Row[] = [
    {
      knob: "drift",
      fraction: knobs.drift.fraction,
      hit: `${count(knobs.drift.devices, "device")}, ${count(knobs.drift.files, "file")}`,
    },
    {
      knob: "stray-strings",
      fraction: knobs.strayStrings.fraction,
      hit: count(knobs.strayStrings.rows, "row"),
    },
    {
      knob: "bad-lines",
      fraction: knobs.badLines.fraction,
      hit: `${count(knobs.badLines.lines, "line")} (${knobs.badLines.afterColon} end after ':')`,
    },
    {
      knob: "truncated-gzip",
      fraction: knobs.truncatedGzip.fraction,
      hit: count(knobs.truncatedGzip.files, "file"),
    },
    { knob: "bad-trailer", fraction: knobs.badTrailer.fraction, hit: count(knobs.badTrailer.files, "file") },
    { knob: "not-json", fraction: knobs.notJson.fraction, hit: count(knobs.notJson.files, "file") },
    {
      knob: "empty-objects",
      fraction: knobs.emptyObjects.fraction,
      hit: count(knobs.emptyObjects.files, "file"),
    },
    { knob: "late", fraction: knobs.late.fraction, hit: count(knobs.late.files, "file") },
    { knob: "reupload", fraction: knobs.reupload.fraction, hit: count(knobs.reupload.files, "file") },
    {
      knob: "ms-heartbeat",
      fraction: knobs.msHeartbeat.fraction,
      hit: `${count(knobs.msHeartbeat.devices, "device")}, ${count(knobs.msHeartbeat.files, "file")}`,
    },
    {
      knob: "odd-keys",
      fraction: knobs.oddKeys.fraction,
      hit: `${count(knobs.oddKeys.devices, "device")}, ${count(knobs.oddKeys.files, "file")}`,
    },
  ];
  const which = listing ?? (summary.files.length <= LIST_ALL_UP_TO ? "all" : "faults");
  const listed = which === "none" ? [] : summary.files.filter((f) => which === "all" || touched(f));
  const fileRows: Row[] = listed.map((f) => {
    const first = f.versions[0];
    return {
      key: f.key,
      rows: f.rowsWritten,
      valid: f.validRows,
      bad: f.badLines,
      stray: f.strayStrings,
      hb: f.heartbeatUnit,
      kind: f.kind,
      fw: f.firmware,
      late: f.late ? "late" : "",
      reupload:
        f.reuploaded && first ? `${first.kind === "ok" ? first.validRows : first.kind} → ${f.validRows}` : "",
    };
  });
  const omitted = summary.files.length - listed.length;
  return [
    formatTable(overview),
    formatTable(knobRows),
    which === "none"
      ? ""
      : formatTable(fileRows, [
          "key",
          "rows",
          "valid",
          "bad",
          "stray",
          "hb",
          "kind",
          "fw",
          "late",
          "reupload",
        ]),
    omitted > 0 && which !== "none"
      ? `(${omitted} files without faults not listed; --files all or --json)\n`
      : "",
  ]
    .filter((part) => part !== "")
    .join("\n");
}

function touched(file: FileSummary): boolean {
  return (
    file.late ||
    file.reuploaded ||
    file.oddKey ||
    file.drifted ||
    file.heartbeatUnit !== "s" ||
    file.versions.some((v) => v.kind !== "ok" || v.badLines > 0 || v.strayStrings > 0)
  );
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError("expected a whole number");
  return Number(value);
}

function fraction(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !(number >= 0 && number <= 1)) {
    throw new InvalidArgumentError("expected a fraction from 0 to 1, e.g. 0.05");
  }
  return number;
}

function duration(value: string): number {
  try {
    return parseDurationMs(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}
