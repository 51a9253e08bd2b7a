import { BufferPool } from "./bufferPool.js";
import { DriftingFields } from "./driftingFields.js";
import { type FieldSpec, firmwareFields, isStrayCandidate } from "./fields.js";
import { HaulTruck, type TruckHour } from "./haulTruck.js";
import { Random } from "./random.js";
import { RowAssembler, VALUE_KIND, type ValueKind, writeAscii } from "./rowAssembler.js";

/** Everything that decides one object's NDJSON rows. Same recipe → same bytes. */
export interface RowsRecipe extends TruckHour {
  readonly seed: number;
  /** Rows a full hour holds; row i is at second floor(i × 3600 / rowsPerFile). */
  readonly rowsPerFile: number;
  /** Rows this object writes: the first `rowCount` of the hour's grid. */
  readonly rowCount: number;
  /** Each upload of a key has its own content. */
  readonly version: number;
  readonly heartbeatUnit: HeartbeatUnit;
  /** Milliseconds added to each heartbeat of a millisecond device (its clock's phase). */
  readonly heartbeatPhaseMs: number;
  readonly badLineFraction: number;
  readonly strayFraction: number;
}

export const HEARTBEAT_UNITS = ["s", "ms"] as const;
export type HeartbeatUnit = (typeof HEARTBEAT_UNITS)[number];

export interface GeneratedRows {
  /** The NDJSON text (ASCII), every line ending in "\n". */
  readonly body: Buffer;
  readonly rowsWritten: number;
  /** Lines that parse as JSON objects: what should reach the lake. */
  readonly validRows: number;
  readonly badLines: number;
  /** Bad lines that end right after a `:` (a lenient reader may swallow the next line). */
  readonly badLinesAfterColon: number;
  /** Valid rows holding a string in a numeric field (one such field per row). */
  readonly strayStrings: number;
  readonly strayFields: Readonly<Record<string, number>>;
  /** Smallest and largest heartbeat (as written, in heartbeatUnit) over the valid rows. */
  readonly heartbeatMin: number | null;
  readonly heartbeatMax: number | null;
}

const STRAY_NOT_AVAILABLE = Buffer.from('"N/A"', "latin1");

function valueKind(field: FieldSpec): ValueKind {
  if (field.type === "VARCHAR") return VALUE_KIND.quoted;
  if (field.type === "BOOLEAN") return VALUE_KIND.literal;
  return VALUE_KIND.number;
}

function decimalsOf(field: FieldSpec): number {
  return field.kind === "sensor" || field.kind === "vehicle" ? field.decimals : 0;
}

/** A growing output buffer of one object's NDJSON. */
class Output {
  buffer: Buffer;
  length = 0;

  constructor(
    private readonly pool: BufferPool,
    capacity: number,
  ) {
    this.buffer = pool.acquire(capacity);
  }

  reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = this.pool.acquire(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.pool.release(this.buffer);
    this.buffer = grown;
  }

