/**
 * Deterministic randomness. Every decision the simulator makes draws from a stream named
 * after what it decides (a device's traits, one file's rows, which files a knob hits), so
 * turning one knob on never shifts the values another stream produces: the same seed and
 * flags give byte-identical objects, and adding `--bad-lines` leaves the other rows alone.
 */

/** FNV-1a over the parts, then a murmur3 finaliser so near-identical inputs spread well. */
export function hashParts(...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const text = typeof part === "number" ? `#${part}` : part;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    // A separator so ("ab", "c") and ("a", "bc") differ.
    h ^= 0xff;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** sfc32: small, fast, passes PractRand to 2^40 bytes — plenty for telemetry noise. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...parts: readonly (string | number)[]) {
    const seed = hashParts(...parts);
    this.a = seed;
    this.b = hashParts(seed, "b");
    this.c = hashParts(seed, "c");
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uint32. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Uniform in [-1, 1). */
  signed(): number {
    return this.next() / 2147483648 - 1;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.float() * items.length)];
    if (item === undefined) throw new RangeError("pick from an empty list");
    return item;
  }

  /**
   * Steps until the next change of a value that changes every `mean` steps on average;
   * `rate` is `geometricRate(mean)`, computed once per field.
   */
  geometric(rate: number): number {
    return 1 + Math.floor((LOG_TABLE[this.next() >>> LOG_TABLE_SHIFT] ?? 0) * rate);
  }
}

/**
 * ln(1 - u) at 4096 evenly spaced u: the geometric draw runs ~50 times per row, and a
 * table is several times cheaper than Math.log at a resolution nobody can see in the data.
 */
const LOG_TABLE_BITS = 12;
const LOG_TABLE_SHIFT = 32 - LOG_TABLE_BITS;
const LOG_TABLE = Float64Array.from({ length: 1 << LOG_TABLE_BITS }, (_, i) =>
  Math.log(1 - (i + 0.5) / (1 << LOG_TABLE_BITS)),
);

export function geometricRate(mean: number): number {
  return mean <= 1 ? 0 : 1 / Math.log(1 - 1 / mean);
}

/**
 * The `count` items a knob hits: the same items for the same seed, and a larger
 * fraction hits a superset of a smaller one's items.
 */
export function chooseIndices(
  count: number,
  take: number,
  ...stream: readonly (string | number)[]
): Set<number> {
  const ranked = Array.from({ length: count }, (_, i) => ({ i, rank: hashParts(...stream, i) }));
  ranked.sort((x, y) => x.rank - y.rank || x.i - y.i);
  return new Set(ranked.slice(0, take).map((r) => r.i));
}

/**
 * How many of `count` items a fraction hits: rounded, but at least one when the
 * fraction is above zero, so `--late 0.01` on a small run still shows a late file.
 */
export function countForFraction(fraction: number, count: number): number {
  if (fraction <= 0 || count === 0) return 0;
  return Math.min(count, Math.max(1, Math.round(fraction * count)));
}
