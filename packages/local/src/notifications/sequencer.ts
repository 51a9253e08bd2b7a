/**
 * Sequencers for the bridge's events: 18 upper-case hex digits, like AWS's
 * (`0055AED6DCD90281E5`), strictly increasing across the whole bridge, which is more
 * than AWS promises (increasing per key). They start from the clock (milliseconds × 2^16)
 * so a restarted stack keeps issuing greater values than a persisted manifest has seen.
 */
const WIDTH = 18;
const SHIFT = 16n;

export class SequencerClock {
  private last = 0n;

  constructor(private readonly now: () => number = Date.now) {}

  next(): string {
    const fromClock = BigInt(this.now()) << SHIFT;
    this.last = fromClock > this.last ? fromClock : this.last + 1n;
    return this.last.toString(16).toUpperCase().padStart(WIDTH, "0");
  }
}
