import type { CompacterConfig, ManifestStore, PartitionId, RawFileRecord } from "@compacter/core";
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { printJson, printTable } from "../output.js";
import { addSettingFlags, configFromFlags } from "../settingsFlags.js";
import { partitionFromFlags } from "./partitionFlags.js";

/**
 * `compacter retry`: quarantined files become pending and due now, so the next sweep
 * compacts them (after a fix — e.g. the device re-uploaded, or a bug was fixed). A file
 * that still can't be read is quarantined again with its error. `--failing` retries
 * partitions whose compactions failed now, instead of at their next back-off.
 */
export function registerRetry(program: Command): Command {
  return addSettingFlags(
    program
      .command("retry")
      .description(
        "Re-queue quarantined files (one key, one partition, or all of them), or retry failing partitions now",
      )
      .option("--key <raw key>", "one raw file")
      .option("--day <YYYY-MM-DD>", "every quarantined file of a partition (with --district)")
      .option("--district <X>", "partition district")
      .option("--all", "every quarantined file")
      .option(
        "--failing",
        "send a compaction job now for every failing partition (or the one given by --day/--district) instead of waiting for its back-off",
      )
      .option("--json", "print JSON"),
    [
      "manifestTable",
      "rawPrefix",
      "keyTimeZone",
      "partitionTimeZone",
      "compactionQueueUrl",
      "compactionMaxReceiveCount",
      "visibilityTimeoutMs",
    ],
  ).action(
    async (flags: {
      key?: string;
      day?: string;
      district?: string;
      all?: boolean;
      failing?: boolean;
      json?: boolean;
    }) => {
      const config = configFromFlags(flags as Record<string, unknown>);
      if (flags.failing) {
        if (flags.key !== undefined || flags.all) {
          throw new UsageError("--failing takes no --key or --all; narrow it with --day D --district X");
        }
        return retryFailing(config, flags);
      }
      const modes = [
        flags.key !== undefined,
        flags.day !== undefined || flags.district !== undefined,
        flags.all === true,
      ];
      if (modes.filter(Boolean).length !== 1) {
        throw new UsageError(
          "say what to retry: --key K, or --day D --district X, or --all, or --failing [--day D --district X]",
        );
      }
      // Loaded here, not at start-up: the AWS SDK costs every other command time.
      const [{ parseRawKey, partitionLabel }, { createRuntime }] = await Promise.all([
        import("@compacter/core"),
        import("@compacter/wiring"),
      ]);
      const runtime = createRuntime(config, { role: "retry" });
      try {
        const { store } = runtime;
        let candidates: RawFileRecord[];
        if (flags.key !== undefined) {
          const parsed = parseRawKey(flags.key, config);
          if (!parsed.ok) throw new UsageError(`--key: ${parsed.reason}`);
          const file = await store.getFile(parsed.value.partition, flags.key);
          candidates = file ? [file] : [];
        } else if (flags.all) {
          candidates = (await store.listProblems("quarantined")).filter(
            (f): f is RawFileRecord => "partition" in f,
          );
        } else {
          candidates = await store.listFiles(partitionFromFlags(flags, "retry"), "quarantined");
        }
        const results = await requeueFiles(store, candidates, partitionLabel);
        if (flags.json) return printJson(results);
        printTable(results);
        process.stderr.write(
          `${results.filter((r) => r.requeued).length} file(s) re-queued; the next sweep compacts them\n`,
        );
      } finally {
        runtime.close();
      }
    },
  );
}

export type RetryResult = {
  readonly partition: string;
  readonly key: string;
  readonly requeued: boolean;
  readonly was: string;
  readonly error: string;
};

/**
 * What `compacter retry` does to each file it found (and what the console's retry button
 * does to one): a quarantined file becomes pending and due now; anything else is left as
 * it is and reported. `label` (core's partitionLabel) is passed in because this file
 * imports @compacter/core's values lazily, keeping command registration cheap.
 */
export async function requeueFiles(
  store: ManifestStore,
  candidates: readonly RawFileRecord[],
  label: (partition: PartitionId) => string,
): Promise<RetryResult[]> {
  const now = new Date().toISOString();
  const results: RetryResult[] = [];
  for (const file of candidates) {
    const requeued =
      file.status === "quarantined" && (await store.requeueQuarantined(file.partition, file.key, now, now));
    results.push({
      partition: label(file.partition),
      key: file.key,
      requeued,
      was: file.status,
      error: file.error ?? "",
    });
  }
  return results;
}

/**
 * `retry --failing`: a failing partition's next retry becomes now and a job is sent at once
 * (the queued mark taken as the sweep would, so the next sweep does not send a second).
 */
async function retryFailing(
  config: CompacterConfig,
  flags: { day?: string; district?: string; json?: boolean },
): Promise<void> {
  const [{ partitionLabel, queuedHoldMs, retryPolicyOf }, { createRuntime }] = await Promise.all([
    import("@compacter/core"),
    import("@compacter/wiring"),
  ]);
  const narrowed = flags.day !== undefined || flags.district !== undefined;
  const only = narrowed ? partitionFromFlags(flags, "retry --failing") : undefined;
  if (!config.compactionQueueUrl) {
    throw new UsageError(
      "retry --failing sends compaction jobs: set --compaction-queue-url (COMPACTER_COMPACTION_QUEUE_URL)",
    );
  }
  const runtime = createRuntime(config, { role: "retry" });
  try {
    const { store, jobs } = runtime;
    const failing = (await store.listFailing()).filter(
      (p) => !only || partitionLabel(p.partition) === partitionLabel(only),
    );
    const nowMs = Date.now();
    const results = [];
    for (const state of failing) {
      const retried = await store.retryFailingNow(state.partition, new Date(nowMs).toISOString());
      const queued =
        retried &&
        (await store.markQueued(state.partition, nowMs + queuedHoldMs(retryPolicyOf(config)), nowMs));
      if (queued) await jobs.sendCompactionJobs([{ partition: state.partition }]);
      results.push({
        partition: partitionLabel(state.partition),
        sent: queued,
        attempts: state.failing?.attempts ?? 0,
        lastError: state.failing?.lastError ?? "",
      });
    }
    if (flags.json) return printJson(results);
    printTable(results);
    process.stderr.write(
      only && failing.length === 0
        ? `${partitionLabel(only)} is not failing\n`
        : `${results.filter((r) => r.sent).length} failing partition(s) sent to the compaction queue\n`,
    );
  } finally {
    runtime.close();
  }
}
