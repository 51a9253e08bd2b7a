/**
 * S3's `sequencer` orders events on one key: the greater hexadecimal value is later, and
 * AWS documents that values of different lengths compare after left-padding the shorter
 * with zeros. Stored normalised (upper case, padded to a fixed width) so DynamoDB's
 * string comparison in a condition expression gives the same order.
 */
const WIDTH = 32;
const HEX = /^[0-9a-fA-F]+$/;

export function normaliseSequencer(sequencer: string): string {
  if (!HEX.test(sequencer) || sequencer.length > WIDTH) {
    throw new RangeError(`sequencer '${sequencer}' is not a hexadecimal string of at most ${WIDTH} digits`);
  }
  return sequencer.toUpperCase().padStart(WIDTH, "0");
}

export function isNewerSequencer(candidate: string, recorded: string): boolean {
  return normaliseSequencer(candidate) > normaliseSequencer(recorded);
}

/**
 * The smallest sequencer after `sequencer`. When the compactor finds that a raw object
 * changed (or vanished) since the version it registered, the change happened after that
 * version, so its real sequencer is at least this one: registering what we observed with
 * it can only be outranked by the real notification, never outrank it.
 */
export function successorSequencer(sequencer: string): string {
  const value = BigInt(`0x${normaliseSequencer(sequencer)}`) + 1n;
  return normaliseSequencer(value.toString(16));
}
