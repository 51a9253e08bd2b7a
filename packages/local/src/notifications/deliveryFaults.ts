/**
 * AWS delivers S3 notifications at least once and in no particular order. Locally every
 * event is delivered once, in order, before the write's response is sent, which hides
 * consumer bugs; a test switches these faults on (per bucket, or "*" for all) to get
 * AWS's worst case, reproducibly from a seed.
 */
export interface DeliveryFaults {
  /** Probability (0–1) that a message is delivered twice. @defaultvalue 0 */
  readonly duplicateProbability?: number;
  /**
   * Messages are held until this many are waiting, then delivered in a shuffled order
   * (never the original one). 0 or 1 keeps the order. @defaultvalue 0
   */
  readonly reorderWindow?: number;
  /** Held messages are delivered at the latest this long after the first was held. @defaultvalue 200 */
  readonly maxHoldMs?: number;
  /** Seed of the random choices. @defaultvalue 1 */
  readonly seed?: number;
}

export interface Delivery {
  readonly queueArn: string;
  readonly body: string;
}

interface BucketFaultState {
  readonly faults: DeliveryFaults;
  readonly random: () => number;
  held: Delivery[];
  timer: NodeJS.Timeout | undefined;
}

/** Synchronous: the bridge delivers inside the write's request, before its response. */
export class FaultyDelivery {
  private readonly byBucket = new Map<string, BucketFaultState>();

  constructor(private readonly send: (delivery: Delivery) => void) {}

  /** `bucket` "*" sets the default for buckets without their own; `undefined` clears (held messages go out). */
  setFaults(bucket: string, faults: DeliveryFaults | undefined): void {
    const previous = this.byBucket.get(bucket);
    if (previous) this.release(previous);
    if (!faults) {
      this.byBucket.delete(bucket);
      return;
    }
    this.byBucket.set(bucket, { faults, random: seededRandom(faults.seed ?? 1), held: [], timer: undefined });
  }

  deliver(bucket: string, delivery: Delivery): void {
    const state = this.byBucket.get(bucket) ?? this.byBucket.get("*");
    if (!state) {
      this.send(delivery);
      return;
    }
    const copies =
      state.random() < (state.faults.duplicateProbability ?? 0) ? [delivery, delivery] : [delivery];
    const window = state.faults.reorderWindow ?? 0;
    if (window <= 1) {
      for (const copy of copies) this.send(copy);
      return;
    }
    state.held.push(...copies);
    if (state.held.length >= window) {
      this.release(state);
    } else {
      state.timer ??= setTimeout(() => this.release(state), state.faults.maxHoldMs ?? 200).unref();
    }
  }

  /** Delivers everything held now, e.g. before a test asserts on a queue. */
  flush(): void {
    for (const state of this.byBucket.values()) this.release(state);
  }

  /** Drops held messages and timers. */
  close(): void {
    for (const state of this.byBucket.values()) {
      clearTimeout(state.timer);
      state.held = [];
    }
    this.byBucket.clear();
  }

  private release(state: BucketFaultState): void {
    clearTimeout(state.timer);
    state.timer = undefined;
    const batch = reorder(state.held, state.random);
    state.held = [];
    for (const delivery of batch) this.send(delivery);
  }
}

/** mulberry32: small, fast, good enough to shuffle test deliveries reproducibly. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A shuffle that never returns the original order (when there are two or more distinct items). */
function reorder<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out.every((item, i) => item === items[i]) ? out.reverse() : out;
}