  append(bytes: Uint8Array): void {
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  byte(value: number): void {
    this.buffer[this.length++] = value;
  }
}

/**
 * Builds one object's rows: the truck model drives GPS, speed, gear, payload, engine load
 * and counters every second; sensors drift toward load-dependent targets at random
 * intervals; flags and status strings change rarely. Bad lines and stray strings are
 * applied to the output only, so the model's next row is unaffected.
 *
 * With a pool, the body is a view of a pooled buffer: give it back with `pool.release(body)`
 * once it is no longer needed.
 */
export function generateRows(recipe: RowsRecipe, pool: BufferPool = new BufferPool(0)): GeneratedRows {
  const layout = firmwareFields(recipe.firmware);
  const fieldCount = layout.length;
  const streamId = [recipe.seed, recipe.district, recipe.deviceIndex, recipe.hourStartMs, recipe.version];
  const random = new Random("rows", ...streamId);
  const badRandom = new Random("bad-lines", ...streamId);
  const strayRandom = new Random("stray-strings", ...streamId);

  const row = new RowAssembler(
    layout.map((f) => f.name),
    layout.map(valueKind),
    layout.map(decimalsOf),
  );
  const slot = new Map(layout.map((f, k) => [f.name, k]));
  const at = (name: string): number => slot.get(name) ?? -1;

  const drifting = new DriftingFields(layout, row, random);
  const truck = new HaulTruck(recipe, row, at, random);

  // --- stray strings and bad lines ---
  const strayCandidates = Int32Array.from(
    layout.flatMap((field, index) => (isStrayCandidate(field) ? [index] : [])),
  );
  const strayFields: Record<string, number> = {};
  const strayBytes = new Uint8Array(64);

  const rowsPerFile = recipe.rowsPerFile;
  const rowCount = recipe.rowCount;
  const hourStartSeconds = Math.floor(recipe.hourStartMs / 1000);
  const milliseconds = recipe.heartbeatUnit === "ms";
  const out = new Output(pool, Math.max(1024, rowCount * 4200));
  let validRows = 0;
  let badLines = 0;
  let badLinesAfterColon = 0;
  let strayStrings = 0;
  let heartbeatMin: number | null = null;
  let heartbeatMax: number | null = null;
  let previousSecond = -Math.max(1, Math.floor(3600 / rowsPerFile));

  for (let r = 0; r < rowCount; r++) {
    const second = Math.floor((r * 3600) / rowsPerFile);
    truck.step(second - previousSecond);
    previousSecond = second;
    drifting.update(second, truck.load, truck.payloadShare);
    const heartbeat = milliseconds
      ? (hourStartSeconds + second) * 1000 + recipe.heartbeatPhaseMs
      : hourStartSeconds + second;
    truck.tick(heartbeat, second);
    const length = row.assemble();
    const bytes = row.row();

    // Both knob streams draw every row, so one knob never shifts the other's choices.
    const bad = badRandom.float() < recipe.badLineFraction;
    const badCut = badRandom.float();
    const stray = strayRandom.float() < recipe.strayFraction;
    const strayPick = strayRandom.float();
    const strayNotAvailable = strayRandom.float() < 0.5;

    out.reserve(length + 128);
    if (bad) {
      // Every other bad line ends right after a ':', the case that makes lenient readers
      // swallow the next line; the rest end anywhere before the closing brace.
      let cut: number;
      if (badLines % 2 === 0) {
        cut = row.valueStart[Math.floor(badCut * fieldCount)]!;
        badLinesAfterColon++;
      } else {
        cut = 2 + Math.floor(badCut * (length - 2));
        // Keep the after-':' count exact: a random cut landing there moves back one byte.
        if (bytes[cut - 1] === COLON) cut--;
      }
      out.append(bytes.subarray(0, cut));
      out.byte(NEWLINE);
      badLines++;
      continue;
    }
    if (stray && strayCandidates.length > 0) {
      const f = strayCandidates[Math.floor(strayPick * strayCandidates.length)]!;
      out.append(bytes.subarray(0, row.valueStart[f]));
      if (strayNotAvailable) {
        out.append(STRAY_NOT_AVAILABLE);
      } else {
        // The device's locale wrote a decimal comma: "12,5".
        const text = row.numberText(f);
        const comma = text.includes(".") ? text.replace(".", ",") : `${text},5`;
        out.append(strayBytes.subarray(0, writeAscii(strayBytes, 0, `"${comma}"`)));
      }
      out.append(bytes.subarray(row.valueEnd[f]));
      const name = layout[f]!.name;
      strayFields[name] = (strayFields[name] ?? 0) + 1;
      strayStrings++;
    } else {
      out.append(bytes);
    }
    out.byte(CLOSE_BRACE);
    out.byte(NEWLINE);
    validRows++;
    if (heartbeatMin === null) heartbeatMin = heartbeat;
    heartbeatMax = heartbeat;
  }

  return {
    body: out.buffer.subarray(0, out.length),
    rowsWritten: rowCount,
    validRows,
    badLines,
    badLinesAfterColon,
    strayStrings,
    strayFields,
    heartbeatMin,
    heartbeatMax,
  };
}

const NEWLINE = 10;
const COLON = 58;
const CLOSE_BRACE = 125;
