import { createHash } from "node:crypto";
import { appendFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/**
 * Where a backfill resumes: the device prefixes it has finished, one JSON line each,
 * appended as each finishes (a crash leaves at most a torn last line, which is ignored).
 *
 * Correctness never depends on it — registering a listed object is idempotent, so redoing
 * a prefix registers nothing twice — it only spares a restarted backfill the listing and
 * the conditional writes of the prefixes it already did. The file is deleted when a run
 * completes, so the next run (say, after more history was uploaded) lists everything again.
 */
export interface CheckpointScope {
  readonly bucket: string;
  readonly rawPrefix: string;
  readonly manifestTable: string;
  /** Undefined: every district. */
  readonly district?: string;
  readonly from?: string;
  readonly to?: string;
}

interface Header {
  readonly checkpoint: "compacter-backfill";
  readonly version: 1;
  readonly scope: CheckpointScope;
}

/** `.compacter/backfill-{hash of the scope}.jsonl` under the working directory. */
export function defaultCheckpointPath(scope: CheckpointScope, cwd = process.cwd()): string {
  const hash = createHash("sha256")
    .update(JSON.stringify(canonical(scope)))
    .digest("hex")
    .slice(0, 12);
  return join(cwd, ".compacter", `backfill-${hash}.jsonl`);
}

export class BackfillCheckpoint {
  private constructor(
    readonly path: string,
    private readonly done: Set<string>,
  ) {}

  /** Opens (or starts) the checkpoint; one written for another scope, or `restart`, starts over. */
  static async open(path: string, scope: CheckpointScope, restart: boolean): Promise<BackfillCheckpoint> {
    const done = restart ? undefined : await readDone(path, scope);
    if (done) return new BackfillCheckpoint(path, done);
    await mkdir(dirname(path), { recursive: true });
    const header: Header = { checkpoint: "compacter-backfill", version: 1, scope: canonical(scope) };
    await writeFile(path, `${JSON.stringify(header)}\n`);
    return new BackfillCheckpoint(path, new Set());
  }

  has(prefix: string): boolean {
    return this.done.has(prefix);
  }

  async markDone(prefix: string): Promise<void> {
    this.done.add(prefix);
    await appendFile(this.path, `${JSON.stringify({ done: prefix })}\n`);
  }

  /** The run finished every prefix: nothing left to resume. */
  async complete(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

async function readDone(path: string, scope: CheckpointScope): Promise<Set<string> | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  const [first = "", ...rest] = text.split("\n");
  const header = parse(first) as Partial<Header> | undefined;
  if (header?.checkpoint !== "compacter-backfill" || header.version !== 1) return undefined;
  if (JSON.stringify(header.scope) !== JSON.stringify(canonical(scope))) return undefined;
  const done = new Set<string>();
  for (const line of rest) {
    const entry = parse(line) as { done?: unknown } | undefined;
    if (typeof entry?.done === "string") done.add(entry.done);
  }
  return done;
}

function parse(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** Fixed key order, no undefined members: two equal scopes serialise the same. */
function canonical(scope: CheckpointScope): CheckpointScope {
  return {
    bucket: scope.bucket,
    rawPrefix: scope.rawPrefix,
    manifestTable: scope.manifestTable,
    ...(scope.district !== undefined ? { district: scope.district } : {}),
    ...(scope.from !== undefined ? { from: scope.from } : {}),
    ...(scope.to !== undefined ? { to: scope.to } : {}),
  };
}
